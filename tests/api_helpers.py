"""Helpers shared by the API tests: a request body, a local webhook receiver, a served adgen,
and a wait for any local server (the app, `adgen ui`) to answer."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BAG_PNG = REPO / "examples" / "images" / "cold-brew-bag.png"


def bearer(plaintext: str) -> dict:
    return {"Authorization": f"Bearer {plaintext}"}


def product(sku: str = "NW-CB-001", image: bool = False, **extra) -> dict:
    spec = {"sku": sku, "name": "Northwind Cold Brew", "headline": "Smooth cold brew", "cta": "Shop now",
            "price": "14.99", "category": "coffee", **extra}
    if image:
        spec["product_image"] = base64.b64encode(BAG_PNG.read_bytes()).decode()
    return spec


def job_body(**overrides) -> dict:
    return {"products": [product()], "brand": "northwind", "formats": ["iab-300x250"], "variants": 1, "seed": 1,
            **overrides}


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers the given statuses in turn (then 200)."""

    def __init__(self, statuses: tuple[int, ...] = ()):
        self.calls: list[tuple[dict, bytes]] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def wait_for_http(url: str, process: subprocess.Popen, timeout_s: float = 300) -> None:
    """Poll a loopback url until it answers 200; fail with the process's output if it exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}:\n{process.communicate()[0]}")
        try:
            if httpx.get(url, timeout=5, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.kill()
    raise AssertionError(f"{url} did not answer within {timeout_s:.0f} s:\n{process.communicate()[0]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """`adgen serve` in a subprocess on a free 127.0.0.1 port."""

    def __init__(self, home: Path, model: Path, *args: str):
        self.home, self.model, self.args = home, model, args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> "Served":
        env = {**os.environ, "ADGEN_HOME": str(self.home), "PYTHONWARNINGS": "ignore",
               "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        log = open(self.home.parent / f"serve-{self.port}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "adgen", "serve", "--port", str(self.port), "--model",
                                      str(self.model), "--steps", "1", "--no-ui", "--log-level", "warning",
                                      *self.args], env=env, stdout=log, stderr=log, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError("server not ready:\n" + self.log())

    def log(self) -> str:
        return (self.home.parent / f"serve-{self.port}.log").read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush; the crash a restart must survive."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(client, url: str, headers: dict, until, timeout: float = 300, interval: float = 0.3) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = client.get(url, headers=headers).json()
        if until(doc):
            return doc
        time.sleep(interval)
    raise AssertionError(f"timed out; last: {json.dumps(doc)[:2000]}")
