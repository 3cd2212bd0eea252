"""The job store: SQLite, written before work starts; the queue is the table itself.

A job is one product list x formats x variants. Each asset is recorded after its files are
written, so a restart (even after SIGKILL) resumes with the assets still missing and never
makes one twice. The queue is bounded overall (Limits.max_queued_jobs) and per tenant
(Limits.max_queued_per_tenant), and served round-robin across tenants, so one tenant's
flood never makes another wait behind it. Accepting a job and recording an asset append to the
audit log (adgen.service.audit) in the same transaction; a recorded asset gets its review row
(adgen.service.reviews), pending.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from adgen.service import audit, reviews
from adgen.service_db import connect, init_db

STATES = ("queued", "running", "done", "failed")
MAX_STARTS = 3  # a job that took the process down this many times is failed, not retried forever

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY, tenant TEXT NOT NULL, key_id TEXT NOT NULL, brand TEXT NOT NULL,
      request TEXT NOT NULL, body_sha256 TEXT NOT NULL, idempotency_key TEXT,
      callback_url TEXT, total INTEGER NOT NULL, status TEXT NOT NULL, starts INTEGER NOT NULL DEFAULT 0,
      error TEXT, error_field TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL,
      webhook_state TEXT, webhook_attempts INTEGER NOT NULL DEFAULT 0, webhook_outcome TEXT,
      started_at REAL, UNIQUE (tenant, idempotency_key))""",
    """CREATE TABLE IF NOT EXISTS assets (
      id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), position INTEGER NOT NULL,
      sku TEXT NOT NULL, format TEXT NOT NULL, variant INTEGER NOT NULL, verdict TEXT NOT NULL,
      image_path TEXT NOT NULL, media_type TEXT NOT NULL, etag TEXT NOT NULL, report TEXT NOT NULL,
      seconds REAL NOT NULL, created_at REAL NOT NULL, plate_path TEXT, UNIQUE (job_id, sku, format, variant))""",
    "CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_by_tenant ON jobs (tenant, status)",
)
# An asset with its review state (the row is made with the asset; LEFT JOIN for a store mid-upgrade).
ASSET_COLUMNS = ("assets.*, COALESCE(reviews.state, 'pending') AS review_state FROM assets"
                 " LEFT JOIN reviews ON reviews.asset_id = assets.id")
# Columns added after the first release: (column, declaration) added to an older file on open.
ADDED_COLUMNS = (("jobs", "started_at", "REAL"), ("jobs", "progress", "INTEGER"), ("jobs", "result", "TEXT"),
                 ("assets", "plate_path", "TEXT"))


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body (answered with 409)."""


class QueueFull(Exception):
    """Too many jobs are waiting overall (503) or for this tenant (429); both with Retry-After."""

    def __init__(self, waiting: int, *, tenant: bool):
        super().__init__(waiting)
        self.waiting, self.tenant = waiting, tenant


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
    progress: int | None = None   # an adapter training job: phases done (adgen.service.adapter_jobs)
    result: dict | None = None    # an adapter training job: the version it registered, with its figures

    def planned_assets(self, products: list[dict] | None = None) -> list[tuple[int, dict, str, int]]:
        """(position, product, format, variant) in the order they are made (products: as fetched)."""
        plan = [(p, f, v) for p in (products or self.request["products"]) for f in self.request["formats"]
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
    review_state: str = "pending"  # adgen.service.reviews
    plate_path: str | None = None  # the generated plate (+ .txt: its prompt), kept for adapter training


class JobStore:
    """Every read and write of jobs and assets; each call is one short transaction."""

    def __init__(self, db: Path):
        self.db = db
        init_db(db, SCHEMA + reviews.SCHEMA + audit.SCHEMA)
        with connect(db) as conn:
            for table, column, declaration in ADDED_COLUMNS:
                present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            # Assets recorded before reviews existed are pending review (their digest: the etag, 128 bits).
            conn.execute("INSERT OR IGNORE INTO reviews (asset_id, tenant, brand, job_id, generated_by, verdict, sha256,"
                         " state, version, reasons, created_at) SELECT assets.id, jobs.tenant, jobs.brand, jobs.id,"
                         " jobs.key_id, assets.verdict, assets.etag, 'pending', 1, '', assets.created_at FROM assets"
                         " JOIN jobs ON jobs.id = assets.job_id WHERE assets.id NOT IN (SELECT asset_id FROM reviews)")

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

    def waiting(self, tenant: str) -> tuple[int, int]:
        """(jobs waiting or running overall, of them this tenant's): the cheap check before any decoding."""
        with connect(self.db, write=False) as conn:
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(tenant = ?), 0) FROM jobs"
                               " WHERE status IN ('queued', 'running')", (tenant,)).fetchone()
        return row[0], row[1]

    def create(self, job_id: str, *, tenant: str, key_id: str, brand: str, request: dict, body_sha256: str,
               idempotency_key: str | None, callback_url: str | None, total: int, max_queued: int,
               max_queued_per_tenant: int, status: str = "queued") -> tuple[Job, bool]:
        """Insert a queued job (committed before returning); (job, False) when the key raced us to it.

        status "done" records work made elsewhere (`adgen batch --require-approval`): the worker never takes it.

        The job is read back inside the inserting transaction, never through a cached reader.
        """
        now = time.time()
        try:
            with connect(self.db) as conn:
                overall, mine = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(tenant = ?), 0) FROM jobs WHERE status IN ('queued', 'running')",
                    (tenant,)).fetchone()
                if mine >= max_queued_per_tenant:
                    raise QueueFull(mine, tenant=True)
                if overall >= max_queued:
                    raise QueueFull(overall, tenant=False)
                conn.execute(
                    "INSERT INTO jobs (id, tenant, key_id, brand, request, body_sha256, idempotency_key, callback_url,"
                    " total, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job_id, tenant, key_id, brand, json.dumps(request), body_sha256, idempotency_key, callback_url,
                     total, status, now, now))
                audit.append(conn, tenant=tenant, event="job.created", actor_key=key_id, actor_tenant=tenant,
                             brand=brand, job_id=job_id)
                row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        except sqlite3.IntegrityError:
            existing = self.find_idempotent(tenant, idempotency_key or "", body_sha256)
            if existing is None:
                raise
            return existing, False
        return _job(row), True

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
            rows = conn.execute(f"SELECT {ASSET_COLUMNS} WHERE assets.job_id = ? ORDER BY position", (job_id,)).fetchall()
        return (_job(row), [_asset(r) for r in rows]) if row else None

    def assets(self, job_id: str) -> list[Asset]:
        with connect(self.db, write=False) as conn:
            rows = conn.execute(f"SELECT {ASSET_COLUMNS} WHERE assets.job_id = ? ORDER BY position", (job_id,)).fetchall()
        return [_asset(row) for row in rows]

    def get_asset(self, asset_id: str, tenant: str) -> Asset | None:
        with connect(self.db, write=False) as conn:
            row = conn.execute(f"SELECT {ASSET_COLUMNS} JOIN jobs ON jobs.id = assets.job_id"
                               " WHERE assets.id = ? AND jobs.tenant = ?", (asset_id, tenant)).fetchone()
        return _asset(row) if row else None

    def next_job(self) -> Job | None:
        """An interrupted (running) job first; else the oldest queued job of the tenant served longest ago.

        Round-robin across tenants: a tenant with 20 jobs queued gets one turn, then the next tenant's
        oldest job goes, so a second tenant waits for at most one job per other tenant, not for a flood.
        """
        with connect(self.db, write=False) as conn:
            row = conn.execute("SELECT * FROM jobs WHERE status = 'running' ORDER BY created_at LIMIT 1").fetchone()
            if row is None:
                row = conn.execute(
                    "SELECT jobs.* FROM jobs LEFT JOIN (SELECT tenant, MAX(started_at) AS served FROM jobs"
                    " GROUP BY tenant) AS turns ON turns.tenant = jobs.tenant WHERE jobs.status = 'queued'"
                    " ORDER BY COALESCE(turns.served, 0), jobs.created_at LIMIT 1").fetchone()
        return _job(row) if row else None

    def start(self, job_id: str) -> int:
        """Mark running and count the start; returns how many times it has been started."""
        with connect(self.db) as conn:
            now = time.time()
            conn.execute("UPDATE jobs SET status = 'running', starts = starts + 1, started_at = ?, updated_at = ?"
                         " WHERE id = ?", (now, now, job_id))
            return conn.execute("SELECT starts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]

    def requeue(self, job_id: str) -> None:
        """Back to the queue without counting the start: a clean stop is not a crash."""
        with connect(self.db) as conn:
            conn.execute("UPDATE jobs SET status = 'queued', starts = MAX(starts - 1, 0) WHERE id = ?"
                         " AND status = 'running'", (job_id,))

    def requeue_running(self) -> list[str]:
        """Requeue every running job (the worker was stopped mid-asset by a deploy); returns their ids."""
        with connect(self.db) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM jobs WHERE status = 'running'")]
            conn.execute("UPDATE jobs SET status = 'queued', starts = MAX(starts - 1, 0) WHERE status = 'running'")
        return ids

    def record_asset(self, job_id: str, position: int, sku: str, format_id: str, variant: int, *, verdict: str,
                     image_path: Path, report: dict, seconds: float, plate_path: Path | None = None) -> Asset:
        """Record an asset whose files are already on disk; recording it twice keeps the first."""
        digest = hashlib.sha256(image_path.read_bytes()).hexdigest()
        media_type = "image/jpeg" if image_path.suffix == ".jpg" else "image/png"
        asset_id = "ast_" + hashlib.sha256(f"{job_id}:{sku}:{format_id}:{variant}".encode()).hexdigest()[:20]
        with connect(self.db) as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO assets (id, job_id, position, sku, format, variant, verdict, image_path,"
                " media_type, etag, report, seconds, created_at, plate_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?, ?)",
                (asset_id, job_id, position, sku, format_id, variant, verdict, str(image_path), media_type,
                 digest[:32], json.dumps(report, default=str), seconds, time.time(),
                 str(plate_path) if plate_path else None)).rowcount
            if inserted:
                reviews.add_pending(conn, asset_id=asset_id, job_id=job_id, verdict=verdict, sha256=digest)
            conn.execute("UPDATE jobs SET updated_at = ? WHERE id = ?", (time.time(), job_id))
            row = conn.execute(f"SELECT {ASSET_COLUMNS} WHERE assets.id = ?", (asset_id,)).fetchone()
        return _asset(row)

    def finish(self, job_id: str, status: str, error: str | None = None, error_field: str | None = None,
               result: dict | None = None) -> None:
        with connect(self.db) as conn:
            conn.execute("UPDATE jobs SET status = ?, error = ?, error_field = ?, updated_at = ?, result = ?,"
                         " webhook_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END WHERE id = ?",
                         (status, error, error_field, time.time(), json.dumps(result) if result else None, job_id))

    def set_progress(self, job_id: str, done: int) -> None:
        """An adapter training job's phases done (asset jobs count their recorded assets instead)."""
        with connect(self.db) as conn:
            conn.execute("UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ?", (done, time.time(), job_id))

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
               webhook_outcome=row["webhook_outcome"], starts=row["starts"], progress=row["progress"],
               result=json.loads(row["result"]) if row["result"] else None)


def _asset(row) -> Asset:
    return Asset(id=row["id"], job_id=row["job_id"], sku=row["sku"], format=row["format"], variant=row["variant"],
                 verdict=row["verdict"], image_path=row["image_path"], media_type=row["media_type"], etag=row["etag"],
                 report=json.loads(row["report"]), seconds=row["seconds"], review_state=row["review_state"],
                 plate_path=row["plate_path"])
