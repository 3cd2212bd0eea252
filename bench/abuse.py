"""Abuse run: a real `adgen serve` on 127.0.0.1 under oversized checks, a job flood, a rebinding and a trickling webhook.

    python -m bench abuse [--json docs/benchmarks/abuse.json] [--checks 6] [--flood 60]

1. checks:   --checks concurrent POST /v1/check of a 5000x5000 PNG from each of two tenants; statuses,
             seconds, and the peak memory (VmHWM) of the API process and its worker child.
2. flood:    tenant A POSTs --flood jobs (Idempotency-Key flood-i; the first 10 sent again); then tenant B
             POSTs one job: B's wait, and how many of A's jobs finished while B waited (fair queue).
             Distinct A jobs in the store must equal the distinct ids in the 202 answers.
3. rebind:   a callback to rebind.test, which the served process resolves to 127.0.0.2 (allowed) first and
             127.0.0.1 (loopback) afterwards (bench/abuse_resolver/sitecustomize.py); receivers on both
             addresses, same port; the first answers 503 once, so a retry must look the name up again.
             The 127.0.0.1 receiver must get nothing.
4. trickle:  a callback receiver on 127.0.0.2 that sends its status line one byte per 0.5 s: each attempt
             must end at the policy's 10 s deadline, not when the receiver stops.
Every loop is bounded in count and time; all traffic stays on 127.0.0.0/8. Exits non-zero when a control fails.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import select
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESOLVER = Path(__file__).resolve().parent / "abuse_resolver"
API_PEAK_CAP_MB = 1536  # heavy_slots=1: one 5000x5000 check (~1 GB) on top of the idle process
TRICKLE_DEADLINE_S = 10.0  # CallbackPolicy.timeout_s; `adgen serve` has no option to change it
EXPECTED_503 = ("busy", "queue_full")


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench abuse", description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(REPO / "docs" / "benchmarks" / "abuse.json"))
    parser.add_argument("--checks", type=int, default=6, help="concurrent /v1/check per tenant")
    parser.add_argument("--flood", type=int, default=60, help="jobs tenant A posts")
    parser.add_argument("--trickle-wait", type=float, default=115.0, help="seconds to wait for the trickled webhook")
    args = parser.parse_args(argv)
    result = run_abuse(checks=args.checks, flood=args.flood, trickle_wait=args.trickle_wait)
    _print(result)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    if not all(result["controls"].values()):
        raise SystemExit(1)
    return result


# ---- the served process ------------------------------------------------------------------

class Server:
    """`adgen serve` (embedded model, 1 step) in a subprocess on a free 127.0.0.1 port, with the rebinding resolver."""

    def __init__(self, home: Path):
        from adgen.apikeys import create_key
        from adgen.service_db import service_db_path

        self.home, self.db = home, service_db_path(home)
        self.keys = {t: create_key(["northwind"], t, db=self.db)[1] for t in ("tenant-a", "tenant-b")}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home.parent / "serve.log"
        self.rebind_log = home.parent / "rebind.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 240) -> float:
        import httpx

        env = {**os.environ, "ADGEN_HOME": str(self.home), "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1",
               "ADGEN_BRAND_KITS": str(REPO / "brand_kits"), "ADGEN_LORA": str(REPO / "lora"),
               "ADGEN_BENCH_REBIND": "1", "ADGEN_BENCH_REBIND_LOG": str(self.rebind_log),
               "PYTHONPATH": os.pathsep.join([str(RESOLVER), str(REPO), os.environ.get("PYTHONPATH", "")])}
        log = open(self.log_path, "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "adgen", "serve", "--port", str(self.port), "--steps", "1", "--no-ui",
             "--log-level", "warning", "--callback-host", "127.0.0.2", "--callback-host", "rebind.test",
             "--rate", "100000"], env=env, stdout=log, stderr=log, cwd=REPO)
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log_tail())
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("server not ready:\n" + self.log_tail())

    def headers(self, tenant: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.keys[tenant]}", **extra}

    def memory(self) -> dict:
        """VmHWM/VmRSS (MB) of the API process and of its worker child (the multiprocessing spawn child)."""
        import psutil

        figures = {"api": _vm(self.proc.pid)}
        for child in psutil.Process(self.proc.pid).children():
            try:
                if "spawn_main" in " ".join(child.cmdline()):
                    figures["worker"] = _vm(child.pid)
            except psutil.Error:
                pass
        return figures

    def rebind_lookups(self) -> list[str]:
        return self.rebind_log.read_text().splitlines() if self.rebind_log.exists() else []

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


def _vm(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return {"pid": pid, "hwm_mb": fields.get("VmHWM"), "rss_mb": fields.get("VmRSS")}


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Tally:
    """Every response's status (and error code), per part: the 5xx control reads it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter[str] = Counter()
        self.unexpected: list[dict] = []

    def record(self, part: str, method: str, path: str, response) -> None:
        code = None
        if response.status_code >= 400:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
        with self.lock:
            self.statuses[f"{part} {response.status_code}" + (f" {code}" if code else "")] += 1
            if response.status_code >= 500 and not (response.status_code == 503 and code in EXPECTED_503):
                self.unexpected.append({"part": part, "request": f"{method} {path}", "status": response.status_code,
                                        "body": response.text[:500]})

    def call(self, client, part: str, method: str, path: str, **kwargs):
        response = client.request(method, path, **kwargs)
        self.record(part, method, path, response)
        return response


# ---- the run -----------------------------------------------------------------------------

def run_abuse(*, checks: int = 6, flood: int = 60, trickle_wait: float = 115.0) -> dict:
    import httpx

    work = Path(tempfile.mkdtemp(prefix="adgen-abuse-"))
    server = Server(work / "home")
    tally = Tally()
    result: dict = {"command": "python -m bench abuse", "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "cpu_count": os.cpu_count(), "load_avg": os.getloadavg()}
    run_started = time.monotonic()
    try:
        result["startup_s"] = round(server.start(), 1)
        with httpx.Client(base_url=server.url, timeout=120) as client:
            result["checks"] = part_checks(server, client, tally, checks)
            result["rebind"] = part_rebind(server, client, tally)
            trickle = TrickleReceiver()
            trickle_job = _post_job(server, client, tally, "trickle", "tenant-b", "B-TRICKLE",
                                    callback_url=f"http://127.0.0.2:{trickle.port}/hook")
            trickle_submitted = time.monotonic()
            result["flood"] = part_flood(server, client, tally, flood)
            result["trickle"] = part_trickle(server, client, tally, trickle, trickle_job, trickle_submitted, trickle_wait)
        result["memory_end"] = server.memory()
        result["server_alive"] = server.proc.poll() is None
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        result["server_log_tail"] = server.log_tail(3000)
        server.stop()
    result["run_s"] = round(time.monotonic() - run_started, 1)
    result["statuses"] = dict(sorted(tally.statuses.items()))
    result["unexpected_5xx"] = tally.unexpected
    result["controls"] = _controls(result)
    return result


def part_checks(server: Server, client, tally: Tally, per_tenant: int) -> dict:
    """Oversized images to /v1/check from two tenants at once: statuses, seconds, peak memory."""
    png = _big_png()
    before = server.memory()
    barrier = threading.Barrier(2 * per_tenant)

    def one(tenant: str) -> tuple[str, int, float, str | None]:
        barrier.wait(30)
        started = time.monotonic()
        response = tally.call(client, "check", "POST", "/v1/check", headers=server.headers(tenant),
                              files={"image": ("big.png", png, "image/png")},
                              data={"brand": "northwind", "format": "ig-square"})
        code = response.json().get("error", {}).get("code") if response.status_code != 200 else None
        return tenant, response.status_code, time.monotonic() - started, code

    started = time.monotonic()
    with ThreadPoolExecutor(2 * per_tenant) as pool:
        answers = list(pool.map(one, ["tenant-a"] * per_tenant + ["tenant-b"] * per_tenant))
    wall = time.monotonic() - started
    after = server.memory()
    by_tenant = {t: dict(Counter(f"{s}" + (f" {c}" if c else "") for tt, s, _, c in answers if tt == t))
                 for t in ("tenant-a", "tenant-b")}
    ok = [seconds for _, status, seconds, _ in answers if status == 200]
    return {"image": "5000x5000 PNG", "image_mb": round(len(png) / 2**20, 2), "concurrent": 2 * per_tenant,
            "statuses": by_tenant, "wall_s": round(wall, 1),
            "seconds_200": [round(s, 1) for s in sorted(ok)],
            "seconds_refused_max": round(max((s for _, st, s, _ in answers if st != 200), default=0), 2),
            "memory_before": before, "memory_after": after}


def _big_png() -> bytes:
    """A 5000x5000 RGB PNG that compresses: gradients, with a few noise blocks (~1 MB)."""
    import numpy as np
    from PIL import Image

    side = 5000
    ramp = np.linspace(0, 255, side, dtype=np.float32)
    pixels = np.empty((side, side, 3), dtype=np.uint8)
    pixels[..., 0] = ramp[None, :]
    pixels[..., 1] = ramp[:, None]
    pixels[..., 2] = 128
    rng = np.random.default_rng(7)
    for y, x in ((500, 500), (2400, 3100), (4000, 1200)):
        pixels[y:y + 160, x:x + 160] = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _job_body(sku: str, seed: int = 1, **extra) -> dict:
    product = {"sku": sku, "name": "Northwind Cold Brew", "headline": "Smooth cold brew", "cta": "Shop now",
               "price": "14.99", "category": "coffee"}
    return {"products": [product], "brand": "northwind", "formats": ["iab-300x250"], "variants": 1, "seed": seed,
            **extra}


def _post_job(server: Server, client, tally: Tally, part: str, tenant: str, sku: str, **extra) -> str:
    response = tally.call(client, part, "POST", "/v1/jobs", headers=server.headers(tenant), json=_job_body(sku, **extra))
    if response.status_code != 202:
        raise RuntimeError(f"{part}: POST /v1/jobs answered {response.status_code}: {response.text[:300]}")
    return response.json()["id"]


def _poll(server: Server, client, tally: Tally, part: str, tenant: str, job_id: str, until, timeout: float,
          interval: float = 0.5) -> tuple[dict, float]:
    started = time.monotonic()
    doc: dict = {}
    while time.monotonic() - started < timeout:
        doc = tally.call(client, part, "GET", f"/v1/jobs/{job_id}", headers=server.headers(tenant)).json()
        if until(doc):
            break
        time.sleep(interval)
    return doc, time.monotonic() - started


def _webhook_final(doc: dict) -> bool:
    return (doc.get("webhook") or {}).get("state") in ("delivered", "failed")


def part_flood(server: Server, client, tally: Tally, count: int) -> dict:
    """Tenant A floods; tenant B's one job must not wait behind the flood."""
    bodies = {i: _job_body(f"A-{i:03d}", seed=i) for i in range(count)}

    def post(i: int):
        response = tally.call(client, "flood", "POST", "/v1/jobs",
                              headers=server.headers("tenant-a", **{"Idempotency-Key": f"flood-{i}"}), json=bodies[i])
        code = None if response.status_code == 202 else response.json().get("error", {}).get("code")
        return i, response.status_code, code, response.json().get("id"), response.headers.get("Idempotent-Replayed")

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(post, range(count)))
        resent = list(pool.map(post, range(min(10, count))))
    flood_s = time.monotonic() - started
    accepted = {i: job for i, status, _, job, _ in first if status == 202}
    replay_mismatch = [i for i, status, _, job, _ in resent if status == 202 and i in accepted and job != accepted[i]]
    ids_202 = {job for _, status, _, job, _ in first + resent if status == 202}

    b_submitted_wall = time.time()
    b_job = _post_job(server, client, tally, "flood", "tenant-b", "B-FAIR")
    doc, b_wait = _poll(server, client, tally, "flood", "tenant-b", b_job,
                        lambda d: d.get("status") in ("done", "failed"), timeout=180)
    with sqlite3.connect(server.db) as conn:
        b_row = conn.execute("SELECT started_at, updated_at FROM jobs WHERE id = ?", (b_job,)).fetchone()
        b_end = b_row[1] if doc.get("status") in ("done", "failed") else time.time()
        a_during = conn.execute("SELECT COUNT(*) FROM jobs WHERE tenant = 'tenant-a' AND status IN ('done', 'failed')"
                                " AND updated_at > ? AND updated_at <= ?", (b_submitted_wall, b_end)).fetchone()[0]
        a_started_during = conn.execute("SELECT COUNT(*) FROM jobs WHERE tenant = 'tenant-a' AND started_at > ?"
                                        " AND started_at < ?", (b_submitted_wall, b_row[0] or time.time())).fetchone()[0]
        per_tenant = dict(conn.execute("SELECT tenant, COUNT(*) FROM jobs GROUP BY tenant").fetchall())
        a_ids = {row[0] for row in conn.execute("SELECT id FROM jobs WHERE tenant = 'tenant-a'")}
        a_keys = conn.execute("SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM jobs WHERE tenant = 'tenant-a'"
                              ).fetchone()
    return {"posted": count, "resent": len(resent), "post_s": round(flood_s, 1),
            "first_pass": dict(Counter(f"{s}" + (f" {c}" if c else "") for _, s, c, _, _ in first)),
            "resend": dict(Counter(f"{s}" + (" replayed" if r else "") + (f" {c}" if c else "")
                                   for _, s, c, _, r in resent)),
            "replay_id_mismatches": replay_mismatch,
            "distinct_202_ids": len(ids_202), "a_jobs_in_store": len(a_ids), "a_distinct_idempotency_keys": a_keys[1],
            "duplicate_jobs": len(a_ids - ids_202) + (a_keys[0] - a_keys[1]),
            "jobs_per_tenant": per_tenant,
            "b_status": doc.get("status"), "b_wait_s": round(b_wait, 1),
            "a_finished_while_b_waited": a_during, "a_started_while_b_queued": a_started_during}


def part_rebind(server: Server, client, tally: Tally) -> dict:
    """A callback host that rebinds to loopback after its first lookup: loopback must get nothing."""
    allowed, internal = _receiver_pair()
    try:
        job = _post_job(server, client, tally, "rebind", "tenant-b", "B-REBIND",
                        callback_url=f"http://rebind.test:{allowed.port}/hook")
        doc, seconds = _poll(server, client, tally, "rebind", "tenant-b", job, _webhook_final, timeout=90)
    finally:
        allowed.close()
        internal.close()
    return {"port": allowed.port, "job_status": doc.get("status"), "webhook": doc.get("webhook"),
            "seconds": round(seconds, 1), "lookups": server.rebind_lookups(),
            "allowed_hits": len(allowed.calls), "internal_hits": len(internal.calls)}


class Receiver:
    """A webhook receiver on host:port answering the given statuses in turn (then 200)."""

    def __init__(self, host: str, port: int, statuses: tuple[int, ...] = ()):
        self.calls: list[float] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls.append(time.monotonic())
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _receiver_pair() -> tuple[Receiver, Receiver]:
    """The allowed receiver on 127.0.0.2:P (503 once, then 200) and the 'internal' one on 127.0.0.1:P."""
    for _ in range(20):
        allowed = Receiver("127.0.0.2", 0, statuses=(503,))
        try:
            return allowed, Receiver("127.0.0.1", allowed.port)
        except OSError:  # that port is taken on 127.0.0.1: another one
            allowed.close()
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


class TrickleReceiver:
    """Reads a request, then sends `HTTP/1.1 200 OK\\r\\n` and endless header bytes, one byte per 0.5 s,
    until the client hangs up (at most 60 s a connection); records each connection's seconds."""

    def __init__(self, host: str = "127.0.0.2"):
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.attempts: list[dict] = []
        self.sock.settimeout(1.0)
        self.stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        accepted = time.monotonic()
        record = {"bytes_sent": 0}
        self.attempts.append(record)
        payload = b"HTTP/1.1 200 OK\r\nX-Trickle: " + b"a" * 1000
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 1_000_000:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            for index in range(len(payload)):
                if time.monotonic() - accepted > 60 or self.stopping.is_set():
                    break
                readable, _, _ = select.select([conn], [], [], 0.5)
                if readable and not conn.recv(4096):
                    break  # the client hung up
                conn.sendall(payload[index:index + 1])
                record["bytes_sent"] += 1
        except OSError:
            pass
        finally:
            record["seconds"] = round(time.monotonic() - accepted, 2)
            conn.close()

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()


def part_trickle(server: Server, client, tally: Tally, trickle: TrickleReceiver, job_id: str, submitted: float,
                 wait: float) -> dict:
    """Wait (bounded) for the trickled callback to be given up; each attempt's seconds as the receiver saw them."""
    left = max(5.0, wait - (time.monotonic() - submitted))
    doc, _ = _poll(server, client, tally, "trickle", "tenant-b", job_id, _webhook_final, timeout=left, interval=1.0)
    time.sleep(0.6)  # let the receiver note the last hang-up
    trickle.close()
    finished = [a for a in trickle.attempts if "seconds" in a]
    return {"port": trickle.port, "job_status": doc.get("status"), "webhook": doc.get("webhook"),
            "waited_s": round(time.monotonic() - submitted, 1), "receiver_attempts": len(trickle.attempts),
            "attempt_seconds": [a["seconds"] for a in finished],
            "bytes_sent": [a["bytes_sent"] for a in finished],
            "deadline_s": TRICKLE_DEADLINE_S}


# ---- verdicts and output -------------------------------------------------------------------

def _controls(result: dict) -> dict:
    checks, flood = result.get("checks", {}), result.get("flood", {})
    rebind, trickle = result.get("rebind", {}), result.get("trickle", {})
    api_hwm = ((checks.get("memory_after") or {}).get("api") or {}).get("hwm_mb")
    check_statuses = {s.split()[0] for t in (checks.get("statuses") or {}).values() for s in t}
    attempts = trickle.get("attempt_seconds") or []
    return {
        "run_completed": "error" not in result and result.get("server_alive", False),
        "no_unexpected_5xx": not result.get("unexpected_5xx"),
        "checks_answered_200_429_503": bool(check_statuses) and check_statuses <= {"200", "429", "503"}
                                        and "200" in check_statuses,
        "api_peak_under_cap": api_hwm is not None and api_hwm < API_PEAK_CAP_MB,
        "tenant_b_job_done": flood.get("b_status") == "done",
        "fair_queue": flood.get("a_finished_while_b_waited", 99) <= 2,
        "no_duplicate_jobs": flood.get("duplicate_jobs", 1) == 0 and not flood.get("replay_id_mismatches", [1])
                             and flood.get("a_jobs_in_store") == flood.get("distinct_202_ids"),
        "no_internal_webhook_hits": rebind.get("internal_hits", 1) == 0 and rebind.get("allowed_hits", 0) >= 1
                                    and (rebind.get("webhook") or {}).get("state") in ("delivered", "failed"),
        "trickle_bounded_by_deadline": bool(attempts) and max(attempts) <= TRICKLE_DEADLINE_S + 2.0,
    }


def _print(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    checks, flood = result.get("checks", {}), result.get("flood", {})
    rebind, trickle = result.get("rebind", {}), result.get("trickle", {})
    mem = checks.get("memory_after") or {}
    mem0 = checks.get("memory_before") or {}
    statuses = Table("part status [code]", "count", title="responses")
    for name, count in result.get("statuses", {}).items():
        statuses.add_row(name, str(count))
    console.print(statuses)

    def mb(figures: dict, who: str) -> str:
        f = figures.get(who) or {}
        return f"{f.get('hwm_mb', '-')} MB peak, {f.get('rss_mb', '-')} MB now"

    webhook = trickle.get("webhook") or {}
    rows = [
        ("server start (model load)", f"{result.get('startup_s', '-')} s"),
        ("unexpected 5xx (503 busy/queue_full excepted)", str(len(result.get("unexpected_5xx", [])))),
        (f"/v1/check x{checks.get('concurrent', '-')} 5000x5000 ({checks.get('image_mb', '-')} MB)",
         f"{checks.get('statuses')} in {checks.get('wall_s', '-')} s; 200s took {checks.get('seconds_200')} s"),
        ("API process memory (before checks)", mb(mem0, "api")),
        (f"API process memory (after; cap {API_PEAK_CAP_MB} MB)", mb(mem, "api")),
        ("worker process memory (after checks)", mb(mem, "worker")),
        ("worker process memory (end of run)", mb(result.get("memory_end") or {}, "worker")),
        (f"flood: tenant A {flood.get('posted', '-')} POSTs + {flood.get('resent', '-')} resent",
         f"{flood.get('first_pass')}; resent {flood.get('resend')}"),
        ("tenant B job completed", f"{'yes' if flood.get('b_status') == 'done' else 'no'}, "
                                   f"{flood.get('b_wait_s', '-')} s"),
        ("A jobs finished while B waited", str(flood.get("a_finished_while_b_waited", "-"))),
        ("duplicate jobs (store vs 202 ids)", f"{flood.get('duplicate_jobs', '-')} "
                                              f"({flood.get('a_jobs_in_store', '-')} vs {flood.get('distinct_202_ids', '-')})"),
        ("rebind.test: receiver hits allowed / internal",
         f"{rebind.get('allowed_hits', '-')} / {rebind.get('internal_hits', '-')}; lookups {len(rebind.get('lookups', []))}; "
         f"webhook {rebind.get('webhook')}"),
        ("trickle attempt seconds (receiver's view)",
         f"{trickle.get('attempt_seconds')}; webhook {webhook.get('state', '-')} after {webhook.get('attempts', '-')} "
         f"attempts, {webhook.get('outcome', '-')} (waited {trickle.get('waited_s', '-')} s)"),
        ("run wall time", f"{result.get('run_s')} s"),
    ]
    table = Table("figure", "value", title="adgen serve under abuse")
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    verdicts = Table("control", "passed", title="controls")
    for name, passed in result["controls"].items():
        verdicts.add_row(name, "yes" if passed else "[bold red]NO[/]")
    console.print(verdicts)
    if result.get("error") or result.get("unexpected_5xx"):
        console.print(f"error: {result.get('error')}; unexpected: {result.get('unexpected_5xx')}")
        console.print("server log tail:\n" + result.get("server_log_tail", ""), markup=False)
