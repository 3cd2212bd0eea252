"""Where adgen keeps state and finds its data; every path comes from here."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


def adgen_home() -> Path:
    """State directory (jobs, keys, caches): $ADGEN_HOME, default ~/.adgen."""
    return Path(os.environ.get("ADGEN_HOME") or Path.home() / ".adgen")


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
