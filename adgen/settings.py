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

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
# A built wheel carries the repo's top-level data folders here (setup.py's build step).
BUNDLED_DIR = PACKAGE_DIR / "bundled"


def adgen_home() -> Path:
    """State directory (jobs, keys, caches, your own kits): $ADGEN_HOME, default ~/.adgen."""
    return Path(os.environ.get("ADGEN_HOME") or Path.home() / ".adgen")


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
