"""create_app() served by uvicorn on a real 127.0.0.1 socket, in this process (so a test can set its stage)."""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn
from api_helpers import free_port

from adgen.service import ServiceSettings, create_app


class LiveApp:
    """The service on a free port; `with LiveApp(settings) as live:` starts it and shuts it down cleanly."""

    def __init__(self, settings: ServiceSettings):
        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def service(self):
        return self.app.state.service

    def __enter__(self) -> "LiveApp":
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("live app did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)
