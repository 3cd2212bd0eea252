"""Typeset one string into a slot: shape, wrap, shrink to fit, then pick a readable colour.

Text is typeset, never generated: glyphs come from the brand's or the packaged fonts,
shaped by HarfBuzz through Pillow's raqm engine. The result is a transparent layer the
size of the background, plus every box that was drawn, so compliance checks can measure
exactly what was placed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from adgen.color import Color
from adgen.errors import InputError
from adgen.fonts import FontSpec, font_path, load_font, raqm_available, script_for
from adgen.geometry import Box, Size


@dataclass(frozen=True)
class TextStyle:
    """How one slot's text is set; sizes in px, line_spacing as a multiple of the size."""

    max_size_px: int = 96
    min_size_px: int = 14
    max_lines: int = 3
    align: Literal["left", "center", "right"] = "left"
    valign: Literal["top", "middle", "bottom"] = "top"
    line_spacing: float = 1.2
    min_contrast: float = 4.5
    min_contrast_large: float = 3.0
    allow_scrim: bool = True
    balance: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.min_size_px <= self.max_size_px:
            raise InputError("need 1 <= min_size_px <= max_size_px", field="style.min_size_px",
                             value=(self.min_size_px, self.max_size_px))
        if self.max_lines < 1:
            raise InputError("max_lines must be >= 1", field="style.max_lines",
                             value=self.max_lines)
        if self.align not in ("left", "center", "right"):
            raise InputError("align is left|center|right", field="style.align", value=self.align)
        if self.valign not in ("top", "middle", "bottom"):
            raise InputError("valign is top|middle|bottom", field="style.valign",
                             value=self.valign)


@dataclass(frozen=True)
class TypesetText:
    """Typeset text: an RGBA layer the size of the background and what was placed on it.

    ink_box and line_boxes cover the glyphs only; scrim_box is the plate behind them, if any.
    contrast_ratio is the worst case (5th percentile) over the real pixels under and around
    the glyphs, after the scrim; required_contrast is the WCAG threshold that applied.
    """

    layer: Image.Image
    ink_box: Box
    line_boxes: tuple[Box, ...]
    lines: tuple[str, ...]
    font_size_px: int
    font_path: Path
    color: Color
    color_from_palette: bool
    scrim: Color | None
    scrim_opacity: float
    scrim_box: Box | None
    contrast_ratio: float
    required_contrast: float
    overflow: bool
    is_large_text: bool
    script: str


# Kinsoku shori (JIS X 4051): characters that may not start a line ...
NO_LINE_START = frozenset(
    "、。，．,.：；:;！？!?‼⁇⁈⁉）)］]｝}」』】〕〉》〙〗〟’”｠»"
    "ゝゞヽヾーぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ—"
    "ㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ々〻‐゠–〜～…‥・%％"
)
# ... and that may not end one (opening brackets; a currency sign stays with its number).
NO_LINE_END = frozenset("（(［[｛{「『【〔〈《〘〖〝‘“｟«$＄¥￥£€")

_HYPHENS = frozenset("-\u2010")
# Scripts written without spaces, where a line may break between any two characters.
_CHAR_BREAK_SCRIPTS = frozenset({"ja", "zh-Hans", "zh-Hant"})
# WCAG 2.x "large scale" text: 18 pt, or 14 pt bold; 1 pt = 4/3 CSS px.
_LARGE_PX, _LARGE_BOLD_PX, _BOLD_WEIGHT = 24.0, 14 * 4 / 3, 700
_WORST_CASE_PERCENTILE = 5.0
_BLACK, _WHITE = Color(0, 0, 0), Color(255, 255, 255)
_SCRIM_OPACITIES = (0.45, 0.55, 0.65, 0.75, 0.85)


def typeset(text: str, box: Box, *, locale: str, font: FontSpec, style: TextStyle,
            background: Image.Image, palette: Sequence[Color]) -> TypesetText:
    """Set text in box (absolute px of background) at the largest size that fits, readably."""
    if not text.strip():
        raise InputError("nothing to typeset", field="text", value=text)
    if box.width <= 0 or box.height <= 0:
        raise InputError("text box is empty", field="box", value=box.as_tuple())
    background = background.convert("RGB")
    script = script_for(text, locale)
    language = locale if raqm_available() and locale else None

    # 1. break into unbreakable pieces, then find the largest size that fits
    atoms = _atoms(text, script)
    size_px, lines, overflow = _fit(atoms, box, style, font, script, language)
    face = load_font(font, script, size_px)

    # 2. draw the glyph coverage where the lines go
    mask, line_boxes = _draw_mask(lines, face, box, style, size_px, language, background.size)
    ink = mask.getbbox()
    ink_box = Box(*ink) if ink else Box(box.left, box.top, box.left, box.top)

    # 3. colour from the palette for contrast against the real pixels; else a scrim
    is_large = size_px >= _LARGE_PX or (font.weight >= _BOLD_WEIGHT and size_px >= _LARGE_BOLD_PX)
    required = style.min_contrast_large if is_large else style.min_contrast
    region = ink_box.expand(_halo_px(size_px)).clamp_to(Size(*background.size))
    under = _pixels_under(mask, background, region, size_px)
    color, from_palette, measured = _pick_color(palette, under, required)
    scrim = None
    if measured < required and style.allow_scrim:
        scrim = _pick_scrim(palette, under, required, measured)
    layer, contrast, scrim_box = _paint(mask, background, region, ink_box, size_px,
                                        color, scrim)
    if scrim is not None:
        color, from_palette = scrim.text_color, scrim.text_from_palette

    return TypesetText(
        layer=layer, ink_box=ink_box, line_boxes=line_boxes, lines=tuple(lines),
        font_size_px=size_px, font_path=font_path(font, script), color=color,
        color_from_palette=from_palette, scrim=scrim.color if scrim else None,
        scrim_opacity=scrim.opacity if scrim else 0.0, scrim_box=scrim_box,
        contrast_ratio=contrast, required_contrast=required, overflow=overflow,
        is_large_text=is_large, script=script,
    )


@dataclass(frozen=True)
class _Atom:
    """A piece no line may break inside; glue is the space after it, dropped at a line end."""

    text: str
    glue: str = ""
    hard_break: bool = False


def _atoms(text: str, script: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    paragraphs = text.replace("\r\n", "\n").split("\n")
    for i, paragraph in enumerate(paragraphs):
        pieces = (_char_atoms(paragraph) if script in _CHAR_BREAK_SCRIPTS
                  else _word_atoms(paragraph))
        pieces = _kinsoku(pieces)
        if pieces and i < len(paragraphs) - 1:
            pieces[-1] = _Atom(pieces[-1].text, "", hard_break=True)
        atoms += pieces
    return atoms


def _word_atoms(paragraph: str) -> list[_Atom]:
    # Latin and Korean break only at spaces and after hyphens: never inside a word.
    atoms: list[_Atom] = []
    for word, glue in _split_spaces(paragraph):
        start = 0
        for j, ch in enumerate(word):
            if ch in _HYPHENS and 0 < j < len(word) - 1:
                atoms.append(_Atom(word[start:j + 1]))
                start = j + 1
        atoms.append(_Atom(word[start:], glue))
    return atoms


def _char_atoms(paragraph: str) -> list[_Atom]:
    # CJK may break between any two characters, but a run of Latin letters or digits
    # inside it ("iPhone15", "1980") is one word.
    atoms: list[_Atom] = []
    for word, glue in _split_spaces(paragraph):
        run = ""
        for ch in word:
            if ch.isascii() and ch.isalnum():
                run += ch
                continue
            if run:
                atoms.append(_Atom(run))
                run = ""
            atoms.append(_Atom(ch))
        if run:
            atoms.append(_Atom(run))
        if atoms:
            atoms[-1] = _Atom(atoms[-1].text, glue)
    return atoms


def _split_spaces(paragraph: str) -> list[tuple[str, str]]:
    """Each word with the whitespace after it; leading whitespace is dropped."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"(\S+)(\s*)", paragraph)]


def _kinsoku(atoms: list[_Atom]) -> list[_Atom]:
    merged: list[_Atom] = []
    for atom in atoms:
        if merged and (atom.text[0] in NO_LINE_START or merged[-1].text[-1] in NO_LINE_END):
            prev = merged.pop()
            atom = _Atom(prev.text + prev.glue + atom.text, atom.glue, atom.hard_break)
        merged.append(atom)
    return merged


def _fit(atoms: list[_Atom], box: Box, style: TextStyle, spec: FontSpec, script: str,
         language: str | None) -> tuple[int, list[str], bool]:
    """Largest size in [min, max] whose wrapped lines fit box; else the floor, overflowing."""

    def attempt(size_px: int) -> tuple[bool, list[str]]:
        face = load_font(spec, script, size_px)
        lines = _wrap(atoms, face, box.width, language)
        return _fits(lines, face, box, style, size_px, language), lines

    ok, lines = attempt(style.max_size_px)
    if ok:
        size_px = style.max_size_px
    else:
        floor_ok, floor_lines = attempt(style.min_size_px)
        if not floor_ok:
            return style.min_size_px, floor_lines, True
        # Fit is monotone in size for greedy wrapping in practice; bisect between the
        # floor (fits) and the ceiling (does not).
        lo, hi, lines = style.min_size_px, style.max_size_px, floor_lines
        while hi - lo > 1:
            mid = (lo + hi) // 2
            ok, mid_lines = attempt(mid)
            if ok:
                lo, lines = mid, mid_lines
            else:
                hi = mid
        size_px = lo
    if style.balance and len(lines) > 1:
        lines = _balance(atoms, load_font(spec, script, size_px), len(lines), box.width,
                         language)
    return size_px, lines, False


def _wrap(atoms: list[_Atom], face: ImageFont.FreeTypeFont, width: float,
          language: str | None) -> list[str]:
    """Greedy fill: each line takes atoms while the shaped line still fits width."""
    lines: list[str] = []
    current, glue = "", ""
    for atom in atoms:
        candidate = current + glue + atom.text if current else atom.text
        if current and _length(face, candidate, language) > width:
            lines.append(current)
            candidate = atom.text
        current, glue = candidate, atom.glue
        if atom.hard_break:
            lines.append(current)
            current, glue = "", ""
    if current:
        lines.append(current)
    return lines


def _fits(lines: list[str], face: ImageFont.FreeTypeFont, box: Box, style: TextStyle,
          size_px: int, language: str | None) -> bool:
    if len(lines) > style.max_lines:
        return False
    if _block_height(face, len(lines), size_px, style) > box.height:
        return False
    return all(_length(face, line, language) <= box.width for line in lines)


def _balance(atoms: list[_Atom], face: ImageFont.FreeTypeFont, n_lines: int, width: int,
             language: str | None) -> list[str]:
    # Narrowest width that still needs no more lines: evens out line lengths, so a
    # headline does not end in a single orphaned word.
    lo, hi = 1, width
    best = _wrap(atoms, face, width, language)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lines = _wrap(atoms, face, mid, language)
        if len(lines) <= n_lines and all(_length(face, ln, language) <= mid for ln in lines):
            hi, best = mid, lines
        else:
            lo = mid
    return best


def _length(face: ImageFont.FreeTypeFont, text: str, language: str | None) -> float:
    return face.getlength(text, language=language) if language else face.getlength(text)


def _block_height(face: ImageFont.FreeTypeFont, n_lines: int, size_px: int,
                  style: TextStyle) -> int:
    ascent, descent = face.getmetrics()
    return ascent + descent + _pitch(size_px, style) * (n_lines - 1)


def _pitch(size_px: int, style: TextStyle) -> int:
    return round(size_px * style.line_spacing)


def _draw_mask(lines: list[str], face: ImageFont.FreeTypeFont, box: Box, style: TextStyle,
               size_px: int, language: str | None,
               canvas: tuple[int, int]) -> tuple[Image.Image, tuple[Box, ...]]:
    mask = Image.new("L", canvas, 0)
    draw = ImageDraw.Draw(mask)
    block = _block_height(face, len(lines), size_px, style)
    slack = box.height - block
    top = box.top + {"top": 0, "middle": slack / 2, "bottom": slack}[style.valign]
    ascent = face.getmetrics()[0]
    kwargs = {"language": language} if language else {}
    boxes = []
    for i, line in enumerate(lines):
        slack_x = box.width - _length(face, line, language)
        x = box.left + {"left": 0, "center": slack_x / 2, "right": slack_x}[style.align]
        xy = (round(x), round(top + ascent + i * _pitch(size_px, style)))
        draw.text(xy, line, font=face, fill=255, anchor="ls", **kwargs)
        boxes.append(Box(*(round(v) for v in draw.textbbox(xy, line, font=face, anchor="ls",
                                                           **kwargs))))
    return mask, tuple(boxes)


def _halo_px(size_px: int) -> int:
    return max(1, min(4, size_px // 12))


def _pixels_under(mask: Image.Image, background: Image.Image, region: Box,
                  size_px: int) -> np.ndarray:
    """RGB of the pixels under the glyphs and a thin halo around them, (N, 3) uint8."""
    # WCAG compares text with the background it sits on; the halo adds the pixels that
    # touch each stroke, which is what the eye compares the edge against.
    crop = mask.crop(region.as_tuple())
    halo = crop.filter(ImageFilter.MaxFilter(2 * _halo_px(size_px) + 1))
    selected = np.asarray(halo) >= 128
    rgb = np.asarray(background.crop(region.as_tuple()))
    return rgb[selected] if selected.any() else rgb.reshape(-1, 3)


_LINEAR = np.array([c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                    for c in (i / 255.0 for i in range(256))])


def _luminance(rgb: np.ndarray) -> np.ndarray:
    lin = _LINEAR[rgb]
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def _worst_contrast(color: Color, rgb: np.ndarray) -> float:
    """A low percentile of per-pixel WCAG contrast: the worst the reader meets, not the mean."""
    lum = _luminance(rgb)
    lc = color.relative_luminance
    ratios = (np.maximum(lum, lc) + 0.05) / (np.minimum(lum, lc) + 0.05)
    return float(np.percentile(ratios, _WORST_CASE_PERCENTILE))


def _pick_color(palette: Sequence[Color], rgb: np.ndarray,
                required: float) -> tuple[Color, bool, float]:
    """Best-contrast palette colour; black or white only when no palette colour reaches."""
    scored = [(_worst_contrast(c, rgb), c) for c in palette]
    if scored:
        best, color = max(scored, key=lambda s: s[0])
        if best >= required:
            return color, True, best
    fallback, fcolor = max((_worst_contrast(c, rgb), c) for c in (_BLACK, _WHITE))
    if not scored or fallback > best:
        return fcolor, False, fallback
    return color, True, best


@dataclass(frozen=True)
class _Scrim:
    color: Color
    opacity: float
    text_color: Color
    text_from_palette: bool
    contrast: float


def _pick_scrim(palette: Sequence[Color], rgb: np.ndarray, required: float,
                measured: float) -> _Scrim | None:
    """An opaque palette plate or a dark translucent scrim, whichever reads better."""
    options: list[_Scrim] = []
    for plate in palette:
        text_choices = [c for c in palette if c != plate]
        plate_px = np.array([plate.as_tuple()], dtype=np.uint8)
        color, from_palette, ratio = _pick_color(text_choices, plate_px, required)
        options.append(_Scrim(plate, 1.0, color, from_palette, ratio))
    for opacity in _SCRIM_OPACITIES:
        # Pillow composites in sRGB: black at opacity a scales every channel by (1 - a).
        dimmed = np.round(rgb * (1.0 - opacity)).astype(np.uint8)
        color, from_palette, ratio = _pick_color(palette, dimmed, required)
        options.append(_Scrim(_BLACK, opacity, color, from_palette, ratio))
        if ratio >= required:
            break  # the lightest scrim that reads keeps the most of the picture
    best = max(options, key=lambda s: s.contrast)
    return best if best.contrast > measured else None


def _paint(mask: Image.Image, background: Image.Image, region: Box, ink_box: Box,
           size_px: int, color: Color, scrim: _Scrim | None) -> tuple[Image.Image, float, Box | None]:
    """The RGBA layer (scrim under text) and the contrast measured on the composite."""
    scrim_layer = Image.new("RGBA", background.size, (0, 0, 0, 0))
    scrim_box = None
    if scrim is not None:
        color = scrim.text_color
        pad_x, pad_y = max(4, round(0.45 * size_px)), max(3, round(0.3 * size_px))
        scrim_box = Box(ink_box.left - pad_x, ink_box.top - pad_y, ink_box.right + pad_x,
                        ink_box.bottom + pad_y).clamp_to(Size(*background.size))
        fill = (*scrim.color.as_tuple(), round(255 * scrim.opacity))
        ImageDraw.Draw(scrim_layer).rounded_rectangle(
            (scrim_box.left, scrim_box.top, scrim_box.right - 1, scrim_box.bottom - 1),
            radius=max(2, round(0.25 * size_px)), fill=fill)
    text_layer = Image.new("RGBA", background.size, (*color.as_tuple(), 0))
    text_layer.putalpha(mask)
    # Measure again on what the reader will see: the background with the scrim on it.
    seen = Image.alpha_composite(background.convert("RGBA"), scrim_layer).convert("RGB")
    contrast = _worst_contrast(color, _pixels_under(mask, seen, region, size_px))
    return Image.alpha_composite(scrim_layer, text_layer), contrast, scrim_box
