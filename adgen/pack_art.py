"""Panel art for a flat: one continuous plate across the printable panels, the front composed by the
existing layout, the back's label text and the barcode side as vector, the glue flap left bare.

pack_art(plate, flat, resolved) -> PackArt. The raster is the flat plus bleed at ppi (RGB; the
PDF writer converts it through the output intent); vector items are in mm on the flat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw, ImageOps

from adgen.barcodes import Symbol, barcode
from adgen.composition import Composition
from adgen.dielines import Dieline, Panel
from adgen.formats import MM_PER_INCH, Format, SafeArea
from adgen.layout import compose
from adgen.layout_templates import template_for
from adgen.pack_label import PanelArt, PlacedSymbol, TextRun, back_panel
from adgen.request import ResolvedRequest

PPI = 300  # offset-print minimum for images at their placed size (printers' job-submission guides)
BARCODE_PAD_MM = 1.0  # white beyond the quiet zones: the plate never touches them
QR_MAGNIFICATION = 1.0
FRONT_SLOTS_LEFT_OUT = ("price: the", "cta: the")


@dataclass(frozen=True)
class PackArt:
    """Everything the press PDF draws: raster (flat + bleed at ppi, RGB), vector panel art, notes."""

    flat: Dieline
    raster: Image.Image
    ppi: int
    front: Composition
    panels: tuple[PanelArt, ...]
    notes: tuple[str, ...]

    def mm_to_px(self, mm: float) -> int:
        return round(mm / MM_PER_INCH * self.ppi)


def pack_art(plate: Image.Image, flat: Dieline, resolved: ResolvedRequest, *, magnification: float = 1.0,
             ppi: int = PPI) -> PackArt:
    """Lay out every panel of the flat over one plate; the glue flap gets no ink."""
    b = flat.bleed_mm
    # Rounded up: the raster is stretched over the bleed box, so it never lands under ppi.
    size = (math.ceil((flat.width_mm + 2 * b) / MM_PER_INCH * ppi), math.ceil((flat.height_mm + 2 * b) / MM_PER_INCH * ppi))
    # 1. one continuous picture at the flat's size, cropped per panel by the ink mask below
    canvas = ImageOps.fit(plate.convert("RGB"), size, Image.Resampling.LANCZOS)
    # 2. the front: the ad composition (product, headline, logo, marks, label) at the panel's size
    front_panel = flat.first("front")
    front = _compose_front(canvas, front_panel, flat, resolved, ppi)
    canvas.paste(front.image.rotate(-front_panel.rotation, expand=True), _px_box(front_panel, b, ppi)[:2])
    # 3. the glue flap and everything outside the cut (beyond bleed) stay paper white
    canvas = Image.composite(canvas, Image.new("RGB", size, "white"), _ink_mask(flat, size, ppi))
    # 4. back label, then the barcode where it fits (a side panel, else the back's foot)
    # A pack front has no price or button by design: compose's "no slot" notes for them are no news.
    notes = [f"front: {n}" for n in front.notes if not n.startswith(FRONT_SLOTS_LEFT_OUT)]
    product = resolved.product
    panels = []
    symbols = _symbols(product, magnification)
    back = flat.first("back")
    home = _barcode_home(flat, symbols)
    reserve = _stack_height(symbols) + 2 * BARCODE_PAD_MM if home is back else 0.0
    if back is not None:
        art = back_panel(back, product, resolved.brand, reserve_mm=reserve)
        panels.append(art)
        notes.extend(art.notes)
    for side in (p for p in flat.panels if p.role == "side" and p is not home):
        panels.append(PanelArt(side, texts=(_spine(side, resolved, canvas, b, ppi),)))
    if symbols:
        if home is None:
            notes.append("barcode: no side or back panel is large enough for it at this magnification")
        else:
            placed = _place_symbols(home, symbols)
            texts = _side_text(home, product, resolved, canvas, b, ppi) if home is not back else ()
            art = next((a for a in panels if a.panel is home), None)
            if art is None:
                panels.append(PanelArt(home, symbols=placed, texts=texts))
            else:
                panels[panels.index(art)] = replace(art, symbols=art.symbols + placed)
    elif product.gtin is None:
        notes.append("barcode: the product spec has no gtin; no barcode placed")
    return PackArt(flat, canvas, ppi, front, tuple(panels), tuple(notes))


def _px(mm: float, ppi: int) -> int:
    return round(mm / MM_PER_INCH * ppi)


def _px_box(panel: Panel, bleed: float, ppi: int) -> tuple[int, int, int, int]:
    """A panel's trim rect in raster px (the raster starts at the bleed's top-left corner)."""
    left, top = _px(panel.x + bleed, ppi), _px(panel.y + bleed, ppi)
    return left, top, _px(panel.x + panel.w + bleed, ppi), _px(panel.y + panel.h + bleed, ppi)


def _compose_front(canvas: Image.Image, panel: Panel, flat: Dieline, resolved: ResolvedRequest,
                   ppi: int) -> Composition:
    """compose() at the front panel's size, over the plate's own crop there (so the picture runs on)."""
    box = _px_box(panel, flat.bleed_mm, ppi)
    crop = canvas.crop(box)
    if panel.rotation:
        crop = crop.rotate(panel.rotation, expand=True)
    w_mm, h_mm = (panel.w, panel.h) if panel.rotation in (0, 180) else (panel.h, panel.w)
    top, right, bottom, left = panel.safe
    fmt = Format(id=f"pack-{flat.name}-front", channel="print", width=crop.width, height=crop.height,
                 template=resolved.format.template, max_kb=resolved.format.max_kb, file_types=("png",),
                 safe_area=SafeArea(top / h_mm, right / w_mm, bottom / h_mm, left / w_mm),
                 width_mm=w_mm, height_mm=h_mm, bleed_mm=0.0, safe_mm=max(panel.safe), ppi=ppi)
    front = replace(resolved, format=fmt, template=template_for(fmt, resolved.brand))
    return compose(crop, front)


def _ink_mask(flat: Dieline, size: tuple[int, int], ppi: int) -> Image.Image:
    """255 where ink goes: printable panels plus bleed beyond the cut, never over a glue flap."""
    b = flat.bleed_mm
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    glue = [p for p in flat.panels if not p.printable]
    for p in flat.panels:
        if p.printable:
            draw.rectangle(_grown(p, b, b, ppi), fill=255)
    for p in glue:  # the bleed of neighbouring panels stops at the glue flap's crease
        draw.rectangle(_grown(p, b, b, ppi), fill=0)
    for p in flat.panels:
        if p.printable:
            draw.rectangle(_grown(p, 0.0, b, ppi), fill=255)
    return mask


def _grown(p: Panel, grow: float, bleed: float, ppi: int) -> tuple[int, int, int, int]:
    return (_px(p.x - grow + bleed, ppi), _px(p.y - grow + bleed, ppi),
            _px(p.x + p.w + grow + bleed, ppi) - 1, _px(p.y + p.h + grow + bleed, ppi) - 1)


def _symbols(product, magnification: float) -> list[Symbol]:
    symbols = []
    if product.gtin:
        symbols.append(barcode(product.gtin, magnification=magnification))
    if product.label is not None and product.label.qr_url:
        symbols.append(barcode(url=product.label.qr_url, magnification=QR_MAGNIFICATION))
    return symbols


def _stack_height(symbols: list[Symbol]) -> float:
    return max((s.height_mm for s in symbols), default=0.0)


def _barcode_home(flat: Dieline, symbols: list[Symbol]) -> Panel | None:
    """The first side panel the symbols fit on (upright or turned 90 degrees), else the back panel."""
    if not symbols:
        return None
    need_w = sum(s.width_mm for s in symbols) + 2 * BARCODE_PAD_MM * len(symbols)
    need_h = _stack_height(symbols) + 2 * BARCODE_PAD_MM
    candidates = [p for p in flat.panels if p.role == "side"] + [p for p in flat.panels if p.role == "back"]
    for p in candidates:
        _, _, w, h = p.safe_rect
        stacked_h = sum(s.height_mm + 2 * BARCODE_PAD_MM for s in symbols)
        widest = max(s.width_mm for s in symbols) + 2 * BARCODE_PAD_MM
        if (need_w <= w and need_h <= h) or (widest <= w and stacked_h <= h * 0.6) or (
                p.role == "side" and need_h <= w and widest <= h * 0.6):
            return p
    return None


def _place_symbols(panel: Panel, symbols: list[Symbol]) -> tuple[PlacedSymbol, ...]:
    """Bottom of the panel's safe area: side by side when they fit, stacked, or turned 90 degrees."""
    x, y, w, h = panel.safe_rect
    pad = BARCODE_PAD_MM
    need_w = sum(s.width_mm + 2 * pad for s in symbols)
    placed = []
    if need_w <= w and _stack_height(symbols) + 2 * pad <= h:
        cursor = x + w
        for s in symbols:  # right-aligned at the foot: barcodes sit bottom-right by convention
            cursor -= s.width_mm + pad
            placed.append(PlacedSymbol(s, cursor, y + h - pad - s.height_mm))
            cursor -= pad
        return tuple(placed)
    if max(s.width_mm for s in symbols) + 2 * pad <= w:
        cursor = y + h
        for s in symbols:
            cursor -= s.height_mm + pad
            placed.append(PlacedSymbol(s, x + (w - s.width_mm) / 2, cursor))
            cursor -= pad
        return tuple(placed)
    cursor = y + h  # a narrow side: the bars run across it (ladder orientation), read the same
    for s in symbols:
        cursor -= s.width_mm + pad
        placed.append(PlacedSymbol(s, x + (w - s.height_mm) / 2, cursor, rotation=90))
        cursor -= pad
    return tuple(placed)


def _side_text(panel: Panel, product, resolved, canvas: Image.Image, bleed: float, ppi: int) -> tuple[TextRun, ...]:
    """The brand name and the net quantity above the barcode on a side panel."""
    from adgen.fonts import FontSpec, font_path, load_font, script_for
    from adgen.pack_label import PT_MM, label_rules

    x, y, w, _ = panel.safe_rect
    size = 10 * PT_MM
    font = resolved.brand.fonts.headline
    spec = FontSpec(family=font.family, weight=min(font.weight, 700),
                    file=resolved.brand.kit_dir / font.file if font.file else None)
    lines = [resolved.brand.name]
    if product.label is not None and product.label.net_quantity:
        rules = label_rules(product.locale)
        lines.append(f"{rules.net}{rules.colon}{product.label.net_quantity}")
    runs, cursor = [], y
    ink = _ink_over(canvas, panel, bleed, ppi)
    for line in lines:
        script = script_for(line, product.locale)
        em = load_font(spec, script, 200).getlength(line) / 200
        size = min(size, w / max(em, 1e-6))  # shrink a long name to the panel's width
        cursor += size * 1.3
        runs.append(TextRun(line, x + w / 2, cursor, size, font_path(spec, script_for(line, product.locale)),
                            spec.weight, "center", ink=ink, mandatory=line != lines[0]))  # the net quantity is
        size = 8 * PT_MM
    return tuple(runs)


def _spine(panel: Panel, resolved, canvas: Image.Image, bleed: float, ppi: int) -> TextRun:
    """The brand name up a side panel, bottom to top, as large as fits, in K or knocked out by the plate."""
    from adgen.fonts import FontSpec, font_path, load_font, script_for

    x, y, w, h = panel.safe_rect
    font = resolved.brand.fonts.headline
    spec = FontSpec(family=font.family, weight=min(font.weight, 700),
                    file=resolved.brand.kit_dir / font.file if font.file else None)
    name = resolved.brand.name
    script = script_for(name, resolved.product.locale)
    em = load_font(spec, script, 200).getlength(name) / 200
    size = min(w * 0.45, h * 0.6 / max(em, 1e-6))
    # Rotated 90 degrees, the glyphs stand to the left of their baseline: a cap height (~0.7 em) wide.
    return TextRun(name, x + w / 2 + size * 0.35, y + h / 2, size, font_path(spec, script), spec.weight, "center",
                   rotation=90, ink=_ink_over(canvas, panel, bleed, ppi))


def _ink_over(canvas: Image.Image, panel: Panel, bleed: float, ppi: int) -> str:
    """K on a light plate, paper (knocked out) on a dark one: by the plate's mean luminance over the panel."""
    region = canvas.crop(_px_box(panel, bleed, ppi)).convert("L")
    mean = sum(i * n for i, n in enumerate(region.histogram())) / max(1, region.width * region.height)
    return "k" if mean >= 128 else "paper"
