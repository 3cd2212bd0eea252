"""Where adgen keeps state and finds its data; every path comes from here."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
# State under ADGEN_HOME holds secrets (webhook secrets, the signing key, uploaded inputs):
# its folders are the owner's alone, and so are its files.
PRIVATE_DIR_MODE, PRIVATE_FILE_MODE = 0o700, 0o600
log = logging.getLogger("adgen.settings")


def adgen_home() -> Path:
    """State directory (jobs, keys, caches): $ADGEN_HOME, default ~/.adgen."""
    return Path(os.environ.get("ADGEN_HOME") or Path.home() / ".adgen")


def private_dir(path: Path) -> Path:
    """Make the folder (and missing parents) 0700; an existing one that others may enter is tightened."""
    path = Path(path)
    missing = []
    while not path.is_dir() and path != path.parent:  # mkdir(parents=True) would make parents 0755
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
            # else another process made it meanwhile
    path = missing[0] if missing else path
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def create_private_file(path: Path, *, create: bool = True) -> None:
    """An empty file made 0600 if missing (when `create`); an existing one others may read is tightened.

    It never opens an existing file: closing any descriptor of a file drops every POSIX lock this
    process holds on it, SQLite's included.
    """
    path = Path(path)
    if create and not path.exists():
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
        os.close(fd)
        try:
            os.link(temp, path)  # no one can have opened it yet, so the close above drops no lock
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
    _tighten(path, PRIVATE_FILE_MODE)


def write_private(path: Path, data: bytes) -> Path:
    """Write a file 0600, atomically and durably: a new temp file (O_EXCL), fsync, rename, fsync the folder."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # O_EXCL, 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)  # the rename itself survives a power cut only once the folder is synced
    return path


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tighten(path: Path, mode: int) -> None:
    """chmod to mode when group/others have any access, if the path is ours and not a shared sticky folder."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    wider = stat.S_IMODE(st.st_mode) & 0o077
    # A sticky folder (/tmp) or one owned by someone else is shared on purpose: leave it alone.
    if not wider or st.st_mode & stat.S_ISVTX or (hasattr(os, "geteuid") and st.st_uid != os.geteuid()):
        return
    os.chmod(path, mode)
    log.warning("tightened %s from %o to %o: adgen state holds secrets", path, stat.S_IMODE(st.st_mode), mode)


def _first_existing(*candidates: Path) -> Path:
    for path in candidates:
        if path.is_dir():
            return path
    return candidates[-1]


def brand_kits_dir() -> Path:
    """$ADGEN_BRAND_KITS, else ./brand_kits, else the bundled examples."""
    env = os.environ.get("ADGEN_BRAND_KITS")
    if env:
        return Path(env)
    return _first_existing(Path.cwd() / "brand_kits", REPO_DIR / "brand_kits")


def lora_dir() -> Path:
    """$ADGEN_LORA, else ./lora, else the bundled adapters."""
    env = os.environ.get("ADGEN_LORA")
    if env:
        return Path(env)
    return _first_existing(Path.cwd() / "lora", REPO_DIR / "lora")


def prompts_dir() -> Path:
    return _first_existing(Path.cwd() / "prompts", REPO_DIR / "prompts")


def examples_dir() -> Path:
    return REPO_DIR / "examples"
