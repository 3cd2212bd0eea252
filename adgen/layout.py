"""Compose stage: fit the plate, place product and logo from their own pixels, typeset the copy."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import replace

from babel.numbers import format_currency
from PIL import Image, ImageDraw

from adgen.color import Color
from adgen.composition import Composition, PlacedLayer
from adgen.fonts import FontSpec, script_for
from adgen.geometry import Box
from adgen.layout_templates import Slot
from adgen.marks import Mark, marks_to_place
from adgen.placement import load_artwork, place_artwork
from adgen.plate_quality import fit_plate
from adgen.request import ResolvedRequest
from adgen.typesetting import TextStyle, typeset

# Visible AI label text per language. zh: GB 45438-2025 expects "AI生成" / "人工智能生成".
AI_LABEL_TEXT = {"en": "AI-generated", "ja": "AI生成画像", "zh": "AI生成", "ko": "AI 생성"}
# Minimum label text height as a fraction of the shortest side, per locale; zh-CN's 5% is
# GB 45438-2025 §4.1 (explicit label on images: text height >= 5% of the shortest side).
AI_LABEL_MIN_HEIGHT = {"zh-CN": 0.05}
AI_LABEL_DEFAULT_HEIGHT = 0.022
AI_LABEL_FLOOR_PX = 9
# Dense Han characters (画, 像, 機) lose strokes below ~11 px: measured with the bundled OCR,
# 9 px "画像" reads as "両像" while 9 px Latin reads back clean. CJK copy never goes below this.
CJK_FLOOR_PX = 11
CJK_SCRIPTS = frozenset({"ja", "zh-Hans", "zh-Hant", "ko"})
# Aim above WCAG's 4.5 / 3.0 so the check, measuring the final pixels independently, agrees.
CONTRAST_TARGETS = {"min_contrast": 4.5 * 1.08, "min_contrast_large": 3.0 * 1.08}


def compose(plate: Image.Image, request: ResolvedRequest) -> Composition:
    """Lay out one asset: plate cover-fit to the format, then product, logo, marks, copy and AI label."""
    size = request.format.size
    # Enlarged without the plate's pixel grid or 8-bit bands (adgen.plate_quality).
    fitted = fit_plate(plate, size.as_tuple())
    if request.format.marketplace:
        # Marketplace main images are the product on pure RGB 255 white, whatever plate came in.
        fitted = Image.new("RGB", size.as_tuple(), (255, 255, 255))
    area = request.format.safe_area.box(size)
    # Unknown or disallowed marks are input errors: raise before any pixel is placed.
    marks = () if request.format.marketplace else marks_to_place(
        request.product.marks, request.brand, request.product.locale, request.product.category)
    canvas, layers, notes = fitted, [], []

    canvas, product_layer = _place_product(canvas, request, area)
    if product_layer:
        layers.append(product_layer)
        notes.extend(product_layer.notes)
    if not request.format.marketplace:
        canvas, logo_layer = _place_logo(canvas, request, area)
        layers.append(logo_layer)
        canvas, mark_layers, mark_notes = _place_marks(canvas, marks, request, area)
        layers.extend(mark_layers)
        notes.extend(mark_notes)
        for slot_name, text in _copy_for_slots(request).items():
            slot = request.template.slot(slot_name)
            if slot is None:
                notes.append(f"{slot_name}: the {request.template.name} template has no slot; copy not placed")
                continue
            canvas, layer = _place_text(canvas, slot_name, text, _text_box(slot.box_in(area)), slot, request,
                                        cap_px=round(slot.max_size * min(area.width, area.height)))
            if slot.role != "button":
                layer = replace(layer, slot_box=slot.box_in(area))
            layers.append(layer)
            if layer.overflow:
                notes.append(f"{slot_name}: does not fit its slot at {layer.font_size_px}px; set at the floor "
                             "and reported (text.overflow)")
        canvas, label = _place_ai_label(canvas, request, area)
        layers.append(label)
    return Composition(image=canvas, plate=fitted, layers=tuple(layers), notes=tuple(notes))


def _text_box(slot_box: Box) -> Box:
    # Inset by the glyphs' side bearings (a few px) so ink never crosses the slot's side edges;
    # the line height already holds ascenders and descenders, so the height stays whole.
    return Box(slot_box.left + 2, slot_box.top, slot_box.right - 2, slot_box.bottom)


def _place_product(canvas, request: ResolvedRequest, area: Box):
    slot = request.template.slot("product")
    path = request.product.product_image
    if slot is None or path is None:
        return canvas, None
    from adgen.product_photo import request_product_artwork

    artwork, source, cutout = request_product_artwork(request)
    # Marketplace slots measure from the canvas, not the safe area (product fill rule).
    base = Box(0, 0, *request.format.size.as_tuple()) if request.format.marketplace else area
    slot_box = slot.box_in(base)
    placed = place_artwork(canvas, artwork, slot_box, valign="center" if request.format.marketplace else "bottom",
                           shadow=not request.format.marketplace)
    notes = ()
    if cutout is not None:
        notes = (f"product photo cut out automatically ({cutout.method}, confidence {cutout.confidence:.2f})",) \
            if cutout.applied else (f"product photo placed as a framed photo: {cutout.reason}",)
    elif not placed.has_alpha:
        notes = ("product image has no alpha: placed as a framed photo",)
    notes += placed.notes
    layer = PlacedLayer(name="product", kind="image", box=placed.box, slot_box=slot_box, source=source,
                        scale=placed.scale, notes=notes, cutout=cutout.as_dict() if cutout else None)
    return placed.image, layer


def _place_logo(canvas, request: ResolvedRequest, area: Box):
    kit = request.brand
    slot = request.template.slot("logo")
    slot_box = slot.box_in(area) if slot else Box(area.left, area.top, area.left + area.width // 4,
                                                  area.top + area.height // 10)
    artwork = load_artwork(kit.logo_path, "logo.file")
    # Keep the kit's clear space inside the slot: the logo gets the slot minus that margin.
    clear = kit.logo.clear_space
    inner_h = slot_box.height / (1 + 2 * clear)
    inner_w = slot_box.width - 2 * clear * inner_h
    inner = Box.from_xywh(slot_box.left + clear * inner_h, slot_box.top + clear * inner_h,
                          max(1, inner_w), max(1, inner_h))
    placed = place_artwork(canvas, artwork, inner, halign=slot.align if slot else "left",
                           min_width_px=kit.logo.min_width_px)
    layer = PlacedLayer(name="logo", kind="image", box=placed.box, slot_box=slot_box,
                        source=kit.logo_path, scale=placed.scale)
    return placed.image, layer


def _place_marks(canvas, marks: tuple[Mark, ...], request: ResolvedRequest, area: Box):
    """Certification marks in a row in the marks slot, each at >= its minimum size with clear space."""
    if not marks:
        return canvas, [], []
    slot = request.template.slot("marks")
    ids = ", ".join(m.id for m in marks)
    if slot is None:
        return canvas, [], [f"marks: the {request.template.name} template has no marks slot; {ids} not placed"]
    slot_box = slot.box_in(area)
    clear = max(m.clear_space for m in marks)
    arts = [load_artwork(m.file, f"marks.{m.id}") for m in marks]
    height = _marks_height(slot_box, arts, clear)
    notes = []
    while arts and height < max(m.min_size_px for m in marks):
        # The row is too narrow for every mark at its minimum size: drop the last one, say so.
        notes.append(f"marks: {marks[-1].id} does not fit the {request.template.name} marks slot at its "
                     f"minimum {marks[-1].min_size_px}px; not placed")
        marks, arts = marks[:-1], arts[:-1]
        height = _marks_height(slot_box, arts, clear)
    gap = math.ceil(clear * height)
    widths = [math.floor(a.width / a.height * height) for a in arts]
    row = sum(widths) + gap * (len(arts) - 1)
    inner_w = slot_box.width - 2 * gap
    x = slot_box.left + gap + {"left": 0, "center": (inner_w - row) // 2, "right": inner_w - row}[slot.align]
    top = slot_box.top + (slot_box.height - height) // 2
    layers = []
    for mark, art, width in zip(marks, arts, widths):
        placed = place_artwork(canvas, art, Box(x, top, x + width, top + height))
        canvas = placed.image
        layers.append(PlacedLayer(name=f"mark:{mark.id}", kind="image", box=placed.box,
                                  slot_box=placed.box.expand(mark.clear_space * placed.box.height),
                                  source=mark.file, scale=placed.scale))
        x += width + gap
    return canvas, layers, notes


def _marks_height(slot_box: Box, arts, clear: float) -> int:
    """One height for the row of marks: the slot's height less clear space above and below, and
    no more than the slot's width holds (marks plus clear space between and around them), px."""
    if not arts:
        return 0
    by_height = slot_box.height / (1 + 2 * clear)
    by_width = slot_box.width / (sum(a.width / a.height for a in arts) + clear * (len(arts) + 1))
    return math.floor(min(by_height, by_width)) - 1  # 1 px for rounding the clear space


def _copy_for_slots(request: ResolvedRequest) -> dict[str, str]:
    product = request.product
    copy = {"headline": product.headline, "subhead": product.subhead, "cta": product.cta}
    if product.price is not None:
        price = format_currency(product.price, product.currency, locale=product.locale.replace("-", "_"))
        # CLDR writes yen in ja-JP as the full-width "￥" (U+FFE5), which the Latin face lacks
        # (tofu); NFKC gives the ordinary "¥" that Japanese price tags use as well.
        copy["price"] = unicodedata.normalize("NFKC", price)
    disclaimers = request.brand.disclaimers_for(product.category, product.locale)
    if disclaimers:
        copy["disclaimer"] = " ".join(disclaimers)
    return {slot: text for slot, text in copy.items() if text}


def _font_for(request: ResolvedRequest, role: str) -> FontSpec:
    font = request.brand.fonts.headline if role in ("headline", "button") else request.brand.fonts.body
    file = request.brand.kit_dir / font.file if font.file else None
    return FontSpec(family=font.family, weight=font.weight, file=file)


def _palette(request: ResolvedRequest) -> list[Color]:
    return list(request.brand.colors.values())


def _place_text(canvas, name: str, text: str, box: Box, slot: Slot, request: ResolvedRequest, cap_px: int = 0):
    if slot.role == "button":
        return _place_button(canvas, name, text, box, slot, request)
    fill_px = round(box.height * 0.8 / max(1, min(slot.max_lines, 2)))
    floor = _floor_px(slot.min_px, text, request.product.locale)
    style = TextStyle(max_size_px=max(floor, min(fill_px, cap_px) if cap_px else fill_px),
                      min_size_px=floor, max_lines=slot.max_lines, align=slot.align, valign="top",
                      **CONTRAST_TARGETS)
    return _typeset_onto(canvas, name, text, box, style, request, _font_for(request, slot.role))


def _floor_px(min_px: int, text: str, locale: str) -> int:
    return max(min_px, CJK_FLOOR_PX) if script_for(text, locale) in CJK_SCRIPTS else min_px


def _place_button(canvas, name: str, text: str, slot_box: Box, slot: Slot, request: ResolvedRequest):
    """A rounded button in the brand's accent colour, as wide as its label plus padding."""
    colors = request.brand.colors
    fill = colors.get("accent") or colors.get("primary") or next(iter(colors.values()))
    font = _font_for(request, "button")
    floor = _floor_px(slot.min_px, text, request.product.locale)
    # Padding shrinks on tiny buttons (320x50) before the label would drop under its floor.
    pad_y = max(1, min(round(slot_box.height * 0.16), (slot_box.height - math.ceil(floor * 1.4)) // 2))
    inner_h = slot_box.height - 2 * pad_y
    pad_x = min(round(inner_h * 0.55), max(3, slot_box.width // 10))
    style = TextStyle(max_size_px=max(floor, round(inner_h * 0.72)), min_size_px=floor, max_lines=1,
                      align="center", valign="middle", **CONTRAST_TARGETS)
    # Measure first (typeset is pure), then draw the button to fit the label and set it again
    # on the button's own pixels, so the colour is chosen against the button fill.
    probe = typeset(text, Box(slot_box.left + pad_x, slot_box.top + pad_y, slot_box.right - pad_x,
                              slot_box.bottom - pad_y), locale=request.product.locale, font=font, style=style,
                    background=canvas, palette=_palette(request))
    width = min(slot_box.width, max(probe.ink_box.width + 2 * pad_x, round(slot_box.height * 2.4)))
    left = slot_box.left + {"left": 0, "center": (slot_box.width - width) // 2,
                            "right": slot_box.width - width}[slot.align]
    button = Box(left, slot_box.top, left + width, slot_box.bottom)
    out = canvas.copy()
    ImageDraw.Draw(out).rounded_rectangle((button.left, button.top, button.right - 1, button.bottom - 1),
                                          radius=max(2, button.height // 4), fill=fill.as_tuple())
    inner = Box(button.left + pad_x, button.top + pad_y, button.right - pad_x, button.bottom - pad_y)
    out, layer = _typeset_onto(out, name, text, inner, style, request, font)
    # The button is the plate behind the label: recorded as its scrim colour.
    return out, replace(layer, slot_box=button, scrim=fill.hex, notes=(f"button {fill.hex}",))


def _typeset_onto(canvas, name, text, box, style, request, font):
    result = typeset(text, box, locale=request.product.locale, font=font, style=style,
                     background=canvas, palette=_palette(request))
    layer_pixels, ink_box, mask, line_boxes = result.layer, result.ink_box, result.glyph_mask, result.line_boxes
    if result.overflow:
        # Copy that cannot fit even at its floor keeps only its whole lines inside the slot, so
        # it never covers another layer, and is recorded as overflow for text.overflow to
        # report: cut, but never silently.
        kept = tuple(b for b in line_boxes if box.contains(b))
        layer_pixels = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        for line in kept:
            layer_pixels.paste(result.layer.crop(line.as_tuple()), line.as_tuple()[:2])
        clipped = Box(min(b.left for b in kept), min(b.top for b in kept), max(b.right for b in kept),
                      max(b.bottom for b in kept)) if kept else Box(box.left, box.top, box.left, box.top)
        full = Image.new("L", canvas.size, 0)
        full.paste(result.glyph_mask, ink_box.as_tuple()[:2])
        lines_mask = Image.new("L", canvas.size, 0)
        for line in kept:
            lines_mask.paste(full.crop(line.as_tuple()), line.as_tuple()[:2])
        ink_box, line_boxes, mask = clipped, kept, lines_mask.crop(clipped.as_tuple())
    out = canvas.convert("RGBA")
    out.alpha_composite(layer_pixels)
    layer = PlacedLayer(
        name=name, kind="text", box=ink_box, slot_box=box, text=text,
        font_size_px=result.font_size_px, font_path=str(result.font_path), color=result.color.hex,
        scrim=result.scrim.hex if result.scrim else None, contrast_ratio=result.contrast_ratio,
        is_large_text=result.is_large_text, overflow=result.overflow, lines=tuple(result.lines),
        line_boxes=line_boxes, glyph_mask=mask)
    return out.convert("RGB"), layer


def _place_ai_label(canvas, request: ResolvedRequest, area: Box):
    locale = request.product.locale
    text = AI_LABEL_TEXT.get(locale.split("-")[0], AI_LABEL_TEXT["en"])
    shortest = request.format.size.shortest_side
    min_height = max(_floor_px(AI_LABEL_FLOOR_PX, text, locale),
                     round(shortest * AI_LABEL_MIN_HEIGHT.get(locale, AI_LABEL_DEFAULT_HEIGHT)))
    slot = request.template.slot("ai_label")
    if slot is not None:
        box = slot.box_in(area)
    else:
        width = min(area.width, round(min_height * (len(text) + 2) * 0.75))
        box = Box(area.right - width, area.bottom - round(min_height * 1.6), area.right, area.bottom)
    style = TextStyle(max_size_px=min_height, min_size_px=min_height, max_lines=1, align="right", valign="bottom",
                      **CONTRAST_TARGETS)
    canvas, layer = _typeset_onto(canvas, "ai_label", text, box, style, request, _font_for(request, "body"))
    return canvas, replace(layer, notes=(f"minimum text height {min_height}px for {locale}",))
