"""The service's SQLite file under ADGEN_HOME: one place that opens it, the same way every time.

The file is shared with whoever else opens it (`adgen keys` from a shell, a backup, a person
with the sqlite3 shell), and SQLite cannot protect a process from all of them: a tool whose
locks do not reach ours (another container on the same volume, a network file system) takes
itself for the last user, checkpoints and deletes the `-wal`/`-shm` files, and a process still
holding them mmapped then reads a WAL that no longer exists ("disk I/O error", or worse, writes
frames at offsets from a stale index). So each process here watches the three files: when one
was removed or replaced, or SQLite reports the store damaged, it stops handing out the
connections it holds, waits for those in use to come back, closes them all, and opens fresh
ones (SQLite shares one WAL index per file among a process's connections, so one fresh
connection beside a stale one would still use the stale index). What a transaction already
under way commits after the files vanished went to the removed WAL: no process can guard
files whose locks it never sees; every transaction after that sees the change and reopens.

Journal mode: WAL, recorded in the file itself. adgen never relies on the `-wal`/`-shm` files
existing; Python has no call for SQLITE_FCNTL_PERSIST_WAL, and keeping them would not stop an
outside tool from deleting them anyway. Readers open the file read-only: a read-only
connection never checkpoints or deletes the WAL when it closes, so closing a stale one cannot
copy old frames over the database or delete another process's new WAL.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from adgen.settings import adgen_home, create_private_file, private_dir

log = logging.getLogger("adgen.service_db")
_BUSY_TIMEOUT_S = 30
_MAX_IDLE_READERS = 16
# SQLite result codes that mean "the files under this connection are not what it opened":
# primary I/O error, corrupt, cannot open, WAL-index protocol, not a database; and the
# read-only family for a database moved or a WAL index it cannot initialise.
_DAMAGED_PRIMARY = {10, 11, 14, 15, 26}                 # IOERR CORRUPT CANTOPEN PROTOCOL NOTADB
_DAMAGED_EXTENDED = {8 | (2 << 8), 8 | (4 << 8), 8 | (5 << 8)}  # READONLY_ROLLBACK/DBMOVED/CANTINIT
_FILES = ("", "-wal", "-shm")


def service_db_path(home: Path | None = None) -> Path:
    return (home or adgen_home()) / "service.sqlite3"


def init_db(path: Path, statements: tuple[str, ...]) -> None:
    """Create tables; WAL (persistent in the file) lets status polls read while the worker writes.

    The folder is made 0700 and the file 0600 (it holds webhook secrets); SQLite gives the
    -wal and -shm files the database file's permissions.
    """
    _private_files(path)
    with connect(path) as conn:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("COMMIT")  # the journal mode changes outside a transaction
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
        for statement in statements:
            conn.execute(statement)


@contextmanager
def connect(path: Path, *, write: bool = True):
    """A connection in one transaction; commits on success, rolls back on an exception.

    Writers take the lock up front (BEGIN IMMEDIATE) so two never deadlock upgrading a read lock.
    Readers reuse this process's read-only connections: opening one costs more than a status
    poll's queries. Opening, and a reader's first read of its snapshot, is retried once on a
    fresh connection when the store's files were replaced or damaged under the old one; an error
    inside the block drops the connections so that the next call starts fresh.
    """
    files = _files_for(path)
    conn = files.acquire(write)
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        _rollback(conn)
        if _damaged(exc):
            files.reset(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        files.release(conn, write)


def _damaged(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.DatabaseError) and code is not None and (
        code & 0xFF in _DAMAGED_PRIMARY or code in _DAMAGED_EXTENDED)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back (an I/O error ends the transaction)


def _private_files(path: Path) -> None:
    """The folder 0700, the database and any -wal/-shm 0600 (created so, or tightened and logged)."""
    private_dir(path.parent)
    for suffix in _FILES:
        create_private_file(Path(f"{path}{suffix}"), create=not suffix)


def _identity(path: Path) -> tuple[tuple[int, int] | None, ...]:
    """(device, inode) of the database, its -wal and its -shm; None for one that does not exist."""
    found = []
    for suffix in _FILES:
        try:
            st = os.stat(f"{path}{suffix}")
            found.append((st.st_dev, st.st_ino))
        except FileNotFoundError:
            found.append(None)
    return tuple(found)


_registry: dict[Path, "_Files"] = {}   # by the path as callers spell it, and by its real path
_registry_lock = threading.Lock()


def _files_for(path: Path) -> "_Files":
    """One _Files per database file in this process, however its path is spelled (links, relative)."""
    with _registry_lock:
        files = _registry.get(path)
        if files is None or files.pid != os.getpid():  # a forked child must not use its parent's
            real = Path(os.path.realpath(path))
            files = _registry.get(real)
            if files is None or files.pid != os.getpid():
                files = _registry[real] = _Files(real)
            if Path(path).is_absolute():  # a relative spelling depends on the working folder
                _registry[path] = files
        return files


class _Files:
    """This process's connections to one database file, and the files they were opened on."""

    def __init__(self, path: Path):
        self.path, self.pid = path, os.getpid()
        self.cond = threading.Condition()
        self.idle: list[sqlite3.Connection] = []   # read-only connections, not in a transaction
        self.in_use = 0
        self.draining = False
        self.identity: tuple | None = None          # the files our open connections use
        self.held = threading.local()               # connections this thread holds now

    def acquire(self, write: bool) -> sqlite3.Connection:
        for attempt in (1, 2):
            conn = self._take(write)
            try:
                _begin(conn, write)
            except BaseException as exc:  # whatever it was, the connection goes back
                _rollback(conn)
                self.release(conn, write, discard=True)
                if attempt == 2 or not _damaged(exc):
                    raise
                self.reset(f"{type(exc).__name__}: {exc}")
                continue
            self._remember()
            return conn
        raise AssertionError("unreachable")

    def release(self, conn: sqlite3.Connection, write: bool, *, discard: bool = False) -> None:
        self.held.count = getattr(self.held, "count", 1) - 1
        keep = not (write or discard or self.draining) and len(self.idle) < _MAX_IDLE_READERS
        if not keep:
            conn.close()  # a writer's close may checkpoint: done while the readers still hold the file
        with self.cond:
            self.in_use -= 1
            if keep and not self.draining:
                self.idle.append(conn)
            elif keep:
                conn.close()
            if self.in_use == 0 and (self.draining or not self.idle):
                self._close_idle()

    def reset(self, why: str) -> None:
        """Stop handing out what this process holds; it is closed when the last one comes back."""
        with self.cond:
            if not self.draining:
                log.warning("%s: reopening the database (%s)", self.path, why)
            self.draining = True
            if self.in_use == 0:
                self._close_idle()

    def _take(self, write: bool) -> sqlite3.Connection:
        with self.cond:
            self._check_identity()
            if getattr(self.held, "count", 0) == 0:  # a thread holding one must not wait for itself
                if not self.cond.wait_for(lambda: not self.draining, timeout=_BUSY_TIMEOUT_S):
                    log.error("%s: connections still in use after %s s; opening anyway",
                              self.path, _BUSY_TIMEOUT_S)
            conn = self.idle.pop() if (self.idle and not write) else None
            self.in_use += 1
        self.held.count = getattr(self.held, "count", 0) + 1
        if conn is None:
            try:
                conn = self._open(write)
            except BaseException:
                with self.cond:
                    self.in_use -= 1
                self.held.count -= 1
                raise
        return conn

    def _open(self, write: bool) -> sqlite3.Connection:
        if write:
            _private_files(self.path)
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
        else:
            if not self.path.exists():
                _private_files(self.path)  # read-only cannot create it: an empty file is an empty database
            conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S,
                                   isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return conn

    def _check_identity(self) -> None:
        """Called with the lock held: a file our connections use was removed or replaced -> reset."""
        if self.identity is None or self.draining:
            return
        now = _identity(self.path)
        changed = [suffix or "database" for suffix, was, is_ in zip(_FILES, self.identity, now)
                   if was is not None and was != is_]
        if changed:
            self.draining = True
            log.warning("%s: %s removed or replaced under this process; reopening the database",
                        self.path, ", ".join(changed))
            if self.in_use == 0:
                self._close_idle()

    def _remember(self) -> None:
        """After a transaction began on fresh files: those are the files to watch."""
        now = _identity(self.path)
        with self.cond:
            if self.draining:
                return
            if self.identity is None:
                self.identity = now
            else:  # a -wal/-shm created since (by us or another process) joins the watch
                self.identity = tuple(was if was is not None else is_ for was, is_ in zip(self.identity, now))

    def _close_idle(self) -> None:
        """With the lock held and nothing in use: close every connection; the next one is fresh."""
        for conn in self.idle:
            conn.close()  # read-only: never checkpoints, never deletes the -wal/-shm
        self.idle.clear()
        self.identity = None
        if self.draining:
            self.draining = False
            self.cond.notify_all()


def _begin(conn: sqlite3.Connection, write: bool) -> None:
    """Start the transaction and touch the snapshot, so damaged files fail here, before the caller runs."""
    if write:
        conn.execute("PRAGMA synchronous=FULL")  # a 202 promises the job survives a power cut
        conn.execute("BEGIN IMMEDIATE")
    else:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
