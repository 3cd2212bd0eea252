"""Command line: thin callers of pipeline.run(); heavy imports stay inside the commands."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from adgen.commands import apikeys, init, kb, keys, lora_registry, review, rules
from adgen.commands.batch import batch_command, batch_export_approved
from adgen.commands.listing import JSON_OPTION, show
from adgen.commands.pack import pack_command
from adgen.commands.serve import serve
from adgen.commands.train import lora_app, train_app
from adgen.commands.ui import ui as ui_command
from adgen.errors import AdgenError

app = typer.Typer(help="adgen: product specs in, on-brand, compliance-checked marketing images out.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)
# Command groups live in adgen/commands/; each is registered here, explicitly. Their heavy
# imports (torch, gradio, uvicorn) happen inside the commands.
app.add_typer(apikeys.register(keys.app), name="keys")
app.add_typer(rules.app, name="rules")
app.add_typer(review.app, name="review")
app.add_typer(kb.app, name="kb")
app.add_typer(train_app, name="train")
app.add_typer(lora_registry.register(lora_app), name="lora")
app.add_typer(init.app, name="init")

EXIT_OK, EXIT_FAILED_RULE, EXIT_BAD_INPUT = 0, 1, 2


def main() -> None:
    """Console entry point: an AdgenError anywhere becomes one message and exit code 2."""
    try:
        app()
    except AdgenError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(EXIT_BAD_INPUT)


@app.command()
def generate(
    brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id (see `adgen brands`)."),
    product: Path = typer.Option(..., "--product", "-p", help="Product spec file (YAML or JSON)."),
    format: list[str] = typer.Option(["ig-square"], "--format", "-f", help="Format id; repeat for several."),
    variants: int = typer.Option(1, "--variants", "-n", min=1, max=64, help="Variants per format."),
    seed: int = typer.Option(0, "--seed", "-s", min=0, help="Base seed."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Diffusers folder, .safetensors file or cached hub id; default adgen-tiny."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps (default per model)."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder."),
    svg: bool = typer.Option(False, "--svg", help="Also write a layered SVG beside each asset."),
    cmyk: bool = typer.Option(False, "--cmyk", help="Print formats (e.g. pack-front): also write CMYK .tif and .pdf."),
    conditioner: list[str] = typer.Option(
        [], "--conditioner", help="Plate conditioner NAME=PATH[@SCALE] from a local folder (ControlNet, IP-Adapter; "
                                  "see adgen/data/conditioners.yaml); repeat for several."),
) -> None:
    """Make checked assets for one product in each format."""
    from adgen.spec import load_product

    spec = load_product(product)
    code = _make_assets([(spec, brand, format, variants)], seed, model, steps, out, svg=svg, cmyk=cmyk,
                        conditioners=conditioner)
    raise typer.Exit(code)


@app.command()
def demo(out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Output folder."),
         seed: int = typer.Option(0, "--seed", help="Base seed.")) -> None:
    """Make the bundled example products for the bundled brands (examples/demo.yaml)."""
    import yaml

    from adgen.settings import examples_dir
    from adgen.spec import load_product

    plan = yaml.safe_load((examples_dir() / "demo.yaml").read_text(encoding="utf-8"))
    jobs = [(load_product(examples_dir() / entry["product"]), entry["brand"], entry["formats"], entry.get("variants", 1))
            for entry in plan["runs"]]
    # Exits like `generate`: 1 when an asset failed a rule (it is still written, with its evidence).
    raise typer.Exit(_make_assets(jobs, seed, None, None, out))


@app.command("check")
def check_command(
    image: Path = typer.Argument(..., help="Image file to check (any image, not only adgen's), or a press PDF "
                                           "to preflight (docs/preflight.md)."),
    brand: Optional[str] = typer.Option(None, "--brand", "-b", help="Brand kit id (an image needs it; a PDF takes "
                                                                    "the kit's threshold overrides)."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="Format id the image is meant for (images)."),
    copy: Optional[Path] = typer.Option(None, "--copy", help="JSON with headline, subhead, cta, price, disclaimer."),
    locale: str = typer.Option("en-US", "--locale", help="Locale of the copy (a PDF: whose legal text sizes apply)."),
    category: str = typer.Option("general", "--category", help="Product category."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    generated: Optional[bool] = typer.Option(None, "--generated/--not-generated",
                                             help="Say whether the image is AI-generated (its AI labels are then "
                                                  "required); default: unknown, labels checked only if it claims any."),
    pdfx: Optional[str] = typer.Option(None, "--pdfx", help="PDF: the PDF/X flavour the printer asked for (x-1a, x-3, "
                                                            "x-4); default: the one the file declares."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="PDF: folder for report.html and the page renders; "
                                                                 "default FILE-preflight/ beside the PDF."),
    pack_surface_cm2: Optional[float] = typer.Option(None, "--pack-surface-cm2", min=0.1,
                                                     help="PDF: the pack's largest surface (EU small-pack text "
                                                          "size); default the trim area."),
) -> None:
    """Run the rules that need no layers on any image, or the print preflight on a PDF."""
    from adgen.errors import InputError

    if image.suffix.lower() == ".pdf":
        from adgen.commands.preflight import check_pdf

        ignored = [name for name, value in (("--format", format), ("--copy", copy),
                                            ("--category", category != "general"),
                                            ("--generated", generated is not None)) if value]
        _warn(f"{', '.join(ignored)}: for images; a PDF's preflight does not use them" if ignored else "")

        raise typer.Exit(check_pdf(image, brand=brand, locale=locale, pdfx=pdfx, out=out,
                                   pack_surface_cm2=pack_surface_cm2, as_json=as_json))
    if brand is None or format is None:
        raise InputError("checking an image needs --brand and --format", field="brand" if brand is None else "format")
    from adgen.check_image import check_image_file

    report = check_image_file(image, brand=brand, format_id=format, copy_file=copy, locale=locale, category=category,
                              generated=generated)
    if as_json:
        console.print_json(json.dumps(report.as_dict(), default=str, ensure_ascii=False))
    else:
        _print_findings(report, title=str(image))
    raise typer.Exit(EXIT_FAILED_RULE if report.verdict == "fail" else EXIT_OK)


app.command("batch")(batch_command)
# Not `adgen batch export-approved`: `batch` takes the catalogue as its first argument, so a sub-command there
# would make a catalogue named export-approved ambiguous.
app.command("batch-export-approved")(batch_export_approved)
app.command("pack")(pack_command)
app.command("serve")(serve)
app.command("ui")(ui_command)


@app.command()
def plate(
    prompt: str = typer.Option(..., "--prompt", help="Prompt for the background plate."),
    out: Path = typer.Option(..., "--out", "-o", help="PNG file to write."),
    brand: Optional[str] = typer.Option(None, "--brand", "-b", help="Apply this brand's adapter and style words."),
    size: str = typer.Option("1080x1080", "--size", help="Target WxH: sets the plate's aspect (the model renders at its native area)."),
    seed: int = typer.Option(0, "--seed", "-s", min=0),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model; default adgen-tiny."),
    steps: Optional[int] = typer.Option(None, "--steps"),
    guidance: Optional[float] = typer.Option(None, "--guidance"),
) -> None:
    """Write the raw background plate for a prompt: for previews and for checking a model."""
    from adgen.errors import InputError
    from adgen.generation import render_plate
    from adgen.geometry import Size
    from adgen.request import DEFAULT_MODEL, adapter_for, model_defaults

    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise InputError("size must look like 1080x1080", field="size", value=size) from None
    text, negative, adapter = prompt, "text, letters, words, watermark", None
    model = model or DEFAULT_MODEL
    if brand:
        from adgen.brand import load_brand

        kit = load_brand(brand)
        text = ", ".join([prompt, *kit.style.words])
        negative = kit.style.negative
        path, note = adapter_for(kit, model) if kit.adapter else (None, "")
        _warn(note)
        if path is not None:
            text = f"{kit.adapter.trigger}, {text}" if kit.adapter.trigger else text
            adapter = (kit.id, path, kit.adapter.weight, kit.adapter.trigger)
    default_steps, default_guidance = model_defaults(model)
    image = render_plate(text, negative, model=model, target=Size(width, height), seed=seed,
                         steps=steps or default_steps, guidance=default_guidance if guidance is None else guidance,
                         adapter=adapter)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    console.print(f"plate {image.width}x{image.height} px → {out}")


@app.command()
def formats(as_json: bool = JSON_OPTION) -> None:
    """List output formats (piped: tab-separated rows, ids whole)."""
    from adgen.formats import all_formats

    registry = all_formats()
    table = Table("id", "channel", "size px", "print size", "safe area (t r b l)", "max KB", "types", "template")
    for f in registry.values():
        s = f.safe_area
        print_size = (f"{f.width_mm:g}x{f.height_mm:g} mm +{f.bleed_mm:g} bleed, {f.safe_mm:g} safe @ {f.ppi} ppi"
                      if f.is_print else "—")
        table.add_row(f.id, f.channel, f"{f.width}x{f.height}", print_size,
                      f"{s.top:.1%} {s.right:.1%} {s.bottom:.1%} {s.left:.1%}",
                      str(f.max_kb), ",".join(f.file_types), f.template)
    show(table, [dataclasses.asdict(f) for f in registry.values()], as_json=as_json, console=console)


@app.command()
def marks(as_json: bool = JSON_OPTION) -> None:
    """List certification marks (artwork, minimum size, clear space, where allowed or required)."""
    from adgen.marks import all_marks

    registry = all_marks()
    table = Table("id", "name", "file", "min px", "clear space", "locales", "categories", "required")
    for m in registry.values():
        required = (f"{', '.join(m.required_locales)} when copy says {' / '.join(m.required_terms)}"
                    if m.required_locales else "—")
        table.add_row(m.id, m.name, m.file.name, str(m.min_size_px), f"{m.clear_space:.0%} of height",
                      ", ".join(m.locales), ", ".join(m.categories), required)
    show(table, [dataclasses.asdict(m) for m in registry.values()], as_json=as_json, console=console)


@app.command()
def brands(as_json: bool = JSON_OPTION) -> None:
    """List brand kits (piped: tab-separated rows, ids whole)."""
    from adgen.brand import list_brand_ids, load_brand

    kits = [load_brand(brand_id) for brand_id in list_brand_ids()]
    table = Table("id", "name", "locales", "palette", "fonts", "adapter")
    for kit in kits:
        palette = " ".join(f"[on {hex_value}]  [/] {role} {hex_value}" for role, hex_value in kit.palette.items())
        fonts = f"{kit.fonts.headline.family} {kit.fonts.headline.weight} / {kit.fonts.body.family} {kit.fonts.body.weight}"
        adapter = "—"
        if kit.adapter:
            adapter = f"{kit.adapter.file} ×{kit.adapter.weight}" + ("" if kit.adapter_path.is_file() else " (not trained)")
        table.add_row(kit.id, kit.name, ", ".join(kit.locales), palette, fonts, adapter)
    show(table, [kit.model_dump(mode="json") for kit in kits], as_json=as_json, console=console)


def _make_assets(jobs, seed, model, steps, out: Path, *, svg: bool = False, cmyk: bool = False,
                 conditioners: list[str] = ()) -> int:
    """Validate everything up front (exit 2 before any work), then run each asset with progress.

    jobs: (product spec, brand id, format ids, variants per format). Writes one manifest, the
    evidence report and the contact sheet for all of them.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from adgen.manifest import ManifestRow, write_manifest
    from adgen.knowledge import LOCAL_TENANT
    from adgen.pipeline import run
    from adgen.request import DEFAULT_MODEL, AssetRequest, adapter_for
    from adgen.validation import validate_request

    requests, warned = [], set()
    for spec, brand_id, format_ids, variants in jobs:
        kit = validate_request([spec], brand_id, format_ids, variants, product_field="").brand  # exit 2 now
        if conditioners:  # --conditioner NAME=PATH: checked now (a missing path exits 2), used as the kit's own
            from adgen.brand import ConditionerRef
            from adgen.conditioners import parse_use

            added = tuple(ConditionerRef(name=u.name, path=u.path, scale=u.scale)
                          for u in (parse_use(text, field="--conditioner") for text in conditioners))
            kit = kit.model_copy(update={"conditioners": kit.conditioners + added})
        if kit.adapter and kit.id not in warned:  # also a brand.adapter finding in each asset's report
            warned.add(kit.id)
            _warn(adapter_for(kit, model or DEFAULT_MODEL)[1])
        requests += [(AssetRequest(product=spec, brand=brand_id, format=f, variant=v, seed=seed, model=model, steps=steps), kit)
                     for f in format_ids for v in range(1, variants + 1)]
    rows, results = [], []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("generating", total=len(requests))
        for index, (request, kit) in enumerate(requests, start=1):
            progress.update(task, description=f"{request.product.sku} {request.format} v{request.variant}")
            result = run(request, out, brand=kit, tenant=LOCAL_TENANT)
            results.append(result)
            _write_extras(result, svg=svg, cmyk=cmyk)
            rows.append(ManifestRow(row=index, sku=request.product.sku, format=request.format, variant=request.variant,
                                    status="ok", verdict=result.verdict,
                                    path=str(result.files.image.relative_to(out)),
                                    report=str(result.files.report.relative_to(out))))
            progress.advance(task)
    manifest = write_manifest(rows, out)
    _print_summary(results, out)
    console.print(f"manifest: {manifest}")
    _print_evidence(out, [r.files.report for r in results if r.files is not None])
    return EXIT_FAILED_RULE if any(r.verdict == "fail" for r in results) else EXIT_OK


def _warn(note: str) -> None:
    if note:
        err_console.print(f"[yellow]warning:[/] {note}", highlight=False)


def _write_extras(result, *, svg: bool, cmyk: bool) -> None:
    """Designer and press files beside the asset: layered SVG, CMYK TIFF + PDF (print formats)."""
    if result.files is None:
        return
    image = result.files.image
    if svg:
        from adgen.svg_export import to_svg

        image.with_suffix(".svg").write_text(to_svg(result.composition, result.request), encoding="utf-8")
    if cmyk and result.request.format.is_print:
        from adgen.print_export import print_file

        for kind, suffix in (("tiff", ".cmyk.tif"), ("pdf", ".cmyk.pdf")):
            image.with_name(image.stem + suffix).write_bytes(
                print_file(result.composition.image, result.request.format, kind))
    elif cmyk:
        err_console.print(f"--cmyk: {result.request.format.id} is not a print format; no CMYK file written")


def _print_evidence(out: Path, reports: list[Path]) -> None:
    from adgen.evidence import write_evidence

    html_path, sheet_path = write_evidence(out, reports)
    console.print(f"report: {html_path}\ncontact sheet: {sheet_path}", highlight=False)


def _print_summary(results, out: Path) -> None:
    table = Table("sku", "format", "v", "verdict", "failed rules", "ms", "file", title=f"adgen → {out}")
    colors = {"pass": "green", "warn": "yellow", "fail": "red"}
    for r in results:
        failed = sorted({f.rule for f in r.report.failed()})
        table.add_row(r.request.product.sku, r.request.format.id, str(r.request.variant),
                      f"[{colors[r.verdict]}]{r.verdict}[/]", ", ".join(failed) or "—",
                      f"{sum(r.timings_ms.values()):.0f}", str(r.files.image.relative_to(out)) if r.files else "—")
    console.print(table)


def _print_findings(report, title: str) -> None:
    table = Table("rule", "status", "element", "message", title=f"{title}: {report.verdict}")
    colors = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
    for f in report.findings:
        table.add_row(f.rule, f"[{colors[f.status]}]{f.status}[/]", f.element or "", f.message)
    console.print(table)

