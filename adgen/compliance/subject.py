"""What the rules look at: the final pixels, and the layers when adgen placed them."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property

from PIL import Image

from adgen.brand import BrandKit
from adgen.composition import Composition
from adgen.compliance.thresholds import threshold
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
    # True when the layers were reconstructed by OCR from an image adgen did not lay out:
    # rules that compare against what was placed (overflow, legibility, artwork) then skip.
    layers_from_ocr: bool = False
    claims: tuple[str, ...] = ()               # the spec's claims and features (copy.claim-substantiated)
    # Whose knowledge base backs the claims: "local" for the CLI and the batch; None (a caller
    # that names no tenant) skips copy.claim-substantiated rather than read someone else's.
    tenant: str | None = None
    # Why the brand's LoRA adapter was not applied to the plate (None: applied, or the kit has none).
    adapter_note: str | None = None
    # Whether the image is AI-generated: True / False as the caller says, None when unknown (a
    # photo or file from elsewhere). adgen's own compositions are generated.
    generated: bool | None = None

    def threshold(self, key: str) -> float:
        """A rule threshold for this asset's format, locale and brand (adgen/data/thresholds.yaml)."""
        return threshold(key, format_id=self.format.id, locale=self.locale, brand_overrides=self.brand.thresholds)

    @property
    def placed(self) -> bool:
        """Whether the layers are what adgen placed (not OCR guesses, not absent)."""
        return self.composition is not None and not self.layers_from_ocr

    @property
    def is_generated(self) -> bool | None:
        """The caller's word, else True for what adgen laid out, else None (unknown provenance)."""
        if self.generated is not None:
            return self.generated
        return True if self.placed else None

    @cached_property
    def segmentation(self):
        """The subject of an image adgen did not lay out, segmented from its background (adgen.cutout).

        The same cut-out that product photos get; its mask keeps the large parts only (a
        product, or the items of a multipack), not specks or lettering set apart from them.
        """
        from adgen.compliance.segmentation import segment

        return segment(self.final_image)

    @cached_property
    def final_image(self) -> Image.Image:
        """The pixels that ship: the encoded bytes decoded (JPEG loss and watermark included)."""
        if self.encoded is None:
            return self.image.convert("RGB")
        try:
            with Image.open(io.BytesIO(self.encoded)) as handle:
                return handle.convert("RGB")
        except OSError:
            return self.image.convert("RGB")
