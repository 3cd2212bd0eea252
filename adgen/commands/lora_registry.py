"""`adgen lora list|promote|rollback|eval` and the registry half of `adgen lora train`.

Versions live under ADGEN_HOME (adgen.lora_registry); --tenant names a service tenant's
registry (an API key's name), default the CLI's own ("local").
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()
TENANT = typer.Option(None, "--tenant", help="A service tenant's registry (its API key name); default the CLI's own.")


def register(lora_app: typer.Typer) -> typer.Typer:
    """Add the registry commands to `adgen lora`."""
    lora_app.command("list")(list_command)
    lora_app.command("promote")(promote_command)
    lora_app.command("rollback")(rollback_command)
    lora_app.command("eval")(eval_command)
    return lora_app


def list_command(brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id."),
                 tenant: Optional[str] = TENANT) -> None:
    """The brand's adapter versions with their eval figures; * marks the active one."""
    from adgen.lora_registry import LOCAL_TENANT, active, promotion_gate, versions

    tenant = tenant or LOCAL_TENANT
    current = active(brand, tenant)
    table = Table("", "version", "created", "parent", "trained on", "steps", "ΔE00 base → this",
                  "stray text", "diversity", "held-out ΔLab", "promote?", title=f"{brand} adapters ({tenant})")
    for v in versions(brand, tenant):
        figures = v.figures or {}
        base, mine = figures.get("base") or {}, figures.get("adapter") or {}
        data = v.info.get("training_data") or {}
        gate = "active" if current and current.version == v.version else (promotion_gate(v, current) or "yes")
        table.add_row("*" if gate == "active" else "", f"v{v.version}",
                      dt.datetime.fromtimestamp(v.info.get("created_at", 0)).strftime("%Y-%m-%d %H:%M"),
                      f"v{v.info['parent']}" if v.info.get("parent") else "-",
                      f"{data.get('train_images', '?')} {data.get('source', '')}", str(v.info.get("steps", "?")),
                      f"{base['palette_de00']:.2f} → {mine['palette_de00']:.2f}" if mine else "not evaluated",
                      f"{mine['stray_text_rate']:.2f}" if mine else "", _num(mine.get("diversity")),
                      _num(mine.get("held_out_lab_distance")), gate if gate in ("active", "yes") else "no")
    console.print(table)
    if current is None:
        console.print("no active version: the kit's own adapter applies")


def promote_command(brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id."),
                    version: int = typer.Option(..., "--version", "-v", min=1, help="Version number (v<n>)."),
                    force: bool = typer.Option(False, "--force", help="Promote even when it does not improve."),
                    tenant: Optional[str] = TENANT) -> None:
    """Make a version active; refused (naming why) when it does not improve on the active one."""
    from adgen.lora_registry import LOCAL_TENANT, promote

    promoted = promote(brand, version, tenant or LOCAL_TENANT, force=force, actor="cli")
    console.print(f"{promoted.label} is active")


def rollback_command(brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id."),
                     tenant: Optional[str] = TENANT) -> None:
    """Return to the version active before the current one (or to the kit's own adapter)."""
    from adgen.lora_registry import LOCAL_TENANT, rollback

    now = rollback(brand, tenant or LOCAL_TENANT, actor="cli")
    console.print(f"{now.label} is active" if now else f"no version active: {brand}'s kit adapter applies")


def eval_command(
    brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id."),
    version: Optional[int] = typer.Option(None, "--version", "-v", min=1, help="Registry version (default the newest; "
                                          "the kit's shipped adapter when the registry has none)."),
    base: Optional[str] = typer.Option(None, "--base", help="Base model (default adgen-tiny)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps per plate."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Seeds per prompt, comma-separated."),
    prompts: int = typer.Option(6, "--prompts", min=1, max=6, help="How many held-out prompts."),
    tenant: Optional[str] = TENANT,
) -> None:
    """Palette ΔE00, stray text, diversity, held-out distance: base vs version vs active; writes an eval grid."""
    from adgen.brand import load_brand
    from adgen.generation import load_pipeline, model_fingerprint
    from adgen.lora_registry import LOCAL_TENANT, active, comparable, get_version, update_info, versions
    from adgen.request import DEFAULT_MODEL, model_defaults

    tenant = tenant or LOCAL_TENANT
    model = base or DEFAULT_MODEL
    default_steps, guidance = model_defaults(model)
    registered = versions(brand, tenant)
    if version is None and not registered:
        return _eval_kit_adapter(brand, model, steps or default_steps, guidance)
    candidate = get_version(brand, version, tenant) if version else registered[-1]
    fingerprint = model_fingerprint(model)
    if comparable(candidate, fingerprint) is None:
        from adgen.errors import InputError

        raise InputError(f"{candidate.label} was trained on another base model than {model}", field="--base",
                         value=model)
    from adgen.training.adapter_eval import evaluate_version
    from adgen.training.lora_eval import HELD_OUT_PROMPTS

    kit = load_brand(brand)
    previous = comparable(active(brand, tenant), fingerprint)
    figures = evaluate_version(load_pipeline(model), kit, candidate, previous, prompts=HELD_OUT_PROMPTS[:prompts],
                               seeds=tuple(int(s) for s in seeds.split(",") if s.strip()),
                               steps=steps or default_steps, guidance=guidance)
    candidate = update_info(candidate, eval=figures)
    _print_figures(candidate, figures)


def train_into_registry(kit, model: str, images: Optional[Path], config, tenant: Optional[str],
                        from_approved: bool, resume: bool = False) -> None:
    """`adgen lora train` without --out: train the next registry version (not promoted)."""
    from adgen.generation import load_pipeline, model_fingerprint
    from adgen.lora_registry import LOCAL_TENANT
    from adgen.training.adapter_versions import train_version
    from adgen.training.lora import default_images_dir

    with tempfile.TemporaryDirectory(prefix="adgen-approved-") as staging:
        negatives, source = None, "folder" if images else default_images_dir(kit).name
        if from_approved:
            from adgen.service.approved_set import build_approved_set

            found = build_approved_set(kit.id, tenant, Path(staging))
            images, negatives, source = found.images, found.negatives, "approved"
            console.print(f"{found.approved} approved plates, {found.negative} off-brand-colour negatives"
                          + (f", {found.missing} decided assets without a kept plate" if found.missing else ""))
        version = train_version(load_pipeline(model), kit, images or default_images_dir(kit),
                                tenant=tenant or LOCAL_TENANT, config=config, resume=resume,
                                base_model_sha256=model_fingerprint(model), negatives_dir=negatives, source=source)
    report = version.path / "lint-report.txt"
    if report.is_file():
        console.print(report.read_text(encoding="utf-8"), markup=False, highlight=False)
    console.print(f"{version.label} → {version.path}")
    console.print(f"next: adgen lora eval --brand {kit.id} --version {version.version}"
                  f"{f' --tenant {tenant}' if tenant else ''}, then adgen lora promote")


def _print_figures(candidate, figures: dict) -> None:
    names = {"base": "base, no adapter", "adapter": f"{candidate.label} (candidate)",
             "previous": f"v{figures.get('previous_version')} (active)"}
    conditions = figures["conditions"]
    with_negatives = any("to_negatives_de00" in c for c in conditions.values())
    columns = ["", "palette ΔE00", "stray-text rate", "diversity (1-SSIM)", "held-out ΔLab"]
    columns += ["ΔE00 to approved", "ΔE00 to negatives"] if with_negatives else []
    table = Table(*columns, title=f"{candidate.label}: {len(figures['prompts'])} prompts x {len(figures['seeds'])} "
                                  f"seeds, {figures['steps']} steps (lower is better, except diversity)")
    for name, c in conditions.items():
        row = [names[name], f"{c['palette_de00']:.2f}", f"{c['stray_text_rate']:.2f}", _num(c["diversity"]),
               _num(c["held_out_lab_distance"])]
        if with_negatives:
            row += [_num(c.get("to_approved_de00")), _num(c.get("to_negatives_de00"))]
        table.add_row(*row)
    console.print(table)
    data = figures["data"]
    if "negative_palette_de00" in data:
        console.print(f"palette ΔE00 of the reviewers' plates: approved {data['approved_palette_de00']:.2f}, "
                      f"rejected off-brand-colour {data['negative_palette_de00']:.2f}")
    base, mine = conditions["base"], conditions["adapter"]
    console.print(f"mean ΔE00 {base['palette_de00']:.2f} → {mine['palette_de00']:.2f} "
                  f"(improvement {base['palette_de00'] - mine['palette_de00']:+.2f}); "
                  f"plates text-free: {mine['stray_text_rate'] == 0}")
    from adgen.lora_registry import active, promotion_gate

    reason = promotion_gate(candidate, active(candidate.brand, candidate.info.get("tenant", "local")))
    console.print(f"eval grid: {candidate.grid}")
    console.print("promotable: yes" if reason is None else f"promotable: no — {reason}")


def _eval_kit_adapter(brand: str, model: str, steps: int, guidance: float) -> None:
    """The kit's shipped adapter (no registry version yet): palette ΔE00 without and with it."""
    from adgen.adapters import AdapterRef
    from adgen.brand import load_brand
    from adgen.errors import NotFoundError
    from adgen.generation import load_pipeline
    from adgen.training.lora_eval import evaluate_adapter

    kit = load_brand(brand)
    if not (kit.adapter and kit.adapter_path.is_file()):
        raise NotFoundError("brand has no trained adapter; run `adgen lora train` first", field="brand", value=brand)
    ref = AdapterRef(name=kit.id, path=kit.adapter_path, weight=kit.adapter.weight, trigger=kit.adapter.trigger)
    result = evaluate_adapter(load_pipeline(model), ref, kit.palette, steps=steps, guidance=guidance)
    table = Table("prompt", "seed", "ΔE00 without", "ΔE00 with", title=f"{kit.id}: palette distance, lower is closer")
    for row in result.plates:
        table.add_row(row.prompt, str(row.seed), f"{row.delta_e00_without:.2f}", f"{row.delta_e00_with:.2f}")
    console.print(table)
    console.print(f"mean ΔE00 {result.delta_e00_without:.2f} → {result.delta_e00_with:.2f} "
                  f"(improvement {result.improvement:+.2f}); plates text-free: {result.text_free}")


def _num(value) -> str:
    return "-" if value is None else f"{value:.3f}"
