"""`adgen keys`: the C2PA signing key and certificate chain adgen signs every export with."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Keys: the C2PA signing key (init-signing) and API keys for `adgen serve`.", no_args_is_help=True)


@app.command("init-signing")
def init_signing_command(
    keys_dir: Optional[Path] = typer.Option(None, "--dir", "-d",
                                            help="Folder for the key and chain (default ADGEN_HOME/keys)."),
) -> None:
    """Make a local CA and an ES256 signing certificate, unless a key and chain are there already."""
    # Plain echo, not rich: paths must not be wrapped, so they can be copied.
    from adgen.settings import adgen_home
    from adgen.signing import CA_FILE, KEY_FILE, init_signing

    folder = keys_dir or adgen_home() / "keys"
    existed = (folder / KEY_FILE).is_file()
    key_path, chain_path = init_signing(folder)
    typer.echo(f"{'kept existing' if existed else 'made'} signing key: {key_path}")
    typer.echo(f"certificate chain: {chain_path}")
    ca_path = key_path.parent / CA_FILE
    if ca_path.is_file():
        typer.echo(f"local CA (give it to verifiers as a trust anchor): {ca_path}")
    if keys_dir is not None and keys_dir.resolve() != (adgen_home() / "keys").resolve():
        typer.echo(f"adgen signs with ADGEN_HOME/keys; point ADGEN_HOME at {folder.parent} "
                   "or copy the files there to use these.")
