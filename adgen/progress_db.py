"""Batch progress in SQLite: one row per (row, format, variant), written before any work starts.

Only the batch's driver process writes. Each statement commits on its own (autocommit) and SQLite's
journal makes every commit all-or-nothing, so after a kill -9 the table says exactly which assets
were recorded; an asset written but not yet recorded is simply made again, to the same pixels.
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from adgen.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER NOT NULL,
    row INTEGER NOT NULL,
    format TEXT NOT NULL,
    variant INTEGER NOT NULL,
    sku TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'error')),
    verdict TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    report TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (row, format, variant)
);
"""


@dataclass(frozen=True)
class Item:
    """One planned asset (or one bad row: format '' and variant 0) and where it stands."""

    seq: int            # plan order: manifest order
    row: int
    format: str
    variant: int
    sku: str
    chunk: int          # the generation micro-batch it belongs to (fixed by the plan)
    status: str         # pending | done | error
    verdict: str = ""
    path: str = ""
    report: str = ""
    error: str = ""
    note: str = ""

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.row, self.format, self.variant)


COLUMNS = ", ".join(f.name for f in fields(Item))


class ProgressDB:
    """The progress table of one batch output folder."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def plan(self, items: list[Item], fingerprint: str, *, resume: bool) -> None:
        """Record every planned item as pending (or error) in one transaction; on resume keep what is there."""
        stored = self._meta("fingerprint")
        if resume and stored is not None and stored != fingerprint:
            raise InputError("--resume: this output folder holds a batch of a different catalogue or different "
                             "options (formats, variants, seed, model, steps, brand, map, batch size); "
                             "run without --resume to start over", field="--resume", value=str(self.path))
        with self._transaction():
            if not resume or stored is None:
                self._db.execute("DELETE FROM items")
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
            self._db.executemany(f"INSERT OR IGNORE INTO items ({COLUMNS}) VALUES ({', '.join('?' * len(fields(Item)))})",
                                 [astuple(item) for item in items])

    def items(self, status: str | None = None) -> list[Item]:
        query = f"SELECT {COLUMNS} FROM items" + (" WHERE status = ?" if status else "") + " ORDER BY seq"
        return [Item(*values) for values in self._db.execute(query, (status,) if status else ())]

    def mark_done(self, key: tuple[int, str, int], *, verdict: str, path: str, report: str) -> None:
        self._db.execute("UPDATE items SET status='done', verdict=?, path=?, report=?, error='' "
                         "WHERE row=? AND format=? AND variant=?", (verdict, path, report, *key))

    def mark_error(self, key: tuple[int, str, int], error: str) -> None:
        self._db.execute("UPDATE items SET status='error', error=? WHERE row=? AND format=? AND variant=?",
                         (error, *key))

    def close(self) -> None:
        self._db.close()

    def _meta(self, key: str) -> str | None:
        found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, *_):
                db.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Tx()
