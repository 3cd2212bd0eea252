"""`adgen batch`: a catalogue CSV in, a folder of checked assets and a manifest out."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def batch_command(
    catalogue: Path = typer.Argument(..., help="Products CSV: adgen columns, a Shopify product export or a Google Merchant feed."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (progress is kept in OUT/.adgen-batch/)."),
    brand: Optional[str] = typer.Option(None, "--brand", "-b", help="Brand kit for every row; else each row's brand column."),
    format: list[str] = typer.Option(["ig-square"], "--format", "-f", help="Format id; repeat for several."),
    variants: int = typer.Option(1, "--variants", "-n", min=1, max=64, help="Variants per format."),
    seed: int = typer.Option(0, "--seed", "-s", min=0, help="Base seed."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Diffusers folder, .safetensors file or cached hub id; default adgen-tiny."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, max=150, help="Denoising steps (default per model)."),
    mapping: list[str] = typer.Option([], "--map", help="column=field: read a CSV column as a spec field; repeat."),
    fetch_images: bool = typer.Option(False, "--fetch-images", help="Download http(s) image URLs (size and time limited)."),
    resume: bool = typer.Option(False, "--resume", help="Finish an interrupted batch in OUT instead of starting over."),
    engine: str = typer.Option("local", "--engine", help="local (this machine) or ray (a Ray cluster)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=0, max=256,
                                          help="Finishing processes (default: one per CPU core, at most one per 2 GiB "
                                               "of memory; 0: sequential); Ray: CPU slots."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, max=64, help="Prompts per pipeline call (part of the recipe: keep it to resume)."),
    cpu_threads: int = typer.Option(1, "--cpu-threads", min=1, max=256, help="Torch threads for CPU generation (part of the recipe: keep it to resume)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (ray://host:10001 or auto); default a local Ray."),
    require_approval: bool = typer.Option(False, "--require-approval", help="Record the assets in ADGEN_HOME's review queue, pending, made by --key-id; `adgen batch-export-approved` then exports the approved ones."),
    key_id: Optional[str] = typer.Option(None, "--key-id", help="With --require-approval: the API key (`adgen keys list`) the assets are made by; its tenant owns them."),
) -> None:
    """Make every product of a catalogue CSV in each format; crash-safe, --resume finishes the rest."""
    from adgen.batch import BatchOptions, run_batch
    from adgen.catalogue import parse_mapping

    if require_approval:
        _check_submitter(key_id, brand)
    if brand:  # rows in other kits get the same news as a brand.adapter finding in their reports
        _warn_about_adapter(brand, model)
    options = BatchOptions(catalogue=catalogue, out=out, formats=tuple(format), variants=variants, brand=brand,
                           seed=seed, model=model, steps=steps, mapping=tuple(parse_mapping(mapping).items()),
                           fetch_images=fetch_images, batch_size=batch_size, cpu_threads=cpu_threads,
                           resume=resume, engine=engine, workers=workers, ray_address=ray_address,
                           keep_plates=require_approval)
    with _ProgressBar() as bar:
        outcome = run_batch(options, on_plan=bar.start, on_result=bar.advance)
    _print_summary(outcome)
    _write_evidence(out, [out / item.report for item in outcome.items if item.status == "done" and item.report])
    if require_approval:
        _submit(out, outcome, key_id)
    raise typer.Exit(outcome.exit_code)


def batch_export_approved(
    out: Path = typer.Argument(..., help="The batch's output folder (made with --require-approval)."),
    to: Path = typer.Option(..., "--to", help="Folder to copy the approved assets to (<sku>/<format>-v<k>.<ext>, approved.csv)."),
    key_id: str = typer.Option(..., "--key-id", help="API key (`adgen keys list`) of the batch's tenant; the export is audited as taken by it."),
) -> None:
    """Export a reviewed batch's approved assets, and only those, re-signed with their approval (C2PA)."""
    from adgen.service.batch_reviews import export_approved

    exported = export_approved(out, to, key_id)
    waiting: dict[str, int] = {}
    for _, state in exported.left_out:
        waiting[state] = waiting.get(state, 0) + 1
    console.print(f"exported {len(exported.files)} approved asset(s) to {to}; manifest: {exported.manifest}",
                  highlight=False)
    for state, count in sorted(waiting.items()):
        console.print(f"left out: {count} {state.replace('_', ' ')}", highlight=False)
    changed = [asset for asset, state in exported.left_out if state.startswith("changed")]
    if changed:
        err_console.print(f"[red]refused:[/] {', '.join(changed)} changed on disk since approved", highlight=False)
    raise typer.Exit(1 if changed else 0)


def _check_submitter(key_id: str | None, brand: str | None) -> None:
    """Before any work: a live key, scoped to --brand when one is given (row brands are checked when recorded)."""
    from adgen.errors import InputError
    from adgen.service.batch_reviews import live_key
    from adgen.service_db import service_db_path

    if not key_id:
        raise InputError("--require-approval needs --key-id: the key the assets are made by", field="--key-id")
    key = live_key(key_id, service_db_path())
    if brand and not key.may_use(brand):
        raise InputError(f"this API key is not scoped to brand {brand}", field="--key-id", value=key_id)


def _submit(out: Path, outcome, key_id: str) -> None:
    from adgen.service.batch_reviews import submit

    done = [(out / item.path, out / item.report) for item in outcome.items if item.status == "done" and item.report]
    ids = submit(out, done, key_id)
    console.print(f"{len(ids)} asset(s) pending review: `adgen review list --key-id REVIEWER --state pending`, "
                  f"then `adgen batch-export-approved {out} --to FOLDER --key-id {key_id}`", highlight=False)


def _warn_about_adapter(brand: str, model: str | None) -> None:
    from adgen.brand import load_brand
    from adgen.request import DEFAULT_MODEL, adapter_for

    kit = load_brand(brand)
    note = adapter_for(kit, model or DEFAULT_MODEL)[1] if kit.adapter else ""
    if note:
        err_console.print(f"[yellow]warning:[/] {note}", highlight=False)


class _ProgressBar:
    """A rich progress bar with rate (assets/min) and ETA; assets done by an earlier run count as done."""

    def __enter__(self):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=err_console, transient=False)
        self.progress.__enter__()
        self.task = None
        return self

    def start(self, total: int, already_done: int) -> None:
        self.task = self.progress.add_task("batch", total=total, completed=already_done, rate="")

    def advance(self, result) -> None:
        self.progress.advance(self.task)
        speed = self.progress.tasks[0].speed
        self.progress.update(self.task, description=f"{result.key[1]} row {result.key[0]}",
                             rate=f"{speed * 60:.1f}/min" if speed else "")

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)


def _print_summary(outcome) -> None:
    items = outcome.items
    made = [i for i in items if i.status == "done"]
    counts = {verdict: sum(i.verdict == verdict for i in made) for verdict in ("pass", "warn", "fail")}
    errors = [i for i in items if i.status != "done"]
    table = Table("rows", "assets", "made now", "pass", "warn", "fail", "errors",
                  title=f"adgen batch: {outcome.catalogue.path.name} ({outcome.catalogue.dialect}, "
                        f"{outcome.catalogue.encoding}, {outcome.catalogue.delimiter!r})")
    table.add_row(str(len(outcome.catalogue.rows)), str(len(made)), str(len(outcome.made)),
                  f"[green]{counts['pass']}[/]", f"[yellow]{counts['warn']}[/]", f"[red]{counts['fail']}[/]",
                  f"[red]{len(errors)}[/]" if errors else "0")
    console.print(table)
    if errors:
        problems = Table("row", "sku", "format", "variant", "error", title="errors")
        for item in errors[:50]:
            problems.add_row(str(item.row), item.sku, item.format, str(item.variant or ""), item.error)
        console.print(problems)
    console.print(f"manifest: {outcome.manifest}")


def _write_evidence(out: Path, reports: list[Path]) -> None:
    """The HTML report and contact sheet of the assets the manifest lists (a resumed run's earlier ones too)."""
    from adgen.evidence import write_evidence

    html_path, sheet_path = write_evidence(out, reports)
    console.print(f"report: {html_path}\ncontact sheet: {sheet_path}", highlight=False)
