"""Output formats registry: plain records loaded from data (adgen/data/formats.yaml + user YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from adgen.errors import InputError, NotFoundError
from adgen.geometry import Box, Size
from adgen.settings import PACKAGE_DIR, formats_files

BUILTIN_FORMATS = PACKAGE_DIR / "data" / "formats.yaml"
MM_PER_INCH = 25.4
REQUIRED_KEYS = ("id", "channel", "width and height (or width_mm and height_mm)", "template", "max_kb")


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
    # Print formats are sized in mm: trim size, bleed beyond the trim, safe margin inside it.
    # width/height (px) then include the bleed, and the safe area is bleed + safe margin.
    width_mm: float | None = None
    height_mm: float | None = None
    bleed_mm: float = 0.0
    safe_mm: float = 0.0
    ppi: int | None = None

    @property
    def is_print(self) -> bool:
        return self.width_mm is not None

    @property
    def size(self) -> Size:
        return Size(self.width, self.height)

    @property
    def default_file_type(self) -> str:
        return self.file_types[0]


def all_formats() -> dict[str, Format]:
    """Built-in formats plus your own (adgen.settings.formats_files: $ADGEN_FORMATS, ./formats.yaml,
    $ADGEN_HOME/formats.yaml), by id; a file earlier in that order wins for an id."""
    return _load_registry(tuple(str(p) for p in formats_files()))


@cache
def _load_registry(extra_files: tuple[str, ...]) -> dict[str, Format]:
    registry = {f.id: f for f in _read_formats(BUILTIN_FORMATS)}
    for extra_file in reversed(extra_files):
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
        if not isinstance(record, dict):
            raise InputError("a format record must be a mapping", file=str(path), row=index + 1, value=record)
        size_keys = ("width_mm", "height_mm") if "width_mm" in record else ("width", "height")
        missing = [k for k in ("id", "channel", *size_keys, "template", "max_kb") if k not in record]
        if missing:
            raise InputError(f"format record needs {', '.join(REQUIRED_KEYS)} (missing: {', '.join(missing)})",
                             file=str(path), row=index + 1, field=missing[0])
        try:
            if "width_mm" in record:
                record = _print_record(record)
            safe = SafeArea(**record.pop("safe_area", {}))
            record["file_types"] = tuple(record.get("file_types", ("jpeg", "png")))
            formats.append(Format(safe_area=safe, **record))
        except (TypeError, AttributeError, KeyError, ValueError, ZeroDivisionError) as exc:
            raise InputError(f"bad format record: {exc}", file=str(path), row=index + 1) from None
    return formats


def _print_record(record: dict) -> dict:
    """A format given in mm: pixel size at ppi including bleed; safe area = bleed + safe margin."""
    ppi = int(record.get("ppi", 300))
    bleed, safe = float(record.get("bleed_mm", 3.0)), float(record.get("safe_mm", 5.0))
    full_w, full_h = float(record["width_mm"]) + 2 * bleed, float(record["height_mm"]) + 2 * bleed
    px = {"width": round(full_w / MM_PER_INCH * ppi), "height": round(full_h / MM_PER_INCH * ppi)}
    side, top = (bleed + safe) / full_w, (bleed + safe) / full_h
    return {**record, **px, "ppi": ppi, "bleed_mm": bleed, "safe_mm": safe,
            "safe_area": {"top": top, "bottom": top, "left": side, "right": side}}
