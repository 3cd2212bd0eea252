"""Output formats registry: plain records loaded from data (adgen/data/formats.yaml + user YAML)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from adgen.errors import InputError, NotFoundError
from adgen.geometry import Box, Size
from adgen.settings import PACKAGE_DIR

BUILTIN_FORMATS = PACKAGE_DIR / "data" / "formats.yaml"


@dataclass(frozen=True)
class SafeArea:
    """Margins kept free of text and logos, as fractions of the canvas side (0-1)."""

    top: float = 0.04
    right: float = 0.04
    bottom: float = 0.04
    left: float = 0.04

    def box(self, size: Size) -> Box:
        return Box(round(self.left * size.width), round(self.top * size.height),
                   round(size.width * (1 - self.right)), round(size.height * (1 - self.bottom)))


@dataclass(frozen=True)
class Format:
    """One output slot: channel, pixel size, safe area, file limits, layout template."""

    id: str
    channel: str
    width: int
    height: int
    template: str
    max_kb: int
    file_types: tuple[str, ...] = ("jpeg", "png")
    safe_area: SafeArea = field(default_factory=SafeArea)
    marketplace: bool = False

    @property
    def size(self) -> Size:
        return Size(self.width, self.height)

    @property
    def default_file_type(self) -> str:
        return self.file_types[0]


def all_formats() -> dict[str, Format]:
    """Built-in formats plus those in $ADGEN_FORMATS (a YAML list), by id."""
    extra = os.environ.get("ADGEN_FORMATS")
    return _load_registry(str(extra) if extra else None)


@cache
def _load_registry(extra_file: str | None) -> dict[str, Format]:
    registry = {f.id: f for f in _read_formats(BUILTIN_FORMATS)}
    if extra_file:
        registry.update({f.id: f for f in _read_formats(Path(extra_file))})
    return registry


def get_format(format_id: str) -> Format:
    formats = all_formats()
    if format_id not in formats:
        raise NotFoundError(f"unknown format (known: {', '.join(formats)})", field="format", value=format_id)
    return formats[format_id]


def _read_formats(path: Path) -> list[Format]:
    try:
        records = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read formats: {exc}", file=str(path)) from None
    if not isinstance(records, list):
        raise InputError("formats file must be a YAML list of records", file=str(path))
    formats = []
    for index, record in enumerate(records):
        try:
            safe = SafeArea(**record.pop("safe_area", {}))
            record["file_types"] = tuple(record.get("file_types", ("jpeg", "png")))
            formats.append(Format(safe_area=safe, **record))
        except (TypeError, AttributeError) as exc:
            raise InputError(f"bad format record: {exc}", file=str(path), row=index + 1) from None
    return formats
