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
    key_id: Optional[str] = typer.Option(None, "--key-id", "--reviewer",
                                         help="Review tab: decide as this reviewer key of ADGEN_HOME "
                                              "(`adgen keys list`); without it the tab has no reviewer."),
) -> None:
    """Serve the designer app: brand picker, product form, galleries with findings, Check tab, Review tab."""
    if key_id:
        _check_reviewer(key_id)
    from adgen.ui import launch_ui

    launch_ui(host=host, port=port, model=model, reviewer=key_id)


def _check_reviewer(key_id: str) -> None:
    """Refuse at start a --key-id that is not a live reviewer or admin key of ADGEN_HOME."""
    from adgen.apikeys import ensure_schema, get_key
    from adgen.errors import InputError, NotFoundError
    from adgen.service_db import service_db_path

    ensure_schema(service_db_path())
    key = get_key(key_id)
    if key is None or key.revoked_at is not None:
        raise NotFoundError("no such live API key", field="--key-id", value=key_id)
    if not key.may_decide:
        raise InputError(f"a {key.role} key cannot decide on assets; give a reviewer or admin key",
                         field="--key-id", value=key_id)
