"""OCR reads back every string placed for the bundled examples, in every format (CER <= 0.05)."""

from __future__ import annotations

import itertools

import pytest
from PIL import Image

from adgen.brand import load_brand
from adgen.formats import all_formats
from adgen.geometry import Box, Size
from adgen.layout import compose
from adgen.ocr import character_error_rate, read_box
from adgen.request import AssetRequest, resolve
from adgen.spec import load_product
from conftest import EXAMPLES
from test_layout import gradient_plate

MAX_CER = 0.05
PRODUCTS = {"northwind-cold-brew.yaml": "northwind", "northwind-trail-flask.yaml": "northwind",
            "sakura-matcha.yaml": "sakura", "sakura-jasmine-zh.yaml": "sakura"}
OCR_LINE_PX = 32  # the recognition model reads ~48 px line crops; tiny banner text is upscaled first
# Noto Sans draws capital I and small l as the same plain stroke: no reader can tell "AI" from
# "Al" by shape alone, so the pair is folded before comparing.
HOMOGLYPHS = str.maketrans({"l": "I"})


def read_line(image: Image.Image, box: Box, size_px: int, locale: str) -> str:
    """One typeset line, cropped with a margin and scaled so the model sees ~32 px text."""
    pad = max(3, size_px // 2)
    region = box.expand(pad).clamp_to(Size(*image.size))
    crop = image.crop(region.as_tuple())
    scale = max(1.0, OCR_LINE_PX / size_px)
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.Resampling.LANCZOS)
    return read_box(crop, Box(0, 0, crop.width, crop.height), locale=locale).text


FORMATS = sorted(f.id for f in all_formats().values() if not f.marketplace)


@pytest.mark.parametrize("product,format_id", list(itertools.product(PRODUCTS, FORMATS)))
def test_every_placed_string_reads_back(product, format_id):
    spec = load_product(EXAMPLES / "products" / product)
    brand = load_brand(PRODUCTS[product])
    request = resolve(AssetRequest(product=spec, brand=brand.id, format=format_id), brand=brand)
    comp = compose(gradient_plate(brand, request.format.size.as_tuple()), request)
    assert comp.text_layers
    for layer in comp.text_layers:
        read = "".join(read_line(comp.image, box, layer.font_size_px, spec.locale) for box in layer.line_boxes)
        # Overflowed copy keeps only its whole lines in the slot (and is reported); read those.
        placed = "".join(layer.lines[:len(layer.line_boxes)]) if layer.overflow else layer.text
        cer = character_error_rate(placed.translate(HOMOGLYPHS), read.translate(HOMOGLYPHS))
        assert cer <= MAX_CER, f"{layer.name} {layer.text!r} read as {read!r} (CER {cer:.3f}, {layer.font_size_px}px)"
