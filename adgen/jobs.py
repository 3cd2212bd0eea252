"""Jobs: a SQLite store written before work starts, and one worker process that runs them.

A job is one product list x formats x variants. Each asset is recorded after its files are
written, so a restart (even after SIGKILL) resumes with the assets still missing and never
makes one twice. The queue is the table itself: bounded by Limits.max_queued_jobs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import queue
import secrets
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from adgen.errors import AdgenError
from adgen.service_db import connect, init_db

log = logging.getLogger("adgen.jobs")
STATES = ("queued", "running", "done", "failed")
MAX_STARTS = 3  # a job that took the process down this many times is failed, not retried forever

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY, tenant TEXT NOT NULL, key_id TEXT NOT NULL, brand TEXT NOT NULL,
      request TEXT NOT NULL, body_sha256 TEXT NOT NULL, idempotency_key TEXT,
      callback_url TEXT, total INTEGER NOT NULL, status TEXT NOT NULL, starts INTEGER NOT NULL DEFAULT 0,
      error TEXT, error_field TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL,
      webhook_state TEXT, webhook_attempts INTEGER NOT NULL DEFAULT 0, webhook_outcome TEXT,
      UNIQUE (tenant, idempotency_key))""",
    """CREATE TABLE IF NOT EXISTS assets (
      id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), position INTEGER NOT NULL,
      sku TEXT NOT NULL, format TEXT NOT NULL, variant INTEGER NOT NULL, verdict TEXT NOT NULL,
      image_path TEXT NOT NULL, media_type TEXT NOT NULL, etag TEXT NOT NULL, report TEXT NOT NULL,
      seconds REAL NOT NULL, created_at REAL NOT NULL, UNIQUE (job_id, sku, format, variant))""",
    "CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at)",
)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body (answered with 409)."""


class QueueFull(Exception):
    """Too many jobs are waiting (answered with 503 and Retry-After)."""


@dataclass(frozen=True)
class Job:
    id: str
    tenant: str
    key_id: str            # the key that created it: its webhook secret signs the callback
    brand: str
    request: dict          # products (image paths server-side), formats, variants, seed
    callback_url: str | None
    total: int
    status: str
    error: str | None
    error_field: str | None
    created_at: float
    updated_at: float
    webhook_state: str | None
    webhook_attempts: int
    webhook_outcome: str | None
    starts: int

    def planned_assets(self) -> list[tuple[int, dict, str, int]]:
        """(position, product, format, variant) in the order they are made."""
        plan = [(p, f, v) for p in self.request["products"] for f in self.request["formats"]
                for v in range(1, self.request["variants"] + 1)]
        return [(i, *item) for i, item in enumerate(plan)]


@dataclass(frozen=True)
class Asset:
    id: str
    job_id: str
    sku: str
    format: str
    variant: int
    verdict: str
    image_path: str
    media_type: str
    etag: str
    report: dict
    seconds: float


class JobStore:
    """Every read and write of jobs and assets; each call is one short transaction."""

    def __init__(self, db: Path):
        self.db = db
        init_db(db, SCHEMA)

    def new_id(self) -> str:
        return "job_" + secrets.token_hex(10)

    def find_idempotent(self, tenant: str, idempotency_key: str, body_sha256: str) -> Job | None:
        """The job made earlier with this key and body; IdempotencyConflict for another body."""
        with connect(self.db, write=False) as conn:
            row = conn.execute("SELECT * FROM jobs WHERE tenant = ? AND idempotency_key = ?",
                               (tenant, idempotency_key)).fetchone()
        if row is None:
            return None
        if row["body_sha256"] != body_sha256:
            raise IdempotencyConflict(idempotency_key)
        return _job(row)

    def create(self, job_id: str, *, tenant: str, key_id: str, brand: str, request: dict, body_sha256: str,
               idempotency_key: str | None, callback_url: str | None, total: int, max_queued: int) -> tuple[Job, bool]:
        """Insert a queued job (committed before returning); (job, False) when the key raced us to it."""
        now = time.time()
        try:
            with connect(self.db) as conn:
                waiting = conn.execute("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]
                if waiting >= max_queued:
                    raise QueueFull(waiting)
                conn.execute(
                    "INSERT INTO jobs (id, tenant, key_id, brand, request, body_sha256, idempotency_key, callback_url,"
                    " total, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                    (job_id, tenant, key_id, brand, json.dumps(request), body_sha256, idempotency_key, callback_url,
                     total, now, now))
        except sqlite3.IntegrityError:
            existing = self.find_idempotent(tenant, idempotency_key or "", body_sha256)
            if existing is None:
                raise
            return existing, False
        return self.get(job_id), True

    def get(self, job_id: str, tenant: str | None = None) -> Job | None:
        """The job, or None when it does not exist or belongs to another tenant (the same answer)."""
        with connect(self.db, write=False) as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (tenant is not None and row["tenant"] != tenant):
            return None
        return _job(row)

    def job_with_assets(self, job_id: str, tenant: str) -> tuple[Job, list[Asset]] | None:
        """One read for a status poll: the tenant's job and its assets, or None."""
        with connect(self.db, write=False) as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ? AND tenant = ?", (job_id, tenant)).fetchone()
            rows = conn.execute("SELECT * FROM assets WHERE job_id = ? ORDER BY position", (job_id,)).fetchall()
        return (_job(row), [_asset(r) for r in rows]) if row else None

    def assets(self, job_id: str) -> list[Asset]:
        with connect(self.db, write=False) as conn:
            rows = conn.execute("SELECT * FROM assets WHERE job_id = ? ORDER BY position", (job_id,)).fetchall()
        return [_asset(row) for row in rows]

    def get_asset(self, asset_id: str, tenant: str) -> Asset | None:
        with connect(self.db, write=False) as conn:
            row = conn.execute("SELECT assets.* FROM assets JOIN jobs ON jobs.id = assets.job_id"
                               " WHERE assets.id = ? AND jobs.tenant = ?", (asset_id, tenant)).fetchone()
        return _asset(row) if row else None

    def next_job(self) -> Job | None:
        """The oldest unfinished job: a running one first (it was interrupted), then the queue."""
        with connect(self.db, write=False) as conn:
            row = conn.execute("SELECT * FROM jobs WHERE status IN ('running', 'queued')"
                               " ORDER BY status = 'running' DESC, created_at LIMIT 1").fetchone()
        return _job(row) if row else None

    def start(self, job_id: str) -> int:
        """Mark running and count the start; returns how many times it has been started."""
        with connect(self.db) as conn:
            conn.execute("UPDATE jobs SET status = 'running', starts = starts + 1, updated_at = ? WHERE id = ?",
                         (time.time(), job_id))
            return conn.execute("SELECT starts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]

    def requeue(self, job_id: str) -> None:
        with connect(self.db) as conn:
            conn.execute("UPDATE jobs SET status = 'queued', starts = starts - 1 WHERE id = ?", (job_id,))

    def record_asset(self, job_id: str, position: int, sku: str, format_id: str, variant: int, *, verdict: str,
                     image_path: Path, report: dict, seconds: float) -> Asset:
        """Record an asset whose files are already on disk; recording it twice keeps the first."""
        data = image_path.read_bytes()
        media_type = "image/jpeg" if image_path.suffix == ".jpg" else "image/png"
        asset_id = "ast_" + hashlib.sha256(f"{job_id}:{sku}:{format_id}:{variant}".encode()).hexdigest()[:20]
        with connect(self.db) as conn:
            conn.execute("INSERT OR IGNORE INTO assets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (asset_id, job_id, position, sku, format_id, variant, verdict, str(image_path), media_type,
                          hashlib.sha256(data).hexdigest()[:32], json.dumps(report, default=str), seconds, time.time()))
            conn.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (time.time(), job_id))
        return next(a for a in self.assets(job_id) if a.id == asset_id)

    def finish(self, job_id: str, status: str, error: str | None = None, error_field: str | None = None) -> None:
        with connect(self.db) as conn:
            conn.execute("UPDATE jobs SET status = ?, error = ?, error_field = ?, updated_at = ?,"
                         " webhook_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END WHERE id = ?",
                         (status, error, error_field, time.time(), job_id))

    def webhook_result(self, job_id: str, delivered: bool, attempts: int, outcome: str) -> None:
        with connect(self.db) as conn:
            conn.execute("UPDATE jobs SET webhook_state = ?, webhook_attempts = webhook_attempts + ?,"
                         " webhook_outcome = ? WHERE id = ?",
                         ("delivered" if delivered else "failed", attempts, outcome, job_id))

    def pending_webhooks(self) -> list[Job]:
        with connect(self.db, write=False) as conn:
            rows = conn.execute("SELECT * FROM jobs WHERE webhook_state = 'pending'").fetchall()
        return [_job(row) for row in rows]

    def counts_by_status(self) -> dict[str, int]:
        with connect(self.db, write=False) as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {state: 0 for state in STATES} | {row[0]: row[1] for row in rows}


def _job(row) -> Job:
    return Job(id=row["id"], tenant=row["tenant"], key_id=row["key_id"], brand=row["brand"], request=json.loads(row["request"]),
               callback_url=row["callback_url"], total=row["total"], status=row["status"], error=row["error"],
               error_field=row["error_field"], created_at=row["created_at"], updated_at=row["updated_at"],
               webhook_state=row["webhook_state"], webhook_attempts=row["webhook_attempts"],
               webhook_outcome=row["webhook_outcome"], starts=row["starts"])


def _asset(row) -> Asset:
    return Asset(id=row["id"], job_id=row["job_id"], sku=row["sku"], format=row["format"], variant=row["variant"],
                 verdict=row["verdict"], image_path=row["image_path"], media_type=row["media_type"], etag=row["etag"],
                 report=json.loads(row["report"]), seconds=row["seconds"])


class Worker:
    """Runs jobs in a child process: the pipeline's CPU and GIL stay out of the HTTP process.

    The child reports over a queue (model ready or not, asset seconds, job finished) and a
    listener thread here turns those into the callbacks. The child dies with the server
    (PR_SET_PDEATHSIG), so a SIGKILLed server never leaves a second worker behind.
    """

    def __init__(self, store: JobStore, *, jobs_dir: Path, model: str | None, steps: int | None,
                 on_finished: Callable[[str], None] = lambda job_id: None,
                 on_asset: Callable[[float], None] = lambda seconds: None):
        # spawn, not fork: the server has threads (and maybe torch) that a fork would copy mid-state.
        self._ctx = multiprocessing.get_context("spawn")
        self.store, self.jobs_dir, self.model, self.steps = store, jobs_dir, model, steps
        self.on_finished, self.on_asset = on_finished, on_asset
        self.ready = threading.Event()     # the model is loaded in the child
        self.load_error: str | None = None
        self._wake, self._stop = self._ctx.Event(), self._ctx.Event()
        self._events = self._ctx.Queue()
        self._process = None

    def start(self) -> None:
        self._start_process()
        threading.Thread(target=self._listen, name="adgen-worker-events", daemon=True).start()

    def _start_process(self) -> None:
        self._process = self._ctx.Process(
            target=work, name="adgen-worker", daemon=True,
            args=(self.store.db, self.jobs_dir, self.model, self.steps, self._wake, self._stop, self._events))
        self._process.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the child to stop after its current asset; the job resumes at the next start."""
        self._stop.set()
        self._wake.set()
        if self._process is not None and self._process.is_alive():
            self._process.join(timeout)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _listen(self) -> None:
        while True:
            try:
                kind, value = self._events.get(timeout=1.0)
            except queue.Empty:
                if self._stop.is_set():
                    return
                if not self.alive:  # it crashed (OOM, a native fault): its job resumes in a new one
                    log.error("worker process exited with %s; starting another", self._process.exitcode)
                    self.ready.clear()
                    self._start_process()
                continue
            if kind == "ready":
                self.ready.set()
            elif kind == "load_error":
                self.load_error = value
            elif kind == "asset":
                self.on_asset(value)
            elif kind == "finished":
                self.on_finished(value)


def work(db: Path, jobs_dir: Path, model: str | None, steps: int | None, wake, stop, events) -> None:
    """The worker process: load the model once, then run jobs oldest first until told to stop."""
    _die_with_parent()
    parent = os.getppid()
    runner = JobRunner(JobStore(db), jobs_dir=jobs_dir, model=model, steps=steps, stop=stop, emit=events.put)
    runner.load_model()
    while not stop.is_set() and os.getppid() == parent:
        job = runner.store.next_job()
        if job is None:
            wake.wait(timeout=1.0)
            wake.clear()
            continue
        runner.run_job(job)


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the server dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the getppid() check in the loop catches it between jobs


class JobRunner:
    """Makes a job's assets through pipeline.run(), one at a time, recording each."""

    def __init__(self, store: JobStore, *, jobs_dir: Path, model: str | None, steps: int | None, stop, emit):
        self.store, self.jobs_dir, self.model, self.steps = store, jobs_dir, model, steps
        self.stop, self.emit = stop, emit

    def load_model(self) -> None:
        from adgen.generation import load_pipeline
        from adgen.request import DEFAULT_MODEL

        try:
            load_pipeline(self.model or DEFAULT_MODEL)
            self.emit(("ready", None))
        except AdgenError as exc:  # /readyz says why; jobs will fail with the same message
            log.error("model not loaded: %s", exc)
            self.emit(("load_error", str(exc)))

    def run_job(self, job: Job) -> None:
        """Make every asset of the job not yet recorded; then mark it done or failed."""
        from adgen.brand import load_brand
        from adgen.pipeline import run
        from adgen.request import AssetRequest
        from adgen.spec import ProductSpec

        if self.store.start(job.id) > MAX_STARTS:
            self.store.finish(job.id, "failed", f"interrupted {MAX_STARTS} times; not retried again")
            return self.emit(("finished", job.id))
        done = {(a.sku, a.format, a.variant) for a in self.store.assets(job.id)}
        out_dir = self.jobs_dir / job.id / "out"
        try:
            kit = load_brand(job.brand)
            for position, product, format_id, variant in job.planned_assets():
                if (product["sku"], format_id, variant) in done or self.stop.is_set():
                    continue
                request = AssetRequest(product=ProductSpec.model_validate(product), brand=job.brand, format=format_id,
                                       variant=variant, seed=job.request["seed"], model=self.model, steps=self.steps)
                clock = time.perf_counter()
                result = run(request, out_dir, brand=kit)
                seconds = time.perf_counter() - clock
                self.store.record_asset(job.id, position, product["sku"], format_id, variant, verdict=result.verdict,
                                        image_path=result.files.image, report=result.report.as_dict(), seconds=seconds)
                self.emit(("asset", seconds))
        except AdgenError as exc:
            self.store.finish(job.id, "failed", exc.reason, exc.field)
            return self.emit(("finished", job.id))
        except Exception as exc:  # a bug must not wedge the queue: fail this job, keep serving
            log.exception("job %s failed", job.id)
            self.store.finish(job.id, "failed", f"internal error: {type(exc).__name__}")
            return self.emit(("finished", job.id))
        if self.stop.is_set():  # a clean shutdown mid-job is not a crash: do not count this start
            return self.store.requeue(job.id)
        self.store.finish(job.id, "done")
        self.emit(("finished", job.id))
