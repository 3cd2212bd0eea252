"""Layered SVG of a composition, for a designer to finish: one element group per placed layer.

The plate and every image layer (product, logo, marks) are embedded PNG data URIs of the exact
pixels placed; copy is real <text>, one element per typeset line, in its font family, weight,
size and colour, positioned on the same baseline the raster used. The product's soft shadow
is not a layer of its own and is left out. A scrim's opacity is not recorded on the layer, so
the SVG draws scrims at SCRIM_OPACITY.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

from adgen.composition import Composition, PlacedLayer
from adgen.fonts import FontSpec, load_font, raqm_available, script_for
from adgen.geometry import Box
from adgen.placement import artwork_at, load_artwork
from adgen.request import ResolvedRequest

SCRIM_OPACITY = 0.75


def to_svg(composition: Composition, request: ResolvedRequest) -> str:
    """The composition as an SVG document (str): plate, images and text as separate layers."""
    width, height = composition.image.size
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f'<title>{escape(request.product.sku)} {escape(request.format.id)}</title>',
             _group("plate", _image_element(composition.plate, 0, 0))]
    for layer in composition.layers:
        if layer.kind == "image":
            art = artwork_at(load_artwork(layer.source, layer.name), (layer.box.width, layer.box.height))
            parts.append(_group(layer.name, _image_element(art, layer.box.left, layer.box.top)))
        else:
            parts.append(_group(layer.name, _text_elements(layer, request)))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _group(name: str, body: str) -> str:
    # Inkscape and Illustrator show inkscape:label / id as the layer name.
    return f'<g id={quoteattr(name.replace(":", "-"))}>\n{body}\n</g>'


def _image_element(image: Image.Image, x: int, y: int) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<image x="{x}" y="{y}" width="{image.width}" height="{image.height}" '
            f'href="data:image/png;base64,{data}"/>')


def _text_elements(layer: PlacedLayer, request: ResolvedRequest) -> str:
    weight = _weight(layer, request)
    locale = request.product.locale
    face = load_font(FontSpec(weight=weight, file=Path(layer.font_path)),
                     script_for(layer.text, locale), layer.font_size_px)
    family = face.getname()[0]
    elements = []
    if layer.scrim:
        elements.append(_scrim(layer))
    for line, box in zip(layer.lines, layer.line_boxes):
        # Recover the pen position from the line's ink box: the raster drew each line with
        # anchor "ls" (left, baseline), so ink starts at pen + the rendered glyphs' offset.
        # (getbbox is not it: it spans advances and bearings, off by up to ~9 px at 100 px.)
        left, top = _ink_offset(face, line, locale)
        x, y = box.left - left, box.top - top
        elements.append(f'<text x="{x}" y="{y}" font-family={quoteattr(family)} font-size="{layer.font_size_px}" '
                        f'font-weight="{weight}" fill="{layer.color}" xml:lang="{locale}" '
                        f'xml:space="preserve">{escape(line)}</text>')
    return "\n".join(elements)


def _ink_offset(face, line: str, locale: str) -> tuple[int, int]:
    """Where a line's first inked pixel lands relative to its pen position (anchor "ls"), px."""
    mask, (dx, dy) = face.getmask2(line, mode="L", anchor="ls", **_language(locale))
    ink = Image.frombytes("L", mask.size, bytes(mask)).getbbox() if mask.size[0] and mask.size[1] else None
    return (dx + ink[0], dy + ink[1]) if ink else (dx, dy)


def _scrim(layer: PlacedLayer) -> str:
    if layer.name == "cta":  # the button: its box is the layer's slot box
        box, opacity = layer.slot_box, 1.0
    else:
        # typesetting pads its scrim by 0.45 x 0.3 of the text size around the ink
        pad_x, pad_y = round(0.45 * layer.font_size_px), round(0.3 * layer.font_size_px)
        box = Box(layer.box.left - pad_x, layer.box.top - pad_y, layer.box.right + pad_x, layer.box.bottom + pad_y)
        opacity = SCRIM_OPACITY
    return (f'<rect x="{box.left}" y="{box.top}" width="{box.width}" height="{box.height}" '
            f'rx="{max(2, box.height // 4)}" fill="{layer.scrim}" fill-opacity="{opacity}"/>')


def _weight(layer: PlacedLayer, request: ResolvedRequest) -> int:
    # The layout sets headline- and button-role slots in the brand's headline font.
    slot = request.template.slot(layer.name)
    fonts = request.brand.fonts
    return fonts.headline.weight if slot is not None and slot.role in ("headline", "button") else fonts.body.weight


def _language(locale: str) -> dict:
    return {"language": locale} if raqm_available() else {}

