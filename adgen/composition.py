"""What compose produces: the final pixels and every placed layer with its box."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from adgen.geometry import Box


@dataclass(frozen=True)
class PlacedLayer:
    """One placed element, recorded so checks measure exactly what was placed."""

    name: str                    # headline, subhead, price, cta, disclaimer, ai_label, logo, product, mark:<id>
    kind: str                    # "text" or "image"
    box: Box                     # where its ink / pixels landed, px
    slot_box: Box                # the slot it was given, px
    text: str | None = None
    font_size_px: int | None = None
    font_path: str | None = None
    color: str | None = None     # text colour, hex
    scrim: str | None = None     # colour of a scrim/plate placed behind the text, hex
    contrast_ratio: float | None = None   # worst-case measured when typeset
    is_large_text: bool = False
    overflow: bool = False
    lines: tuple[str, ...] = ()
    line_boxes: tuple[Box, ...] = ()   # text layers: each line's ink box, px (OCR reads line by line)
    source: Path | None = None   # image layers: the file whose pixels were placed
    scale: float | None = None   # image layers: source px -> placed px
    glyph_mask: Image.Image | None = field(default=None, compare=False, repr=False)  # L, size of box
    cutout: dict | None = field(default=None, compare=False)  # product photo without alpha: CutoutRecord.as_dict()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Composition:
    image: Image.Image = field(repr=False)   # final RGB pixels at the format size
    plate: Image.Image = field(repr=False)   # the fitted background before any layer
    layers: tuple[PlacedLayer, ...] = ()
    notes: tuple[str, ...] = ()

    def layer(self, name: str) -> PlacedLayer | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    @property
    def text_layers(self) -> tuple[PlacedLayer, ...]:
        return tuple(layer for layer in self.layers if layer.kind == "text")
