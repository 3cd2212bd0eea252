"""The HTTP API over a real socket: `adgen serve` in a subprocess on 127.0.0.1.

Schemathesis against the OpenAPI document, SIGKILL mid-job and restart, a bounded load test,
and the curl examples of docs/api.md run as written.
"""

from __future__ import annotations

import json
import asyncio
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_helpers import REPO, Served, job_body, product, wait_for

from adgen.apikeys import create_key
from adgen.service_db import service_db_path

DOCS = REPO / "docs" / "api.md"
LOAD_POLLS = 200


@pytest.fixture(scope="module")
def served(tmp_path_factory, sd15_dir):
    home = tmp_path_factory.mktemp("served") / "home"
    _, plaintext = create_key(["*"], "load", db=service_db_path(home))
    server = Served(home, sd15_dir, "--rate", "100000").start()
    yield server, {"Authorization": f"Bearer {plaintext}"}
    server.stop()


def test_schemathesis_finds_no_server_errors(served, tmp_path):
    server, auth = served
    command = [str(Path(sys.executable).with_name("schemathesis")), "run", f"{server.url}/openapi.json",
               "--checks", "not_a_server_error", "--max-examples", "30", "--seed", "1", "--max-time", "150",
               "--phases", "examples,coverage,fuzzing",
               "--header", f"Authorization: {auth['Authorization']}", "--request-timeout", "30",
               "--report-dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=400, cwd=tmp_path,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:] + server.log()
    summary = result.stdout[result.stdout.rfind("generated"):][:200]
    print("\nschemathesis:", " ".join(summary.split()))
    assert " passed" in summary and "failed" not in summary


def test_status_polls_under_load(served):
    """200 concurrent status polls while jobs run: no errors; p95 latency printed for docs/api.md."""
    server, auth = served
    with httpx.Client(base_url=server.url, headers=auth) as client:
        jobs = [client.post("/v1/jobs", json=job_body(products=[product(f"LOAD-{i}")], seed=i)).json()
                for i in range(3)]
        wait_for(client, jobs[0]["status_url"], {}, lambda d: d["status"] == "running", timeout=120, interval=0.2)

    async def poll_all() -> list[tuple[int, float]]:
        limits = httpx.Limits(max_connections=LOAD_POLLS)
        async with httpx.AsyncClient(base_url=server.url, headers=auth, limits=limits, timeout=60) as client:
            async def poll(i: int) -> tuple[int, float]:
                start = time.perf_counter()
                response = await client.get(jobs[i % len(jobs)]["status_url"])
                return response.status_code, time.perf_counter() - start
            return await asyncio.gather(*(poll(i) for i in range(LOAD_POLLS)))

    results = asyncio.run(poll_all())
    with httpx.Client(base_url=server.url, headers=auth) as client:  # one keep-alive connection, for scale
        sequential = []
        for _ in range(50):
            start = time.perf_counter()
            client.get(jobs[0]["status_url"]).raise_for_status()
            sequential.append(time.perf_counter() - start)
    codes = [code for code, _ in results]
    latencies = sorted(seconds for _, seconds in results)
    p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies)) - 1]
    print(f"\nload: {LOAD_POLLS} concurrent polls, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms; one at a time: median {statistics.median(sequential) * 1000:.1f} ms")
    assert codes == [200] * LOAD_POLLS
    assert p95 < 30


def test_docs_curl_examples_run(served, tmp_path):
    server, auth = served
    blocks = re.findall(r"```bash\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 4
    (tmp_path / "examples").symlink_to(REPO / "examples")
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {**os.environ, "ADGEN_URL": server.url, "ADGEN_KEY": auth["Authorization"].split()[1]}
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "304" in result.stdout.split() and (tmp_path / "banner.png").stat().st_size > 1000


def test_sigkill_mid_job_then_restart_completes_without_duplicates(tmp_path, sd15_dir):
    home = tmp_path / "home"
    _, plaintext = create_key(["northwind"], "shop", db=service_db_path(home))
    auth = {"Authorization": f"Bearer {plaintext}"}
    server = Served(home, sd15_dir).start()
    try:
        with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
            body = job_body(formats=["iab-300x250", "iab-320x50"], variants=3)
            accepted = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k1"}).json()
            wait_for(client, accepted["status_url"], {}, lambda d: d["progress"]["done"] >= 2, interval=0.1)
        children = _children(server.proc.pid)
        assert children  # the worker process (and multiprocessing's resource tracker)
        server.kill()
        deadline = time.monotonic() + 15
        while any(map(_running, children)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_running, children)), "the worker outlived the server"
        before = _recorded_assets(home)
        assert 2 <= len(before) < 6
        first_mtime = Path(before[0][1]).stat().st_mtime_ns

        server.start()
        with httpx.Client(base_url=server.url, headers=auth, timeout=30) as client:
            job = wait_for(client, accepted["status_url"], {}, lambda d: d["status"] in ("done", "failed"))
            replay = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k1"})
        assert job["status"] == "done", json.dumps(job)[:3000]
        assert replay.json()["id"] == accepted["id"]  # the idempotency record survived the crash too
        after = _recorded_assets(home)
        keys = [(a["sku"], a["format"], a["variant"]) for a in job["assets"]]
        assert len(after) == len(set(keys)) == len(keys) == job["progress"]["total"] == 6
        assert {row[0] for row in before} <= {row[0] for row in after}
        assert Path(before[0][1]).stat().st_mtime_ns == first_mtime  # a recorded asset is not remade
        images = sorted(p.name for p in (home / "jobs" / accepted["id"] / "out").rglob("*")
                        if p.suffix in (".png", ".jpg") and not p.name.startswith(".")
                        and not p.name.endswith(".plate.png"))  # the kept plates (adgen lora train --from-approved)
        assert len(images) == 6
    finally:
        server.stop()


def _children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def _running(pid: int) -> bool:
    try:  # a zombie (state Z) waiting for whoever adopted it is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _recorded_assets(home: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(service_db_path(home)) as conn:
        return conn.execute("SELECT id, image_path FROM assets ORDER BY position").fetchall()
