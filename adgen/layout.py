"""Compose stage: fit the plate, place product and logo from their own pixels, typeset the copy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from babel.numbers import format_currency
from PIL import Image, ImageDraw, ImageOps

from adgen.color import Color
from adgen.composition import Composition, PlacedLayer
from adgen.fonts import FontSpec
from adgen.geometry import Box
from adgen.layout_templates import Slot
from adgen.placement import load_artwork, place_artwork
from adgen.request import ResolvedRequest
from adgen.typesetting import TextStyle, typeset

# Visible AI label text per language. zh: GB 45438-2025 expects "AI生成" / "人工智能生成".
AI_LABEL_TEXT = {"en": "AI-generated", "ja": "AI生成画像", "zh": "AI生成", "ko": "AI 생성"}
# Minimum label text height as a fraction of the shortest side, per locale; zh-CN's 5% is
# GB 45438-2025 §4.1 (explicit label on images: text height >= 5% of the shortest side).
AI_LABEL_MIN_HEIGHT = {"zh-CN": 0.05}
AI_LABEL_DEFAULT_HEIGHT = 0.022
AI_LABEL_FLOOR_PX = 9


def compose(plate: Image.Image, request: ResolvedRequest) -> Composition:
    """Lay out one asset: plate cover-fit to the format, then product, logo, copy and AI label."""
    size = request.format.size
    fitted = ImageOps.fit(plate.convert("RGB"), size.as_tuple(), Image.Resampling.LANCZOS)
    area = request.format.safe_area.box(size)
    canvas, layers, notes = fitted, [], []

    canvas, product_layer = _place_product(canvas, request, area)
    if product_layer:
        layers.append(product_layer)
        notes.extend(product_layer.notes)
    if not request.format.marketplace:
        canvas, logo_layer = _place_logo(canvas, request, area)
        layers.append(logo_layer)
        for slot_name, text in _copy_for_slots(request).items():
            slot = request.template.slot(slot_name)
            if slot is None:
                notes.append(f"{slot_name}: the {request.template.name} template has no slot; copy not placed")
                continue
            canvas, layer = _place_text(canvas, slot_name, text, slot.box_in(area), slot, request)
            layers.append(layer)
        canvas, label = _place_ai_label(canvas, request, area)
        layers.append(label)
    return Composition(image=canvas, plate=fitted, layers=tuple(layers), notes=tuple(notes))


def _place_product(canvas, request: ResolvedRequest, area: Box):
    slot = request.template.slot("product")
    path = request.product.product_image
    if slot is None or path is None:
        return canvas, None
    artwork = load_artwork(path, "product_image")
    # Marketplace slots measure from the canvas, not the safe area (product fill rule).
    base = Box(0, 0, *request.format.size.as_tuple()) if request.format.marketplace else area
    slot_box = slot.box_in(base)
    placed = place_artwork(canvas, artwork, slot_box, valign="center" if request.format.marketplace else "bottom",
                           shadow=not request.format.marketplace)
    notes = () if placed.has_alpha else ("product image has no alpha: placed as a framed photo",)
    layer = PlacedLayer(name="product", kind="image", box=placed.box, slot_box=slot_box,
                        source=path, scale=placed.scale, notes=notes)
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
    placed = place_artwork(canvas, artwork, inner, halign="left", min_width_px=kit.logo.min_width_px)
    layer = PlacedLayer(name="logo", kind="image", box=placed.box, slot_box=slot_box,
                        source=kit.logo_path, scale=placed.scale)
    return placed.image, layer


def _copy_for_slots(request: ResolvedRequest) -> dict[str, str]:
    product = request.product
    copy = {"headline": product.headline, "subhead": product.subhead, "cta": product.cta}
    if product.price is not None:
        copy["price"] = format_currency(product.price, product.currency, locale=product.locale.replace("-", "_"))
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


def _place_text(canvas, name: str, text: str, box: Box, slot: Slot, request: ResolvedRequest):
    if slot.role == "button":
        canvas, box = _draw_button(canvas, box, request)
    style = TextStyle(max_size_px=max(slot.min_px, round(box.height * 0.8 / max(1, min(slot.max_lines, 2)))),
                      min_size_px=slot.min_px, max_lines=slot.max_lines,
                      align="center" if slot.role == "button" else slot.align,
                      valign="middle" if slot.role == "button" else "top")
    return _typeset_onto(canvas, name, text, box, style, request, _font_for(request, slot.role))


def _draw_button(canvas, box: Box, request: ResolvedRequest):
    """A rounded button in the brand's accent colour; the CTA is typeset inside it."""
    colors = request.brand.colors
    fill = colors.get("accent") or colors.get("primary") or next(iter(colors.values()))
    out = canvas.copy()
    radius = max(2, box.height // 4)
    ImageDraw.Draw(out).rounded_rectangle(box.as_tuple(), radius=radius, fill=fill.as_tuple())
    pad = max(1, box.height // 8)
    return out, Box(box.left + 2 * pad, box.top + pad, box.right - 2 * pad, box.bottom - pad)


def _typeset_onto(canvas, name, text, box, style, request, font):
    result = typeset(text, box, locale=request.product.locale, font=font, style=style,
                     background=canvas, palette=_palette(request))
    out = canvas.convert("RGBA")
    out.alpha_composite(result.layer)
    layer = PlacedLayer(
        name=name, kind="text", box=result.ink_box, slot_box=box, text=text,
        font_size_px=result.font_size_px, font_path=str(result.font_path), color=result.color.hex,
        scrim=result.scrim.hex if result.scrim else None, contrast_ratio=result.contrast_ratio,
        is_large_text=result.is_large_text, overflow=result.overflow, lines=tuple(result.lines),
        glyph_mask=_glyph_mask(result, result.ink_box))
    return out.convert("RGB"), layer


def _glyph_mask(result, ink_box: Box) -> Image.Image:
    """Pixels of the text colour in the typeset layer (glyphs, not the scrim), cropped to the ink box."""
    layer = np.asarray(result.layer.crop(ink_box.as_tuple()))
    color = np.array(result.color.as_tuple())
    close = np.abs(layer[..., :3].astype(int) - color).max(axis=-1) <= 24
    return Image.fromarray(((layer[..., 3] > 160) & close).astype(np.uint8) * 255, "L")


def _place_ai_label(canvas, request: ResolvedRequest, area: Box):
    locale = request.product.locale
    text = AI_LABEL_TEXT.get(locale.split("-")[0], AI_LABEL_TEXT["en"])
    shortest = request.format.size.shortest_side
    min_height = max(AI_LABEL_FLOOR_PX, round(shortest * AI_LABEL_MIN_HEIGHT.get(locale, AI_LABEL_DEFAULT_HEIGHT)))
    slot = request.template.slot("ai_label")
    if slot is not None:
        box = slot.box_in(area)
    else:
        width = min(area.width, round(min_height * (len(text) + 2) * 0.75))
        box = Box(area.right - width, area.bottom - round(min_height * 1.6), area.right, area.bottom)
    style = TextStyle(max_size_px=min_height, min_size_px=min_height, max_lines=1, align="right", valign="bottom")
    canvas, layer = _typeset_onto(canvas, "ai_label", text, box, style, request, _font_for(request, "body"))
    return canvas, replace(layer, notes=(f"minimum text height {min_height}px for {locale}",))
