"""`adgen kb`: the brand knowledge base (guidelines, claim evidence, copy history) for the local tenant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Brand knowledge base: add documents, list, remove, search.", no_args_is_help=True)
console = Console()
BrandOption = typer.Option(..., "--brand", "-b", help="Brand kit id (see `adgen brands`).")


def _open(brand: str):
    from adgen.brand import load_brand
    from adgen.knowledge import LOCAL_TENANT, KnowledgeBase

    return KnowledgeBase(LOCAL_TENANT, load_brand(brand).id)  # an unknown brand is an error naming it


@app.command("add")
def add(files: list[Path] = typer.Argument(..., help="PDF (text layer), Markdown, HTML or plain-text files."),
        brand: str = BrandOption,
        kind: str = typer.Option(..., "--kind", "-k", help="guideline | claim-evidence | copy-history")) -> None:
    """Add documents; re-adding a changed file replaces only its changed passages."""
    added = _open(brand).add(files, kind)
    console.print(f"{added.files} file(s): {added.added} passage(s) added, {added.kept} unchanged, "
                  f"{added.removed} removed")


@app.command("list")
def list_sources(brand: str = BrandOption) -> None:
    """Files in the brand's knowledge base."""
    table = Table("source", "kind", "passages", "pages")
    for row in _open(brand).sources():
        table.add_row(row["source"], row["kind"], str(row["passages"]), str(row["pages"] or "—"))
    console.print(table)


@app.command("remove")
def remove(source: str = typer.Argument(..., help="File name as `adgen kb list` shows it."),
           brand: str = BrandOption) -> None:
    """Remove one file's passages."""
    console.print(f"removed {_open(brand).remove(source)} passage(s) of {source}", highlight=False)


@app.command("search")
def search(query: str = typer.Argument(..., help="What to look for, in any language."),
           brand: str = BrandOption,
           kind: Optional[str] = typer.Option(None, "--kind", "-k", help="Only this kind of document."),
           limit: int = typer.Option(5, "--limit", "-n", min=1, max=50, help="Passages to show."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Passages closest to the query, with score, source and page."""
    hits = _open(brand).search(query, k=limit, kind=kind)
    if as_json:
        typer.echo(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=1))
        return
    table = Table("score", "source", "page", "heading", "passage")
    for hit in hits:
        p = hit.passage
        table.add_row(f"{hit.score:.3f}", p.source, str(p.page or "—"), p.heading or "—", p.text)
    console.print(table)
