"""Rule thresholds as data: adgen/data/thresholds.yaml, overridden per format, locale and brand."""

from __future__ import annotations

from functools import cache

import yaml

from adgen.errors import InputError
from adgen.settings import PACKAGE_DIR

THRESHOLDS_FILE = PACKAGE_DIR / "data" / "thresholds.yaml"


def threshold(key: str, *, format_id: str, locale: str, brand_overrides: dict[str, float] | None = None) -> float:
    """The value of `key` for one asset; last wins: defaults < format < locale < brand < brand@format < brand@locale."""
    table = _load()
    value = table["defaults"].get(key)
    for layer in (table["formats"].get(format_id, {}), table["locales"].get(locale, {})):
        value = layer.get(key, value)
    brand = brand_overrides or {}
    for scoped in (key, f"{key}@{format_id}", f"{key}@{locale}"):
        value = brand.get(scoped, value)
    if value is None:
        raise InputError("no threshold defined", field="thresholds", value=key)
    return float(value)


def keys_with_prefix(prefix: str, brand_overrides: dict[str, float] | None = None) -> tuple[str, ...]:
    """Every threshold key starting with `prefix` in the defaults or the brand's overrides."""
    names = set(_load()["defaults"]) | {k.split("@")[0] for k in (brand_overrides or {})}
    return tuple(sorted(k for k in names if k.startswith(prefix)))


def all_defaults() -> dict[str, float]:
    return dict(_load()["defaults"])


@cache
def _load() -> dict:
    data = yaml.safe_load(THRESHOLDS_FILE.read_text(encoding="utf-8")) or {}
    return {"defaults": data.get("defaults") or {}, "formats": data.get("formats") or {},
            "locales": data.get("locales") or {}}
