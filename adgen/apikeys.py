"""API keys: scoped to brands, shown once, stored only as a SHA-256 hash under ADGEN_HOME.

A key reads `adg_<key id>_<secret>`; the id finds the row, the hash of the whole key is
compared in constant time. Keys are 32 random bytes, so a fast hash is enough (no
password stretching needed). Each key also gets a webhook secret that signs its callbacks.

Each key has a role: `creator` (makes jobs), `reviewer` (also decides on assets) or `admin`
(everything a reviewer may). Keys made before roles existed are creators.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from adgen.errors import InputError, NotFoundError
from adgen.service_db import connect, init_db, service_db_path

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, brands TEXT NOT NULL, key_sha256 TEXT NOT NULL,
  webhook_secret TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL,
  role TEXT NOT NULL DEFAULT 'creator'
)"""
ROLES = ("creator", "reviewer", "admin")
# A hash of nothing, compared when the id is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A key's record. `tenant` owns jobs: keys created with the same name see the same jobs."""

    id: str
    name: str
    brands: tuple[str, ...]
    webhook_secret: str
    created_at: float
    revoked_at: float | None
    role: str = "creator"

    @property
    def tenant(self) -> str:
        return self.name

    def may_use(self, brand: str) -> bool:
        return "*" in self.brands or brand in self.brands

    @property
    def may_decide(self) -> bool:
        """Reviewers and admins approve, request changes and reject; creators do not."""
        return self.role in ("reviewer", "admin")


def create_key(brands: list[str], name: str | None = None, *, role: str = "creator",
               db: Path | None = None) -> tuple[ApiKey, str]:
    """Store a new key's hash; return the record and the plaintext key (shown once, never stored)."""
    from adgen.brand import BRAND_ID_PATTERN

    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}", field="role", value=role)
    brands = [b.strip() for b in brands if b.strip()]
    if not brands:
        raise InputError("give at least one brand id (or '*')", field="brands")
    for brand in brands:
        if brand != "*" and not BRAND_ID_PATTERN.match(brand):
            raise InputError("not a brand id", field="brands", value=brand)
    key_id = secrets.token_hex(6)
    plaintext = f"adg_{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(id=key_id, name=name or key_id, brands=tuple(brands),
                    webhook_secret="whsec_" + secrets.token_urlsafe(32), created_at=time.time(), revoked_at=None,
                    role=role)
    db = db or service_db_path()
    ensure_schema(db)
    with connect(db) as conn:
        conn.execute("INSERT INTO api_keys (id, name, brands, key_sha256, webhook_secret, created_at, role)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (record.id, record.name, json.dumps(record.brands), _hash(plaintext),
                      record.webhook_secret, record.created_at, record.role))
    return record, plaintext


def ensure_schema(db: Path) -> None:
    """Create the table, and add the columns a file from an older release lacks (role: creator)."""
    init_db(db, (SCHEMA,))
    with connect(db) as conn:
        present = {row["name"] for row in conn.execute("PRAGMA table_info(api_keys)")}
        if "role" not in present:
            conn.execute("ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'creator'")


def list_keys(*, db: Path | None = None) -> list[ApiKey]:
    db = db or service_db_path()
    ensure_schema(db)  # the same file, opened the same way as the service opens it (WAL, 0600)
    with connect(db, write=False) as conn:
        return [_record(row) for row in conn.execute("SELECT * FROM api_keys ORDER BY created_at")]


def revoke_key(key_id: str, *, db: Path | None = None) -> ApiKey:
    db = db or service_db_path()
    ensure_schema(db)
    with connect(db) as conn:
        updated = conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                               (time.time(), key_id)).rowcount
        row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
    if row is None:
        raise NotFoundError("no such key", field="key_id", value=key_id)
    if not updated:
        raise InputError("key is already revoked", field="key_id", value=key_id)
    return _record(row)


def get_key(key_id: str, *, db: Path | None = None) -> ApiKey | None:
    with connect(db or service_db_path(), write=False) as conn:
        row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
    return _record(row) if row else None


def authenticate(plaintext: str, *, db: Path | None = None) -> ApiKey | None:
    """The live key this plaintext is, or None; the hash comparison is constant-time."""
    parts = plaintext.split("_", 2)
    key_id = parts[1] if len(parts) == 3 and parts[0] == "adg" else ""
    with connect(db or service_db_path(), write=False) as conn:
        try:
            row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        except sqlite3.OperationalError:  # no key was ever created
            row = None
    matches = hmac.compare_digest(_hash(plaintext), row["key_sha256"] if row else _DUMMY_HASH)
    if row is None or not matches or row["revoked_at"] is not None:
        return None
    return _record(row)


class KeyCache:
    """authenticate() with the answer kept a few seconds: status polls do not each read SQLite.

    Cached by the key's hash (a hit means the caller already holds the key); a revocation
    takes effect within ttl_s.
    """

    def __init__(self, db: Path, ttl_s: float = 5.0, clock=time.monotonic):
        self.db, self.ttl_s, self.clock = db, ttl_s, clock
        self._entries: dict[str, tuple[ApiKey | None, float]] = {}

    def authenticate(self, plaintext: str) -> ApiKey | None:
        digest = _hash(plaintext)
        hit = self._entries.get(digest)
        if hit and hit[1] > self.clock():
            return hit[0]
        key = authenticate(plaintext, db=self.db)
        if key is not None:  # misses are not cached: guessing must not fill memory
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (key, self.clock() + self.ttl_s)
        return key


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _record(row) -> ApiKey:
    return ApiKey(id=row["id"], name=row["name"], brands=tuple(json.loads(row["brands"])),
                  webhook_secret=row["webhook_secret"], created_at=row["created_at"], revoked_at=row["revoked_at"],
                  role=row["role"] if "role" in row.keys() else "creator")  # a file not yet migrated
