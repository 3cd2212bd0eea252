"""`adgen keys`: the C2PA signing key and certificate chain adgen signs every export with."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(help="Signing keys for C2PA manifests.", no_args_is_help=True)
console = Console()


@app.command("init-signing")
def init_signing_command(
    keys_dir: Optional[Path] = typer.Option(None, "--dir", "-d",
                                            help="Folder for the key and chain (default ADGEN_HOME/keys)."),
) -> None:
    """Make a local CA and an ES256 signing certificate, unless a key and chain are there already."""
    from adgen.settings import adgen_home
    from adgen.signing import CA_FILE, KEY_FILE, init_signing

    folder = keys_dir or adgen_home() / "keys"
    existed = (folder / KEY_FILE).is_file()
    key_path, chain_path = init_signing(folder)
    console.print(f"{'kept existing' if existed else 'made'} signing key: {key_path}", highlight=False)
    console.print(f"certificate chain: {chain_path}", highlight=False)
    ca_path = key_path.parent / CA_FILE
    if ca_path.is_file():
        console.print(f"local CA (give it to verifiers as a trust anchor): {ca_path}", highlight=False)
    if keys_dir is not None and keys_dir.resolve() != (adgen_home() / "keys").resolve():
        console.print(f"adgen signs with ADGEN_HOME/keys; point ADGEN_HOME at {folder.parent} "
                      "or copy the files there to use these.", highlight=False)
