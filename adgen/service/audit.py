"""The audit log: append-only, per tenant; who generated, who decided, from which state to which.

Rows are written inside the transaction that makes the change they record (a job accepted, an
asset recorded, a review decided), so the log and the store cannot disagree after a crash.
SQLite triggers refuse every UPDATE and DELETE on the table, whoever opens the file: the log
is never rewritten, only read (export() as CSV or JSON).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, at REAL NOT NULL, event TEXT NOT NULL,
      actor_key TEXT NOT NULL, actor_tenant TEXT NOT NULL, brand TEXT NOT NULL, job_id TEXT NOT NULL,
      asset_id TEXT, digest TEXT, verdict TEXT, from_state TEXT, to_state TEXT, comment TEXT, reasons TEXT)""",
    "CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit_log (tenant, seq)",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
)
COLUMNS = ("seq", "at", "event", "actor_key", "actor_tenant", "brand", "job_id", "asset_id", "digest", "verdict",
           "from_state", "to_state", "comment", "reasons")
FORMATS = ("json", "csv", "text")
_DONE = {"approved": "approved", "changes_requested": "asked for changes to", "rejected": "rejected"}


def append(conn: sqlite3.Connection, *, tenant: str, event: str, actor_key: str, actor_tenant: str, brand: str,
           job_id: str, asset_id: str | None = None, digest: str | None = None, verdict: str | None = None,
           from_state: str | None = None, to_state: str | None = None, comment: str | None = None,
           reasons: tuple[str, ...] = ()) -> None:
    """Add one row, in the caller's transaction (conn is inside connect(write=True))."""
    conn.execute("INSERT INTO audit_log (tenant, at, event, actor_key, actor_tenant, brand, job_id, asset_id, digest,"
                 " verdict, from_state, to_state, comment, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (tenant, time.time(), event, actor_key, actor_tenant, brand, job_id, asset_id, digest, verdict,
                  from_state, to_state, comment, ",".join(reasons)))


def rows(conn: sqlite3.Connection, tenant: str, brands: tuple[str, ...] = ("*",)) -> list[dict]:
    """The tenant's log within these brands, oldest first, as plain dicts (`when`: ISO 8601 UTC of `at`).

    Each also says, where the store still knows, what the asset is (`product`: sku, format, variant)
    and the acting key's role (`actor_role`): read beside the log for its sentences, never written into it.
    """
    query, args = "SELECT * FROM audit_log WHERE tenant = ?", [tenant]
    if "*" not in brands:
        query += f" AND brand IN ({', '.join('?' * len(brands))})"
        args += list(brands)
    found = conn.execute(query + " ORDER BY seq", args).fetchall()
    products, roles = _products(conn, tenant), _roles(conn, tenant)
    return [{column: row[column] for column in COLUMNS}
            | {"when": _iso(row["at"]), "product": products.get(row["asset_id"]), "actor_role": roles.get(row["actor_key"])}
            for row in found]


def _products(conn: sqlite3.Connection, tenant: str) -> dict[str, str]:
    if not _has_table(conn, "assets"):
        return {}
    found = conn.execute("SELECT assets.id, sku, format, variant FROM assets JOIN jobs ON jobs.id = assets.job_id"
                         " WHERE jobs.tenant = ?", (tenant,)).fetchall()
    return {row[0]: f"{row[1]}, {row[2]}, variant {row[3]}" for row in found}


def _roles(conn: sqlite3.Connection, tenant: str) -> dict[str, str]:
    if not _has_table(conn, "api_keys") or "role" not in {r[1] for r in conn.execute("PRAGMA table_info(api_keys)")}:
        return {}
    return {row[0]: row[1] for row in conn.execute("SELECT id, role FROM api_keys WHERE name = ?", (tenant,))}


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def export(entries: list[dict], fmt: str) -> str:
    """The log as `json` (a list of objects), `csv` (a header row, then a line per entry) or `text` (a sentence each)."""
    if fmt == "json":
        return json.dumps(entries, indent=1)
    if fmt == "text":
        return "".join(f"{_sentence(entry)}\n" for entry in entries)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=("seq", "when", *COLUMNS[2:]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({name: _cell(value) for name, value in entry.items()} for entry in entries)
    return out.getvalue()


def _cell(value):
    """A reviewer's comment opened in a spreadsheet must not run as a formula (OWASP CSV injection): quote it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def _sentence(e: dict) -> str:
    """One entry as a brand manager reads it: when, who (role, key, tenant), what was done to which asset and file."""
    role = (e.get("actor_role") or "").capitalize()
    who = f"{role + ' key' if role else 'Key'} {e['actor_key']} ({e['actor_tenant']})"
    when = e["when"].replace("T", " ").replace("Z", " UTC")
    if e["event"] == "job.created":
        return f"{when}  {who} asked for job {e['job_id']} in brand {e['brand']}."
    asset = f"asset {e['asset_id']}" + (f" ({e['product']})" if e.get("product") else "")
    digest = f"file sha256 {e['digest'][:16]}" if e["digest"] else "no file digest"
    if e["event"] == "asset.generated":
        return (f"{when}  {asset[0].upper() + asset[1:]} was made for job {e['job_id']}: compliance {e['verdict']}, "
                f"{digest}. It waits for review.")
    if e["event"] == "asset.exported":
        return f"{when}  {who} took the approved export of {asset}: {e['comment']}, exported {digest}."
    said = f" Comment: \u201c{e['comment']}\u201d" if e["comment"] else ""
    from adgen.service.reviews import REASON_LABELS  # here: reviews imports this module

    reasons = [REASON_LABELS.get(code, code.replace("_", " ")) for code in e["reasons"].split(",") if code]
    why = f" Reasons: {', '.join(reasons)}." if reasons else ""
    return (f"{when}  {who} {_DONE.get(e['to_state'], e['to_state'])} {asset}, which was "
            f"{e['from_state'].replace('_', ' ')}: compliance {e['verdict']}, {digest}.{why}{said}")
