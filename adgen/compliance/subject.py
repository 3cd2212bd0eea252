"""What the rules look at: the final pixels, and the layers when adgen placed them."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from adgen.brand import BrandKit
from adgen.composition import Composition
from adgen.formats import Format


@dataclass(frozen=True)
class CheckSubject:
    image: Image.Image = field(repr=False)      # final RGB pixels
    format: Format
    brand: BrandKit
    locale: str = "en-US"
    category: str = "general"
    copy: dict[str, str] = field(default_factory=dict)   # field -> text (headline, cta, disclaimer...)
    composition: Composition | None = None     # None for images adgen did not lay out
    encoded: bytes | None = field(default=None, repr=False)  # the bytes that will ship
    file_type: str | None = None               # png | jpeg
