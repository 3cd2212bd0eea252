"""Review and approval: every asset is `pending` until a reviewer approves, requests changes or rejects it.

A review row is made with its asset (JobStore.record_asset, same transaction). decide() is the
one way a state changes, by the rules of check() and the brand's ReviewPolicy (brand.yaml
`review:`), with optimistic locking: the caller names the state (or version) it saw, and a
decision made on a stale view is a ReviewConflict naming the current state. Deciding the same
thing again with the same key is answered with the earlier decision (idempotent retries). Each
decision is appended to the audit log, and its asset.reviewed callback queued, in the
transaction that makes it.

    pending -> approved | changes_requested | rejected
    changes_requested -> approved | rejected
    approved -> rejected          (an approval withdrawn)
    rejected: final; a rejected asset is never served as approved.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from adgen.errors import InputError
from adgen.service import audit
from adgen.service_db import connect, init_db

STATES = ("pending", "approved", "changes_requested", "rejected")
DECISIONS = ("approved", "changes_requested", "rejected")
REASONS = ("off_brand_colour", "product_looks_wrong", "copy", "legal", "other")
REASON_LABELS = {"off_brand_colour": "off-brand colour", "product_looks_wrong": "product looks wrong", "copy": "copy",
                 "legal": "legal", "other": "other"}  # as people read them (the app, the audit's sentences)
NEXT = {"pending": DECISIONS, "changes_requested": ("approved", "rejected"), "approved": ("rejected",),
        "rejected": ()}
MAX_COMMENT = 2000

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS reviews (
      asset_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, brand TEXT NOT NULL, job_id TEXT NOT NULL,
      generated_by TEXT NOT NULL, verdict TEXT NOT NULL, sha256 TEXT NOT NULL, state TEXT NOT NULL,
      version INTEGER NOT NULL, reviewer_key TEXT, reviewer_tenant TEXT, comment TEXT, reasons TEXT NOT NULL,
      decided_at REAL, created_at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS reviews_by_tenant ON reviews (tenant, state, brand)",
    # One asset.reviewed callback per decision on a job with a callback_url: written with the decision,
    # so a restart before it was delivered sends it then (JobStore.pending_webhooks does the same for jobs).
    """CREATE TABLE IF NOT EXISTS review_webhooks (
      asset_id TEXT NOT NULL, version INTEGER NOT NULL, job_id TEXT NOT NULL, payload TEXT NOT NULL,
      state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, outcome TEXT, PRIMARY KEY (asset_id, version))""",
)


@dataclass(frozen=True)
class Review:
    asset_id: str
    job_id: str
    tenant: str
    brand: str
    generated_by: str          # the key id that created the job
    verdict: str               # the compliance verdict the reviewer decides from
    sha256: str                # the image file's digest
    state: str
    version: int               # 1 when pending; +1 per decision
    reviewer_key: str | None
    reviewer_tenant: str | None
    comment: str | None
    reasons: tuple[str, ...]
    decided_at: float | None

    @property
    def etag(self) -> str:
        return f'"r{self.version}"'


@dataclass(frozen=True)
class Decision:
    """What a reviewer asks for; expected_state or expected_version is the view it was made on."""

    decision: str
    comment: str | None = None
    reasons: tuple[str, ...] = ()
    expected_state: str | None = None
    expected_version: int | None = None


class ReviewConflict(Exception):
    """The asset is not in the state the decision was made on, or cannot move to it (HTTP 409)."""

    def __init__(self, message: str, current: Review):
        super().__init__(message)
        self.message, self.current = message, current


class ReviewForbidden(Exception):
    """This key may not make this decision: its role, its brands, or four-eyes (HTTP 403)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def check(review: Review, decision: Decision, key, policy) -> None:
    """Refuse a decision the key, the state machine or the brand's policy does not allow; None when allowed."""
    if not key.may_decide:
        raise ReviewForbidden("role", f"a {key.role} key cannot decide on assets; a reviewer or admin key can")
    if not key.may_use(review.brand):
        raise ReviewForbidden("forbidden", "this API key is not scoped to that brand")
    if decision.expected_state is not None and decision.expected_state != review.state:
        raise ReviewConflict(f"the asset is {review.state}, not {decision.expected_state}", review)
    if decision.expected_version is not None and decision.expected_version != review.version:
        raise ReviewConflict(f"the review is at version {review.version}, not {decision.expected_version}", review)
    if decision.decision not in NEXT[review.state]:
        raise ReviewConflict(f"the asset is {review.state}; it cannot become {decision.decision}", review)
    if decision.decision == "approved":
        if policy.four_eyes and review.generated_by == key.id:
            raise ReviewForbidden("four_eyes", "the key that generated this asset cannot approve it "
                                               "(brand review.four_eyes); another reviewer must")
        if review.verdict == "fail" and not policy.approve_fail:
            raise InputError("an asset whose compliance verdict is fail cannot be approved (brand review.approve_fail)",
                             field="decision", value=decision.decision)
        if review.verdict == "warn" and policy.warn_needs_comment and not (decision.comment or "").strip():
            raise InputError("approving an asset with warnings needs a comment saying why they are acceptable",
                             field="comment")
    elif not decision.reasons:
        raise InputError(f"say why: give at least one reason ({', '.join(REASONS)})", field="reasons")


def validate(decision: Decision) -> Decision:
    """The decision's own fields (before any state is read): known decision, reasons, a bounded comment."""
    if decision.decision not in DECISIONS:
        raise InputError(f"decision must be one of {', '.join(DECISIONS)}", field="decision", value=decision.decision)
    for reason in decision.reasons:
        if reason not in REASONS:
            raise InputError(f"reasons must be among {', '.join(REASONS)}", field="reasons", value=reason)
    if decision.expected_state is not None and decision.expected_state not in STATES:
        raise InputError(f"expected_state must be one of {', '.join(STATES)}", field="expected_state",
                         value=decision.expected_state)
    if decision.comment is not None and len(decision.comment) > MAX_COMMENT:
        raise InputError(f"comment is longer than {MAX_COMMENT} characters", field="comment")
    return decision


def brand_policy(brand_id: str):
    """The brand's ReviewPolicy (brand.yaml `review:`); the strict defaults for a kit no longer there."""
    from adgen.brand import ReviewPolicy, load_brand
    from adgen.errors import AdgenError

    try:
        return load_brand(brand_id).review
    except AdgenError:
        return ReviewPolicy()


def approved_export(asset, review: Review, signer) -> Path:
    """The asset's file re-signed with its approval in the C2PA manifest; made once per approval, then reused.

    The assertion says who approved, when, on which compliance results; the export's own
    manifest stays inside as the parent ingredient (adgen.provenance.sign_approval).
    """
    from adgen.provenance import sign_approval
    from adgen.settings import write_private

    source = Path(asset.image_path)
    target = source.with_name(f"{source.stem}.approved-r{review.version}{source.suffix}")
    if target.is_file():
        return target
    approval = {"state": review.state, "asset_id": review.asset_id, "review_version": review.version,
                "reviewer": {"key_id": review.reviewer_key, "tenant": review.reviewer_tenant},
                "approved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(review.decided_at)),
                "comment": review.comment, "generated_by": review.generated_by, "verdict": review.verdict,
                "original_sha256": review.sha256,
                "rules": [{"rule": f.get("rule"), "status": f.get("status")} for f in asset.report.get("findings", [])]}
    data = sign_approval(source.read_bytes(), "jpeg" if asset.media_type == "image/jpeg" else "png", approval,
                         signer, title=f"{asset.sku}-{asset.format}-v{asset.variant}{source.suffix}")
    write_private(target, data)
    return target


def add_pending(conn: sqlite3.Connection, *, asset_id: str, job_id: str, verdict: str, sha256: str) -> None:
    """In the asset's recording transaction: its review row (pending) and the audit entry; once only."""
    job = conn.execute("SELECT tenant, brand, key_id FROM jobs WHERE id = ?", (job_id,)).fetchone()
    inserted = conn.execute(
        "INSERT OR IGNORE INTO reviews (asset_id, tenant, brand, job_id, generated_by, verdict, sha256, state,"
        " version, reasons, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 1, '', ?)",
        (asset_id, job["tenant"], job["brand"], job_id, job["key_id"], verdict, sha256, time.time())).rowcount
    if inserted:
        audit.append(conn, tenant=job["tenant"], event="asset.generated", actor_key=job["key_id"],
                     actor_tenant=job["tenant"], brand=job["brand"], job_id=job_id, asset_id=asset_id, digest=sha256,
                     verdict=verdict, to_state="pending")


class ReviewStore:
    """Reads and decisions on review rows, and the audit log; each call is one short transaction."""

    def __init__(self, db: Path):
        self.db = db
        init_db(db, SCHEMA + audit.SCHEMA)

    def get(self, asset_id: str, tenant: str) -> Review | None:
        """The asset's review, or None when it does not exist or belongs to another tenant (the same answer)."""
        with connect(self.db, write=False) as conn:
            row = conn.execute("SELECT * FROM reviews WHERE asset_id = ? AND tenant = ?", (asset_id, tenant)).fetchone()
        return _review(row) if row else None

    def decide(self, asset_id: str, key, decision: Decision, policy_for: Callable[[str], object] = brand_policy
               ) -> tuple[Review, bool] | None:
        """Apply the decision: (the review now, replayed); None for no such asset of this tenant.

        Raises ReviewConflict, ReviewForbidden or InputError (see check()). The state is read and
        written in one write transaction, so of two reviewers deciding at once one wins and the
        other is told the state the first one left.
        """
        validate(decision)
        with connect(self.db) as conn:
            row = conn.execute("SELECT * FROM reviews WHERE asset_id = ? AND tenant = ?",
                               (asset_id, key.tenant)).fetchone()
            if row is None:
                return None
            review = _review(row)
            if review.state == decision.decision and review.reviewer_key == key.id and key.may_use(review.brand):
                return review, True  # a retry of a decision already made: the same answer
            check(review, decision, key, policy_for(review.brand))
            now = time.time()
            comment = (decision.comment or "").strip() or None
            conn.execute("UPDATE reviews SET state = ?, version = version + 1, reviewer_key = ?, reviewer_tenant = ?,"
                         " comment = ?, reasons = ?, decided_at = ? WHERE asset_id = ? AND version = ?",
                         (decision.decision, key.id, key.tenant, comment, json.dumps(list(decision.reasons)), now,
                          asset_id, review.version))
            audit.append(conn, tenant=review.tenant, event="asset.reviewed", actor_key=key.id, actor_tenant=key.tenant,
                         brand=review.brand, job_id=review.job_id, asset_id=asset_id, digest=review.sha256,
                         verdict=review.verdict, from_state=review.state, to_state=decision.decision,
                         comment=comment, reasons=decision.reasons)
            updated = _review(conn.execute("SELECT * FROM reviews WHERE asset_id = ?", (asset_id,)).fetchone())
            _queue_webhook(conn, updated)
        return updated, False

    def pending_webhooks(self) -> list[dict]:
        """asset.reviewed callbacks not yet delivered: asset_id, version, callback_url, key_id, payload."""
        with connect(self.db, write=False) as conn:
            rows = conn.execute("SELECT w.asset_id, w.version, w.payload, jobs.callback_url, jobs.key_id"
                                " FROM review_webhooks AS w JOIN jobs ON jobs.id = w.job_id"
                                " WHERE w.state = 'pending' ORDER BY w.rowid").fetchall()
        return [dict(row) | {"payload": json.loads(row["payload"])} for row in rows]

    def webhook_result(self, asset_id: str, version: int, delivered: bool, attempts: int, outcome: str) -> None:
        with connect(self.db) as conn:
            conn.execute("UPDATE review_webhooks SET state = ?, attempts = attempts + ?, outcome = ?"
                         " WHERE asset_id = ? AND version = ?",
                         ("delivered" if delivered else "failed", attempts, outcome, asset_id, version))

    def list(self, tenant: str, *, state: str | None = None, brand: str | None = None,
             brands: tuple[str, ...] = ("*",), limit: int = 500) -> list[Review]:
        """The tenant's reviews, oldest first, within the key's brands; filtered by state and brand."""
        query, args = "SELECT * FROM reviews WHERE tenant = ?", [tenant]
        if state:
            query, args = query + " AND state = ?", [*args, state]
        if brand:
            query, args = query + " AND brand = ?", [*args, brand]
        if "*" not in brands:
            query += f" AND brand IN ({', '.join('?' * len(brands))})"
            args += list(brands)
        with connect(self.db, write=False) as conn:
            rows = conn.execute(query + " ORDER BY created_at, asset_id LIMIT ?", (*args, limit)).fetchall()
        return [_review(row) for row in rows]

    def record_export(self, review: Review, key, digest: str) -> None:
        """Audit that this key took the approved export (digest: its SHA-256), once per key and export."""
        with connect(self.db, write=False) as conn:
            if conn.execute("SELECT 1 FROM audit_log WHERE tenant = ? AND event = 'asset.exported' AND asset_id = ?"
                            " AND actor_key = ? AND digest = ?", (review.tenant, review.asset_id, key.id, digest)
                            ).fetchone():
                return  # the common case, a repeat download, costs no write
        with connect(self.db) as conn:
            if not conn.execute("SELECT 1 FROM audit_log WHERE tenant = ? AND event = 'asset.exported'"
                                " AND asset_id = ? AND actor_key = ? AND digest = ?",
                                (review.tenant, review.asset_id, key.id, digest)).fetchone():
                audit.append(conn, tenant=review.tenant, event="asset.exported", actor_key=key.id,
                             actor_tenant=key.tenant, brand=review.brand, job_id=review.job_id,
                             asset_id=review.asset_id, digest=digest, verdict=review.verdict, from_state=review.state,
                             to_state=review.state,
                             comment=f"approved by key {review.reviewer_key} in review version {review.version}")

    def counts_by_state(self) -> dict[str, int]:
        """Assets per review state over every tenant (for /metrics: no tenant data)."""
        with connect(self.db, write=False) as conn:
            rows = conn.execute("SELECT state, COUNT(*) FROM reviews GROUP BY state").fetchall()
        return {state: 0 for state in STATES} | {row[0]: row[1] for row in rows}

    def audit(self, tenant: str, brands: tuple[str, ...] = ("*",)) -> list[dict]:
        with connect(self.db, write=False) as conn:
            return audit.rows(conn, tenant, brands)


def _queue_webhook(conn: sqlite3.Connection, review: Review) -> None:
    """In the decision's transaction: its callback, when the job has a callback_url."""
    from adgen.service.bodies import review_document

    job = conn.execute("SELECT callback_url FROM jobs WHERE id = ?", (review.job_id,)).fetchone()
    if job is not None and job["callback_url"]:
        payload = {"type": "asset.reviewed", "review": review_document(review).model_dump(mode="json")}
        conn.execute("INSERT OR IGNORE INTO review_webhooks (asset_id, version, job_id, payload, state)"
                     " VALUES (?, ?, ?, ?, 'pending')", (review.asset_id, review.version, review.job_id,
                                                         json.dumps(payload)))


def _review(row) -> Review:
    reasons = row["reasons"]
    return Review(asset_id=row["asset_id"], job_id=row["job_id"], tenant=row["tenant"], brand=row["brand"],
                  generated_by=row["generated_by"], verdict=row["verdict"], sha256=row["sha256"], state=row["state"],
                  version=row["version"], reviewer_key=row["reviewer_key"], reviewer_tenant=row["reviewer_tenant"],
                  comment=row["comment"], reasons=tuple(json.loads(reasons)) if reasons else (),
                  decided_at=row["decided_at"])
