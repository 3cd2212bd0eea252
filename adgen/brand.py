"""Brand kits: brand_kits/<id>/brand.yaml plus the files it names (logo, fonts, style images)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adgen.color import Color
from adgen.errors import InputError, NotFoundError
from adgen.loading import read_mapping, validate
from adgen.lora_registry import apply_active
from adgen.settings import brand_kit_roots, find_adapter

BRAND_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BrandFont(_Frozen):
    """A font role: a family from the bundled font packages, or the brand's own file."""

    family: str = Field("Noto Sans", description="Font family name, e.g. 'Noto Sans'.")
    weight: int = Field(400, ge=100, le=900, description="Weight axis value of the variable font.")
    file: Path | None = Field(None, description="Brand font file, relative to the kit folder.")


class BrandFonts(_Frozen):
    headline: BrandFont = BrandFont(weight=800)
    body: BrandFont = BrandFont(weight=400)


class Logo(_Frozen):
    file: Path = Field(description="Logo image with alpha, relative to the kit folder.")
    min_width_px: int = Field(64, ge=8, description="Smallest width the logo may be placed at, px.")
    clear_space: float = Field(0.25, ge=0, le=2, description="Clear space around the logo, fraction of its height.")


class Style(_Frozen):
    words: tuple[str, ...] = Field((), description="Style words added to every prompt.")
    negative: str = Field("text, letters, words, watermark, logo, signature",
                          description="Negative prompt for every plate.")


class Adapter(_Frozen):
    file: Path = Field(description="LoRA safetensors file, relative to the lora/ folder.")
    trigger: str = Field("", description="Trigger words prepended to the prompt.")
    weight: float = Field(0.8, ge=0, le=2, description="LoRA scale for this brand.")


class ConditionerRef(_Frozen):
    name: str = Field(description="Plate conditioner from adgen/data/conditioners.yaml, e.g. controlnet-depth.")
    path: str = Field(description="Local folder of its weights (relative to the kit); nothing is downloaded.")
    scale: float | None = Field(None, ge=0, le=2, description="Conditioning scale; default the registry's.")


class Disclaimer(_Frozen):
    text: str = Field(min_length=1, description="Verbatim disclaimer text.")
    categories: tuple[str, ...] = Field(("*",), description="Categories it applies to; '*' for all.")
    locales: tuple[str, ...] = Field(("*",), description="Locales it applies to; '*' for all.")


class ReviewPolicy(_Frozen):
    """Who must look at an asset before it ships, and what they may approve (adgen.service.reviews)."""

    required: bool = Field(False, description="Assets are served to creator keys only once approved; "
                                              "reviewers and admins may still fetch them to review.")
    approve_fail: bool = Field(False, description="A `fail` compliance verdict may be approved at all.")
    warn_needs_comment: bool = Field(True, description="Approving a `warn` verdict needs a comment.")
    four_eyes: bool = Field(True, description="The key that generated an asset cannot approve it.")


class BrandKit(_Frozen):
    """Everything that makes an asset on-brand."""

    id: str = Field(description="Kit id; the folder name under brand_kits/.")
    name: str = Field(description="Display name.")
    locales: tuple[str, ...] = Field(("en-US",), description="Locales the brand publishes in.")
    palette: dict[str, str] = Field(description="Named colour roles to hex, e.g. primary: '#1B2A41'.")
    fonts: BrandFonts = BrandFonts()
    logo: Logo
    style: Style = Style()
    adapter: Adapter | None = Field(None, description="Brand LoRA adapter under lora/.")
    conditioners: tuple[ConditionerRef, ...] = Field(
        (), description="Plate conditioners (ControlNet, IP-Adapter) from local paths, steering the plate from the plan.")
    banned_terms: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Banned terms per locale ('*' for every locale).")
    disclaimers: tuple[Disclaimer, ...] = Field((), description="Required disclaimers per category and locale.")
    marks: tuple[str, ...] = Field((), description="Certification mark ids this brand may use.")
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="Compliance threshold overrides, e.g. 'text.legible.max_cer' or "
                                          "'text.legible.max_cer@ja-JP' (see adgen/data/thresholds.yaml).")
    review: ReviewPolicy = Field(ReviewPolicy(), description="Review and approval settings.")
    unsubstantiated_claims: Literal["fail", "warn"] = Field(
        "fail", description="What a claim without evidence in the brand's knowledge base is: fail or warn "
                            "(copy.claim-substantiated; a brand with no knowledge base skips the rule).")
    kit_dir: Path = Field(Path("."), exclude=True, description="Folder the kit was loaded from.")

    @field_validator("palette")
    @classmethod
    def _palette_is_hex(cls, value: dict[str, str]) -> dict[str, str]:
        for role, hex_value in value.items():
            try:
                Color.from_hex(hex_value)
            except ValueError:
                raise ValueError(f"palette.{role} must be a hex colour like #1B2A41, got {hex_value!r}") from None
        if not value:
            raise ValueError("palette needs at least one colour")
        return value

    @property
    def colors(self) -> dict[str, Color]:
        return {role: Color.from_hex(value) for role, value in self.palette.items()}

    @property
    def logo_path(self) -> Path:
        return self.kit_dir / self.logo.file

    @property
    def adapter_path(self) -> Path | None:
        return find_adapter(self.adapter.file) if self.adapter else None

    def disclaimers_for(self, category: str, locale: str) -> tuple[str, ...]:
        """Disclaimer texts required for a product category in a locale."""
        return tuple(d.text for d in self.disclaimers
                     if ("*" in d.categories or category in d.categories)
                     and ("*" in d.locales or locale in d.locales))

    def banned_terms_for(self, locale: str) -> tuple[str, ...]:
        return self.banned_terms.get("*", ()) + self.banned_terms.get(locale, ())


def load_brand(brand_id: str, root: Path | None = None) -> BrandKit:
    """Load <root>/<brand_id>/brand.yaml from the first kit folder that has it (adgen.settings search order)."""
    if not BRAND_ID_PATTERN.match(brand_id or ""):
        raise InputError("brand id must be lower-case letters, digits, '-' or '_'", field="brand", value=brand_id)
    roots = [root] if root else brand_kit_roots()
    path = next((r / brand_id / "brand.yaml" for r in roots if (r / brand_id / "brand.yaml").is_file()), None)
    if path is None:
        known = ", ".join(list_brand_ids(root)) or "none"
        looked = ", ".join(str(r / brand_id / "brand.yaml") for r in roots) or "no kit folder exists"
        raise NotFoundError("unknown brand", field="brand", value=brand_id, hint=f"looked for {looked}; known: {known}")
    kit_dir = path.parent
    data = read_mapping(path, "brand kit")
    if data.get("id", brand_id) != brand_id:
        raise InputError("id must match the folder name", file=str(path), field="id", value=data.get("id"))
    kit = validate(BrandKit, {**data, "id": brand_id, "kit_dir": kit_dir}, file=str(path))
    if not kit.logo_path.is_file():
        raise NotFoundError("logo file not found", file=str(path), field="logo.file", value=str(kit.logo.file))
    # The active registry version (adgen lora promote) replaces the adapter the kit names.
    return apply_active(kit)


def list_brand_ids(root: Path | None = None) -> list[str]:
    """Every kit id in `root`, or along the whole search path (a kit earlier on it hides a later one)."""
    roots = [root] if root else brand_kit_roots()
    return sorted({p.name for r in roots if r.is_dir() for p in r.iterdir() if (p / "brand.yaml").is_file()})
