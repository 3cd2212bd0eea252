"""`adgen keys create|list|revoke`: API keys for `adgen serve`, in the `keys` command group.

register(group) adds the commands to any Typer group, so the `keys` group can be shared with
other key commands (signing keys) whichever module creates it.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def create(brands: str = typer.Option(..., "--brands", help="Comma-separated brand ids the key may use; '*' for all."),
           name: Optional[str] = typer.Option(None, "--name", help="Tenant name; keys with the same name see the same jobs."),
           role: str = typer.Option("creator", "--role", help="creator (makes jobs), reviewer (also approves and "
                                                              "rejects assets) or admin.")) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    from adgen.apikeys import create_key

    record, plaintext = create_key(brands.split(","), name, role=role)
    console.print(f"key id:         {record.id}\ntenant:         {record.name}\nbrands:         {', '.join(record.brands)}"
                  f"\nrole:           {record.role}", highlight=False)
    console.print(f"webhook secret: {record.webhook_secret}", highlight=False)
    console.print("API key (shown once, store it now):", highlight=False)
    print(plaintext)  # alone on the last line, plain, for scripts: KEY=$(adgen keys create ... | tail -1)


def list_() -> None:
    """List API keys (ids, tenants, brands; never the keys)."""
    from adgen.apikeys import list_keys

    table = Table("id", "tenant", "brands", "role", "created", "revoked")
    for key in list_keys():
        table.add_row(key.id, key.name, ",".join(key.brands), key.role, _when(key.created_at), _when(key.revoked_at))
    console.print(table)


def revoke(key_id: str = typer.Argument(..., help="Key id from `adgen keys list`.")) -> None:
    """Revoke an API key; requests with it are refused from then on."""
    from adgen.apikeys import revoke_key

    revoke_key(key_id)
    console.print(f"revoked {key_id}")


def register(group: typer.Typer) -> typer.Typer:
    group.command("create")(create)
    group.command("list")(list_)
    group.command("revoke")(revoke)
    return group




def _when(stamp: float | None) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if stamp else "—"
