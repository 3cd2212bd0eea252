"""`adgen ui`: serve the Gradio designer app (gradio is imported only when the command runs)."""

from __future__ import annotations

from typing import Optional

import typer


def ui(
    host: Optional[str] = typer.Option(None, "--host", show_default=False,
                                       help="Interface to listen on; default $GRADIO_SERVER_NAME, else 127.0.0.1 "
                                            "(keep it unless behind a proxy)."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, show_default=False,
                                       help="Port to serve on; default $GRADIO_SERVER_PORT, else the first free "
                                            "port from 7860."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model pre-filled in the form; default adgen-tiny."),
) -> None:
    """Serve the designer app: brand picker, product form, galleries with findings, Check tab."""
    from adgen.ui import launch_ui

    launch_ui(host=host, port=port, model=model)
