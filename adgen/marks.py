"""Certification marks registry: plain records loaded from data (adgen/data/marks.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from adgen.errors import InputError
from adgen.settings import PACKAGE_DIR

BUILTIN_MARKS = PACKAGE_DIR / "data" / "marks.yaml"


@dataclass(frozen=True)
class Mark:
    """One certification mark: its artwork file, minimum size, clear space and where it applies."""

    id: str
    name: str
    file: Path
    min_size_px: int = 24          # smallest placed height, px
    clear_space: float = 0.15      # free margin around it, fraction of its height
    locales: tuple[str, ...] = ("*",)
    categories: tuple[str, ...] = ("*",)
    required_locales: tuple[str, ...] = ()
    required_terms: tuple[str, ...] = ()

    def allowed_in(self, locale: str, category: str) -> bool:
        return ("*" in self.locales or locale in self.locales) and \
            ("*" in self.categories or category in self.categories)

    def required_for(self, locale: str, copy: str) -> bool:
        """Whether copy in this locale uses a term that makes this mark mandatory."""
        folded = copy.casefold()
        return locale in self.required_locales and any(t.casefold() in folded for t in self.required_terms)


def all_marks() -> dict[str, Mark]:
    """Every registered mark, by id."""
    return _load(str(BUILTIN_MARKS))


def marks_to_place(mark_ids, brand, locale: str, category: str) -> tuple[Mark, ...]:
    """The spec's mark ids as records; an unknown, brand-disallowed or out-of-scope id is an InputError."""
    registry = all_marks()
    marks = []
    for mark_id in mark_ids:
        if mark_id not in registry:
            raise InputError(f"unknown certification mark (known: {', '.join(registry)})", field="marks", value=mark_id)
        if mark_id not in brand.marks:
            raise InputError(f"brand {brand.id} may not use this mark (allowed: {', '.join(brand.marks) or 'none'})",
                             field="marks", value=mark_id)
        mark = registry[mark_id]
        if not mark.allowed_in(locale, category):
            raise InputError(f"mark not allowed for locale {locale} / category {category}", field="marks",
                             value=mark_id)
        marks.append(mark)
    return tuple(marks)


@cache
def _load(path: str) -> dict[str, Mark]:
    base = Path(path).parent
    try:
        records = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return {r["id"]: Mark(**{**r, "file": base / r["file"],
                                 **{k: tuple(r[k]) for k in ("locales", "categories", "required_locales",
                                                             "required_terms") if k in r}})
                for r in records}
    except (OSError, yaml.YAMLError, TypeError, KeyError) as exc:
        raise InputError(f"bad marks registry: {exc}", file=path) from None
