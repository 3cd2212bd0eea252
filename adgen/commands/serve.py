"""`adgen serve`: the HTTP service (FastAPI on uvicorn)."""

from __future__ import annotations

from typing import Optional

import typer


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on; 0.0.0.0 for all."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Diffusers folder, .safetensors file or cached hub id; default adgen-tiny."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, max=150, help="Denoising steps (default per model)."),
    callback_host: list[str] = typer.Option([], "--callback-host", help="Host name or IP network webhooks may go to; repeat. Also $ADGEN_CALLBACK_HOSTS (comma-separated)."),
    rate: int = typer.Option(600, "--rate", min=1, help="Requests per minute per API key."),
    max_products: int = typer.Option(20, "--max-products", min=1, help="Products per job."),
    fetch_allow: list[str] = typer.Option([], "--fetch-allow", help="Host name or IP network product_image_url may reach besides public addresses; repeat. Also $ADGEN_FETCH_ALLOW (comma-separated)."),
    fetch_allow_http: bool = typer.Option(False, "--fetch-allow-http", help="Let product_image_url be plain http (default: https only)."),
    ui: bool = typer.Option(False, "--ui/--no-ui", help="Mount the designer UI at /ui, behind the API keys (log in at /ui-login)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the HTTP API (jobs, assets, checks) with OpenAPI docs at /docs."""
    import os

    import uvicorn

    from adgen.service import ServiceSettings, create_app
    from adgen.limits import Limits
    from adgen.webhooks import CallbackPolicy

    def listed(variable: str) -> tuple[str, ...]:
        return tuple(h.strip() for h in os.environ.get(variable, "").split(",") if h.strip())

    settings = ServiceSettings(model=model, steps=steps, ui=ui, fetch_allow=tuple(fetch_allow) + listed("ADGEN_FETCH_ALLOW"),
                               fetch_allow_http=fetch_allow_http,
                               limits=Limits(rate_per_minute=rate, max_products_per_job=max_products),
                               callbacks=CallbackPolicy(allowed_hosts=tuple(callback_host) + listed("ADGEN_CALLBACK_HOSTS")))
    # One server process; the job worker is its child process and owns the model.
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, workers=1)
