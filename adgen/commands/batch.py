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
) -> None:
    """Make every product of a catalogue CSV in each format; crash-safe, --resume finishes the rest."""
    from adgen.batch import BatchOptions, run_batch
    from adgen.catalogue import parse_mapping

    if brand:  # rows in other kits get the same news as a brand.adapter finding in their reports
        _warn_about_adapter(brand, model)
    options = BatchOptions(catalogue=catalogue, out=out, formats=tuple(format), variants=variants, brand=brand,
                           seed=seed, model=model, steps=steps, mapping=tuple(parse_mapping(mapping).items()),
                           fetch_images=fetch_images, batch_size=batch_size, cpu_threads=cpu_threads,
                           resume=resume, engine=engine, workers=workers, ray_address=ray_address)
    with _ProgressBar() as bar:
        outcome = run_batch(options, on_plan=bar.start, on_result=bar.advance)
    _print_summary(outcome)
    _write_evidence(out, [out / item.report for item in outcome.items if item.status == "done" and item.report])
    raise typer.Exit(outcome.exit_code)


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
