"""`adgen ui`: serve the Gradio designer app (gradio is imported only when the command runs)."""

from __future__ import annotations

from typing import Optional

import typer


def ui(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on; keep 127.0.0.1 unless behind a proxy."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to serve on."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model pre-filled in the form; default adgen-tiny."),
) -> None:
    """Serve the designer app: brand picker, product form, galleries with findings, Check tab."""
    from adgen.ui import launch_ui

    launch_ui(host=host, port=port, model=model)
