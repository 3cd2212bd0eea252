"""How `adgen formats | brands | marks | rules` print a registry: a table for people, whole rows for pipes.

On a terminal: the rich table (it may shorten cells to fit). Piped or redirected: one
tab-separated line per record, no header, nothing shortened, so `adgen formats | cut -f1`
gives every id whole. With --json: the records themselves, a JSON list.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

JSON_OPTION = typer.Option(False, "--json", help="Print the records as JSON instead of a table.")


def show(table: Table, records: list[dict], *, as_json: bool, console: Console) -> None:
    """Print one registry: JSON records, the table on a terminal, or tab-separated rows when piped."""
    if as_json:
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False, default=str))
    elif console.is_terminal:
        console.print(table)
    else:
        for row in zip(*(column.cells for column in table.columns)):
            typer.echo("\t".join(_plain(cell) for cell in row))


def _plain(cell) -> str:
    """A cell's text without markup, on one line (tabs and newlines would split the row)."""
    text = cell.plain if isinstance(cell, Text) else Text.from_markup(str(cell)).plain
    text = " ".join(text.split())
    return "" if text == "—" else text  # the tables' dash for "none" is an empty field to a script
