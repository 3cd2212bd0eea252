"""The store, the signing key and the state folder hold up against other processes and other users."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adgen.apikeys import create_key, get_key, list_keys
from adgen.service_db import connect, init_db, service_db_path
from adgen.settings import adgen_home

REPO = Path(__file__).resolve().parents[1]


def adgen(*args: str) -> subprocess.CompletedProcess:
    """`python -m adgen ...` in another process, on the same ADGEN_HOME."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-m", "adgen", *args], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def outside_tool(db: Path, code: str) -> None:
    """What a person's sqlite3 shell does to the file, from its own process (its locks never meet ours)."""
    subprocess.run([sys.executable, "-c", f"import sqlite3; c = sqlite3.connect({str(db)!r}); {code}; c.close()"],
                   check=True, timeout=60)


def created_key_id(result: subprocess.CompletedProcess) -> str:
    return re.search(r"key id:\s+(\w+)", result.stdout).group(1)


# ---- 1. the store ------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["wal and shm deleted", "file replaced by a copy"])
def test_the_store_keeps_working_when_its_files_change_under_it(damage):
    db = service_db_path()
    ids = [create_key(["northwind"], f"shop-{i}")[0].id for i in range(3)]
    with ThreadPoolExecutor(2) as readers:  # the server's request threads, each with its reader
        assert all(readers.map(lambda key_id: get_key(key_id) is not None, ids * 2))
        assert Path(f"{db}-wal").exists() and Path(f"{db}-shm").exists()
        # What a review did: the file opened from outside, checkpointed, its -wal/-shm gone ...
        outside_tool(db, "c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall()")
        if damage == "file replaced by a copy":
            shutil.copy(db, f"{db}.copy")
            os.replace(f"{db}.copy", db)
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        # ... then `adgen keys` from a shell, which writes through files of its own.
        ids.append(created_key_id(adgen("keys", "create", "--brands", "northwind", "--name", "from-shell")))
        assert all(key_id in adgen("keys", "list").stdout for key_id in ids)

        # Reads on every thread see every committed row; writes work and are seen.
        for _ in range(2):
            found = list(readers.map(lambda key_id: get_key(key_id), ids * 2))
            assert [key.id if key else None for key in found] == ids * 2
        ids.append(create_key(["sakura"], "after")[0].id)
        assert list(readers.map(lambda key_id: get_key(key_id).id, ids)) == ids
        assert [key.id for key in list_keys()] == ids
    assert all(key_id in adgen("keys", "list").stdout for key_id in ids)
    outside_tool(db, "assert c.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'")


def test_a_damaged_store_error_inside_a_read_drops_the_connections(tmp_path):
    db = tmp_path / "store.sqlite3"
    init_db(db, ("CREATE TABLE t (v INTEGER)",))
    with connect(db) as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.DatabaseError):
        with connect(db, write=False) as conn:
            damaged = sqlite3.DatabaseError("disk I/O error")
            damaged.sqlite_errorcode = 10  # SQLITE_IOERR, as SQLite reports a vanished WAL
            raise damaged
    with connect(db, write=False) as fresh:
        assert [tuple(row) for row in fresh.execute("SELECT v FROM t")] == [(1,)]
    assert fresh is not conn, "the connection that saw the error is not handed out again"


# ---- 3. permissions ------------------------------------------------------------------------------

def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_is_private_to_its_owner():
    create_key(["northwind"], "shop")
    home, db = adgen_home(), service_db_path()
    with connect(db, write=False) as conn:  # the -wal and -shm exist while a connection reads
        conn.execute("SELECT count(*) FROM api_keys").fetchone()
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(home) == 0o700


def test_a_home_made_before_is_tightened_and_says_so(caplog):
    home = adgen_home()
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    db = service_db_path()
    init_db(db, ("CREATE TABLE t (v)",))
    os.chmod(db, 0o644)  # as adgen made it before
    create_key(["northwind"], "shop")
    assert mode(home) == 0o700 and mode(db) == 0o600
    assert f"tightened {home} from 755 to 700" in caplog.text and f"tightened {db} from 644 to 600" in caplog.text


def test_private_dir_and_write_private(tmp_path):
    from adgen.settings import private_dir, write_private

    inputs = private_dir(tmp_path / "jobs" / "job_1" / "inputs")
    assert [mode(p) for p in (tmp_path / "jobs", tmp_path / "jobs" / "job_1", inputs)] == [0o700] * 3
    path = write_private(inputs / "0-SKU.png", b"bytes")
    assert path.read_bytes() == b"bytes" and mode(path) == 0o600
    write_private(path, b"new")
    assert path.read_bytes() == b"new" and os.listdir(inputs) == ["0-SKU.png"], "no temp file left"
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o1777)  # a sticky folder (/tmp) is shared on purpose
    private_dir(shared)
    assert mode(shared) == 0o1777


# ---- 2. the signing key ----------------------------------------------------------------------------

def _first_inits(keys_dirs: list[str], barrier) -> None:
    """One of several processes all making the signing key at once, in each folder in turn."""
    from adgen.signing import init_signing

    for keys_dir in keys_dirs:
        barrier.wait(timeout=60)
        try:
            init_signing(Path(keys_dir))
        except Exception as exc:  # noted beside the trial; the others go on
            Path(f"{keys_dir}.error-{os.getpid()}").write_text(f"{type(exc).__name__}: {exc}")


def _pair_matches(keys_dir: Path) -> bool:
    """The key is the chain's leaf key, and the CA file is the chain's issuer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from adgen.signing import CA_FILE, CHAIN_FILE, KEY_FILE

    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = serialization.load_pem_private_key((keys_dir / KEY_FILE).read_bytes(), None)
    leaf, ca = x509.load_pem_x509_certificates((keys_dir / CHAIN_FILE).read_bytes())
    anchor = x509.load_pem_x509_certificate((keys_dir / CA_FILE).read_bytes())
    return key.public_key().public_bytes(*spki) == leaf.public_key().public_bytes(*spki) and anchor == ca


def test_concurrent_first_runs_make_one_matching_key(tmp_path):
    import multiprocessing

    processes, trials = 8, 10
    folders = [str(tmp_path / f"trial-{i}" / "keys") for i in range(trials)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    workers = [context.Process(target=_first_inits, args=(folders, barrier)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [worker.exitcode for worker in workers] == [0] * processes
    errors = [p.read_text() for folder in folders for p in Path(folder).parent.glob("keys.error-*")]
    mismatched = [folder for folder in folders if not _pair_matches(Path(folder))]
    assert (mismatched, errors) == ([], []), f"{len(mismatched)} of {trials} trials left a key that does not " \
                                             f"match its chain; {len(errors)} first runs failed"
    assert all(mode(Path(folder)) == 0o700 for folder in folders)


def test_a_key_that_is_not_the_chains_is_refused_naming_both_files(tmp_path):
    from adgen.errors import InputError
    from adgen.signing import KEY_FILE, init_signing

    key, chain = init_signing(tmp_path / "a")
    other_key, _ = init_signing(tmp_path / "b")
    key.write_bytes(other_key.read_bytes())  # a pair mixed by hand, or by two first runs before
    with pytest.raises(InputError, match=f"{KEY_FILE} is not the key of the first certificate") as err:
        init_signing(tmp_path / "a")
    assert str(key) in str(err.value) and str(chain) in str(err.value)


def test_keys_list_on_a_fresh_home_opens_the_store_as_the_service_does():
    from typer.testing import CliRunner

    from adgen.cli import app

    assert CliRunner().invoke(app, ["keys", "list"]).exit_code == 0
    db = service_db_path()
    assert mode(db) == 0o600 and mode(adgen_home()) == 0o700
    with connect(db, write=False) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
