"""Layout templates as data: named slots per aspect class (adgen/data/templates.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from adgen.errors import InputError, NotFoundError
from adgen.geometry import Box
from adgen.settings import PACKAGE_DIR

BUILTIN_TEMPLATES = PACKAGE_DIR / "data" / "templates.yaml"
TEXT_SLOTS = ("headline", "subhead", "price", "cta", "disclaimer")


@dataclass(frozen=True)
class Slot:
    """A named region, as fractions (0-1) of the format's safe area, with text settings."""

    name: str
    x: float
    y: float
    w: float
    h: float
    max_lines: int = 1
    min_px: int = 10
    role: str = "body"  # headline | body | button: which brand font and treatment
    align: str = "left"

    def box_in(self, area: Box) -> Box:
        return Box.from_xywh(area.left + self.x * area.width, area.top + self.y * area.height,
                             self.w * area.width, self.h * area.height)


@dataclass(frozen=True)
class Template:
    name: str
    slots: tuple[Slot, ...]

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)


def template_for(fmt, brand) -> Template:
    """The format's template; a brand kit's templates.yaml overrides the built-in one by name."""
    override = brand.kit_dir / "templates.yaml"
    registry = _load_templates(str(BUILTIN_TEMPLATES))
    if override.is_file():
        registry = {**registry, **_load_templates(str(override))}
    if fmt.template not in registry:
        raise NotFoundError(f"format {fmt.id} names an unknown template", field="template", value=fmt.template)
    return registry[fmt.template]


@cache
def _load_templates(path: str) -> dict[str, Template]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return {name: Template(name, tuple(_slot(slot_name, spec) for slot_name, spec in slots.items()))
                for name, slots in data.items()}
    except (OSError, yaml.YAMLError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"bad layout template: {exc}", file=path) from None


def _slot(name: str, spec: dict) -> Slot:
    x, y, w, h = spec.pop("box")
    return Slot(name, x, y, w, h, **spec)
