"""The service's SQLite file under ADGEN_HOME: one place that opens it, the same way every time."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from adgen.settings import adgen_home


def service_db_path(home: Path | None = None) -> Path:
    return (home or adgen_home()) / "service.sqlite3"


def init_db(path: Path, statements: tuple[str, ...]) -> None:
    """Create tables; WAL (persistent in the file) lets status polls read while the worker writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


_readers = threading.local()


@contextmanager
def connect(path: Path, *, write: bool = True):
    """A short-lived connection in one transaction; commits on success.

    Writers take the lock up front (BEGIN IMMEDIATE) so two never deadlock upgrading a read lock.
    Readers reuse one connection per thread: opening one costs more than a status poll's queries.
    """
    if not write:
        yield from _read(path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)  # explicit BEGIN below
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA synchronous=FULL")  # a 202 promises the job survives a power cut
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


def _read(path: Path):
    """One read transaction on this thread's cached connection to path (a consistent snapshot)."""
    cache = _readers.__dict__.setdefault("connections", {})
    conn = cache.get(path)
    if conn is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = cache[path] = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")
