"""Where adgen keeps state and finds its data; every path comes from here.

User data (brand kits, formats, prompt templates, LoRA adapters) is looked up in this order, first
match wins: the $ADGEN_* variable, the current project folder, $ADGEN_HOME, then the data bundled
with adgen (in a wheel: adgen/bundled/; in a checkout: the repo's top-level folders).

| what | $ADGEN_* | project folder | $ADGEN_HOME | bundled |
|---|---|---|---|---|
| brand kits | ADGEN_BRAND_KITS (a folder of kits) | ./brand_kits/ | brand_kits/ | northwind, sakura |
| formats | ADGEN_FORMATS (a YAML file) | ./formats.yaml | formats.yaml | adgen/data/formats.yaml |
| prompt templates | ADGEN_PROMPTS (a folder) | ./prompts/ | prompts/ | backdrop.j2, marketplace.j2 |
| LoRA adapters | ADGEN_LORA (a folder) | ./lora/ | lora/ | lora/northwind, lora/sakura |

Kits and adapters are found per id/file along the path; formats files all load, the earlier one
winning for an id; prompt templates are found per template name.
"""

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
# A built wheel carries the repo's top-level data folders here (setup.py's build step).
BUNDLED_DIR = PACKAGE_DIR / "bundled"


def adgen_home() -> Path:
    """State directory (jobs, keys, caches, your own kits): $ADGEN_HOME, default ~/.adgen."""
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


def bundled(name: str) -> Path:
    """A data folder shipped with adgen: inside the installed package, else the checkout's top level."""
    packaged = BUNDLED_DIR / name
    return packaged if packaged.exists() else REPO_DIR / name


def search_path(name: str, env: str) -> list[Path]:
    """The places to look for `name` (a folder or file), in order: $env, ./name, $ADGEN_HOME/name, bundled."""
    candidates = [Path(os.environ[env]).expanduser()] if os.environ.get(env) else []
    candidates += [Path.cwd() / name, adgen_home() / name, bundled(name)]
    unique: list[Path] = []
    for path in candidates:
        if path.resolve() not in {p.resolve() for p in unique}:
            unique.append(path)
    return unique


def brand_kit_roots() -> list[Path]:
    """Folders of brand kits (brand_kits/<id>/brand.yaml), in search order."""
    return [p for p in search_path("brand_kits", "ADGEN_BRAND_KITS") if p.is_dir()]


def brand_kits_dir() -> Path:
    """Where `adgen init brand` writes a new kit: $ADGEN_BRAND_KITS, else ./brand_kits."""
    env = os.environ.get("ADGEN_BRAND_KITS")
    return Path(env).expanduser() if env else Path.cwd() / "brand_kits"


def lora_roots() -> list[Path]:
    """Folders of LoRA adapters, in search order."""
    return [p for p in search_path("lora", "ADGEN_LORA") if p.is_dir()]


def lora_dir() -> Path:
    """Where `adgen lora train` writes adapters: $ADGEN_LORA, else ./lora."""
    env = os.environ.get("ADGEN_LORA")
    return Path(env).expanduser() if env else Path.cwd() / "lora"


def find_adapter(relative: Path) -> Path:
    """An adapter file (relative to an adapters folder): the first root that has it, else where it would go."""
    roots = lora_roots()
    for root in roots:
        if (root / relative).is_file():
            return root / relative
    return (roots[0] if roots else lora_dir()) / relative


def prompts_dirs() -> list[Path]:
    """Folders of prompt templates (<family>.j2), in search order."""
    return [p for p in search_path("prompts", "ADGEN_PROMPTS") if p.is_dir()]


def formats_files() -> list[Path]:
    """User formats files, in search order (the built-in adgen/data/formats.yaml comes after them all).

    $ADGEN_FORMATS is listed even when missing, so that a wrong path is an error, not silence.
    """
    named = os.environ.get("ADGEN_FORMATS")
    found = [p for p in search_path("formats.yaml", "ADGEN_FORMATS")[:-1] if p.is_file()]
    return ([Path(named).expanduser()] if named else []) + [p for p in found if not named or p != Path(named).expanduser()]


def examples_dir() -> Path:
    """The bundled example products, images, catalogues and demo plan."""
    return bundled("examples")
