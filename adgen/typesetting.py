"""Typeset one string into a slot: shape, wrap, shrink to fit, then pick a readable colour.

Text is typeset, never generated: brand or packaged fonts, shaped by HarfBuzz through
Pillow's raqm engine. The result is a transparent layer the size of the background plus
every box drawn, so compliance checks measure exactly what was placed.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

from adgen.color import Color
from adgen.errors import InputError
from adgen.fonts import FontSpec, font_path, load_font, raqm_available, script_for
from adgen.geometry import Box, Size, grow_square


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
        problems = {
            "min_size_px": (not 1 <= self.min_size_px <= self.max_size_px,
                            "need 1 <= min_size_px <= max_size_px"),
            "max_lines": (self.max_lines < 1, "max_lines must be >= 1"),
            "align": (self.align not in ("left", "center", "right"), "align is left|center|right"),
            "valign": (self.valign not in ("top", "middle", "bottom"),
                       "valign is top|middle|bottom"),
        }
        for name, (bad, message) in problems.items():
            if bad:
                raise InputError(message, field=f"style.{name}", value=getattr(self, name))


@dataclass(frozen=True)
class TypesetText:
    """Typeset text: an RGBA layer the size of the background and what was placed on it.

    ink_box and line_boxes cover the glyphs only; scrim_box is the plate behind them, if any.
    contrast_ratio is the worst case (5th percentile) over the real background pixels 2-3 px
    around the glyphs, after the scrim; required_contrast is the WCAG threshold that applied.
    """

    layer: Image.Image
    glyph_mask: Image.Image  # L, glyph coverage 0-255, cropped to ink_box
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
_WORD = re.compile(r"(\S+)(\s*)")  # a word and the whitespace after it
# Scripts written without spaces, where a line may break between any two characters.
_CHAR_BREAK_SCRIPTS = frozenset({"ja", "zh-Hans", "zh-Hant"})
# WCAG 2.x "large scale" text: 18 pt, or 14 pt bold; 1 pt = 4/3 CSS px.
_LARGE_PX, _LARGE_BOLD_PX, _BOLD_WEIGHT = 24.0, 14 * 4 / 3, 700
_WORST_CASE_PERCENTILE = 5.0
_RING_INNER_PX, _RING_OUTER_PX = 1, 3
_PHRASE_MIN_FILL = 0.6
_CRISP_PX = 48  # text below this is drawn larger and reduced (at most 4x)
_BLACK, _WHITE = Color(0, 0, 0), Color(255, 255, 255)
_SCRIM_OPACITIES = (0.45, 0.55, 0.65, 0.75, 0.85)


def typeset(text: str, box: Box, *, locale: str, font: FontSpec, style: TextStyle,
            background: Image.Image, palette: Sequence[Color]) -> TypesetText:
    """Set text in box (absolute px of background) at the largest size that fits, readably."""
    if not text.strip():
        raise InputError("nothing to typeset", field="text", value=text)
    canvas = Size(*background.size)
    if box.clamp_to(canvas).area == 0:
        raise InputError(f"text box is empty or outside the {canvas.width}x{canvas.height} "
                         "background", field="box", value=box.as_tuple())
    background = background.convert("RGB")
    script = script_for(text, locale)
    language = locale if raqm_available() and locale else None

    # 1. break into unbreakable pieces, then find the largest size that fits
    atoms = _atoms(text, script)
    # Japanese phrases are kept whole like Latin words when that fits at all; only then
    # may a line break inside one (between characters, kinsoku still applies).
    phrases = _glue(atoms, _inside_phrase)
    size_px, lines, overflow = _fit(phrases, box, style, font, script, language)
    if overflow and not all(a.phrase_end for a in atoms):
        size_px, lines, overflow = _fit(atoms, box, style, font, script, language)
    face = load_font(font, script, size_px)

    # 2. draw the glyph coverage where the lines go
    big = load_font(font, script, size_px * max(1, min(4, math.ceil(_CRISP_PX / size_px))))
    mask, line_boxes = _draw_mask(lines, face, big, box, style, size_px, language,
                                  background.size)
    ink = mask.getbbox()
    ink_box = Box(*ink) if ink else Box(box.left, box.top, box.left, box.top)

    # 3. colour from the palette for contrast against the real pixels; else a scrim
    is_large = size_px >= _LARGE_PX or (font.weight >= _BOLD_WEIGHT and size_px >= _LARGE_BOLD_PX)
    required = style.min_contrast_large if is_large else style.min_contrast
    region = (ink_box if ink else box).clamp_to(canvas)
    if region.area == 0:  # all ink fell off the canvas (overflow): judge the slot itself
        region = box.clamp_to(canvas)
    ring = _ring(mask.crop(region.expand(_RING_OUTER_PX).as_tuple()))
    under = np.asarray(background.crop(region.expand(_RING_OUTER_PX).as_tuple()))[ring]
    color, from_palette, measured = _pick_color(palette, _luminance(under), required)
    scrim = None
    if measured < required and style.allow_scrim:
        scrim = _pick_scrim(palette, under, required, measured)
    layer, contrast, scrim_box = _paint(mask, background, region, ring, ink_box, size_px,
                                        color, scrim)
    if scrim is not None:
        color, from_palette = scrim.text_color, scrim.text_from_palette

    return TypesetText(
        layer=layer, glyph_mask=mask.crop(ink_box.as_tuple()), ink_box=ink_box,
        line_boxes=line_boxes, lines=tuple(lines),
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
    phrase_end: bool = True  # a preferred break follows (False: allowed, not preferred)


def _atoms(text: str, script: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    paragraphs = text.replace("\r\n", "\n").split("\n")
    for i, paragraph in enumerate(paragraphs):
        pieces = (_char_atoms(paragraph, script) if script in _CHAR_BREAK_SCRIPTS
                  else _word_atoms(paragraph))
        pieces = _glue(pieces, _kinsoku)
        if pieces and i < len(paragraphs) - 1:
            pieces[-1] = _Atom(pieces[-1].text, "", hard_break=True)
        atoms += pieces
    return atoms


def _word_atoms(paragraph: str) -> list[_Atom]:
    # Latin and Korean break only at spaces and after hyphens: never inside a word.
    atoms: list[_Atom] = []
    for match in re.finditer(_WORD, paragraph):
        word, glue, start = match.group(1), match.group(2), 0
        for j, ch in enumerate(word):
            if ch in _HYPHENS and 0 < j < len(word) - 1:
                atoms.append(_Atom(word[start:j + 1]))
                start = j + 1
        atoms.append(_Atom(word[start:], glue))
    return atoms


def _char_atoms(paragraph: str, script: str) -> list[_Atom]:
    # CJK may break between any two characters, but a run of Latin letters or digits
    # inside it ("iPhone15", "1980") is one word.
    phrase_ends = _phrase_ends(paragraph, script)
    atoms: list[_Atom] = []
    for match in re.finditer(_WORD, paragraph):
        pos = match.start()
        for piece in re.findall(r"[A-Za-z0-9]+|.", match.group(1)):
            pos += len(piece)
            atoms.append(_Atom(piece, phrase_end=phrase_ends is None or pos in phrase_ends))
        atoms[-1] = _Atom(atoms[-1].text, match.group(2))
    return atoms


def _phrase_ends(paragraph: str, script: str) -> set[int] | None:
    """Offsets where a Japanese phrase (bunsetsu) ends, or None: every break is as good."""
    parser = _phrase_parser(script)
    if parser is None:
        return None
    return set(itertools.accumulate(len(phrase) for phrase in parser.parse(paragraph)))


@functools.cache
def _phrase_parser(script: str):
    # Japanese headlines read best broken between phrases, which needs a segmenter:
    # BudouX (small, pure Python, model shipped in the wheel). Chinese is conventionally
    # broken between any two characters, so it stays on character breaks.
    if script != "ja":
        return None
    try:
        import budoux
    except ImportError:
        return None
    return budoux.load_default_japanese_parser()


def _glue(atoms: list[_Atom], joined: Callable[[_Atom, _Atom], bool]) -> list[_Atom]:
    """Merge each atom into the one before it where joined(previous, atom) says so."""
    merged: list[_Atom] = []
    for atom in atoms:
        if merged and joined(merged[-1], atom):
            prev = merged.pop()
            atom = _Atom(prev.text + prev.glue + atom.text, atom.glue, atom.hard_break,
                         atom.phrase_end)
        merged.append(atom)
    return merged


def _kinsoku(prev: _Atom, atom: _Atom) -> bool:
    return atom.text[0] in NO_LINE_START or prev.text[-1] in NO_LINE_END


def _inside_phrase(prev: _Atom, atom: _Atom) -> bool:
    return not prev.phrase_end


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
    start = 0
    while start < len(atoms):
        end = start + 1  # a line holds at least one atom, even one wider than width
        while (end < len(atoms) and not atoms[end - 1].hard_break
               and _length(face, _join(atoms[start:end + 1]), language) <= width):
            end += 1
        if end < len(atoms) and not atoms[end - 1].hard_break \
                and not atoms[end - 1].phrase_end:
            end = _back_to_phrase_end(atoms, start, end, face, width, language)
        lines.append(_join(atoms[start:end]))
        start = end
    return lines


def _back_to_phrase_end(atoms: list[_Atom], start: int, end: int,
                        face: ImageFont.FreeTypeFont, width: float,
                        language: str | None) -> int:
    # Give up some line length to break between phrases, but keep the line at least
    # _PHRASE_MIN_FILL full: a stub line reads worse than a phrase split in two.
    for k in range(end - 1, start, -1):
        if atoms[k - 1].phrase_end:
            filled = _length(face, _join(atoms[start:k]), language)
            return k if filled >= _PHRASE_MIN_FILL * width else end
    return end


def _join(atoms: list[_Atom]) -> str:
    return "".join(a.text + a.glue for a in atoms[:-1]) + atoms[-1].text


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


@functools.lru_cache(maxsize=8192)
def _length(face: ImageFont.FreeTypeFont, text: str, language: str | None) -> float:
    # Line breaking measures the same runs again at every candidate size and for every
    # format; fonts come from fonts.load_font's cache, so a face is a stable key.
    return face.getlength(text, language=language) if language else face.getlength(text)


def _block_height(face: ImageFont.FreeTypeFont, n_lines: int, size_px: int,
                  style: TextStyle) -> int:
    ascent, descent = face.getmetrics()
    return ascent + descent + _pitch(size_px, style) * (n_lines - 1)


def _pitch(size_px: int, style: TextStyle) -> int:
    return round(size_px * style.line_spacing)


def _draw_mask(lines: list[str], face: ImageFont.FreeTypeFont, big: ImageFont.FreeTypeFont,
               box: Box, style: TextStyle, size_px: int, language: str | None,
               canvas: tuple[int, int]) -> tuple[Image.Image, tuple[Box, ...]]:
    """Glyph coverage on a canvas-sized L image, and each line's ink box."""
    # Drawn from `big`, the font at scale x size, then reduced: Pillow snaps each hinted
    # glyph to whole pixels, which leaves 9-20 px text unevenly spaced ("Term sapply").
    scale = big.size // size_px
    mask = Image.new("L", canvas, 0)
    slack = box.height - _block_height(face, len(lines), size_px, style)
    top = box.top + {"top": 0, "middle": slack / 2, "bottom": slack}[style.valign]
    kwargs = {"language": language} if language else {}
    boxes = []
    for i, line in enumerate(lines):
        slack_x = box.width - _length(face, line, language)
        x = box.left + {"left": 0, "center": slack_x / 2, "right": slack_x}[style.align]
        y = round(top + face.getmetrics()[0] + i * _pitch(size_px, style))
        # Each line gets its own strip: strips of adjacent lines overlap, so only the
        # strip tells this line's ink.
        ink = big.getbbox(line, anchor="ls", **kwargs)
        left, upper = math.floor(x + ink[0] / scale) - 1, math.floor(y + ink[1] / scale) - 1
        right, lower = math.ceil(x + ink[2] / scale) + 1, math.ceil(y + ink[3] / scale) + 1
        strip = Image.new("L", ((right - left) * scale, (lower - upper) * scale), 0)
        ImageDraw.Draw(strip).text(((x - left) * scale, (y - upper) * scale), line, font=big,
                                   fill=255, anchor="ls", **kwargs)
        strip = strip.reduce(scale) if scale > 1 else strip
        region = (left, upper, right, lower)
        mask.paste(ImageChops.lighter(mask.crop(region), strip), region[:2])
        drawn = strip.getbbox() or (0, 0, 0, 0)
        boxes.append(Box(left + drawn[0], upper + drawn[1], left + drawn[2], upper + drawn[3])
                     .clamp_to(Size(*canvas)))
    return mask, tuple(boxes)


def _ring(mask: Image.Image) -> np.ndarray:
    """Background pixels 2-3 px out from any ink, inside the ink box (the crop less 3 px)."""
    # What the reader compares each stroke with: the pixels between and around letters,
    # not the hidden ones under the glyphs nor their anti-aliased fringe. The ring of
    # compliance text.contrast, so the ratio reported here is the one checked later.
    inked = np.asarray(mask) > 0
    ring = grow_square(inked, _RING_OUTER_PX) & ~grow_square(inked, _RING_INNER_PX)
    edge = _RING_OUTER_PX  # the crop's margin beyond the ink box
    ring[:edge, :] = ring[-edge:, :] = ring[:, :edge] = ring[:, -edge:] = False
    return ring if ring.any() else np.ones_like(ring)


_LINEAR = np.array([c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                    for c in (i / 255.0 for i in range(256))])


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of each (N, 3) uint8 pixel, as in adgen.color."""
    return _LINEAR[rgb] @ np.array([0.2126, 0.7152, 0.0722])


def _worst_contrast(color: Color, lum: np.ndarray) -> float:
    """A low percentile of per-pixel WCAG contrast: the worst the reader meets, not the mean."""
    lc = color.relative_luminance
    ratios = (np.maximum(lum, lc) + 0.05) / (np.minimum(lum, lc) + 0.05)
    return float(np.percentile(ratios, _WORST_CASE_PERCENTILE))


def _pick_color(palette: Sequence[Color], lum: np.ndarray,
                required: float) -> tuple[Color, bool, float]:
    """Best-contrast palette colour; black or white only when no palette colour reaches."""
    best = max(((_worst_contrast(c, lum), c) for c in palette), key=lambda s: s[0],
               default=(0.0, None))
    if best[0] >= required:
        return best[1], True, best[0]
    fallback = max(((_worst_contrast(c, lum), c) for c in (_BLACK, _WHITE)), key=lambda s: s[0])
    if fallback[0] > best[0]:
        return fallback[1], False, fallback[0]
    return best[1], True, best[0]


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
        plate_lum = np.array([plate.relative_luminance])
        color, from_palette, ratio = _pick_color(text_choices, plate_lum, required)
        options.append(_Scrim(plate, 1.0, color, from_palette, ratio))
    for opacity in _SCRIM_OPACITIES:
        # Pillow composites in sRGB: black at opacity a scales every channel by (1 - a).
        dimmed = np.round(rgb * (1.0 - opacity)).astype(np.uint8)
        color, from_palette, ratio = _pick_color(palette, _luminance(dimmed), required)
        options.append(_Scrim(_BLACK, opacity, color, from_palette, ratio))
        if ratio >= required:
            break  # the lightest scrim that reads keeps the most of the picture
    best = max(options, key=lambda s: s.contrast)
    return best if best.contrast > measured else None


def _paint(mask: Image.Image, background: Image.Image, region: Box, ring: np.ndarray,
           ink_box: Box, size_px: int, color: Color,
           scrim: _Scrim | None) -> tuple[Image.Image, float, Box | None]:
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
    crop = region.expand(_RING_OUTER_PX).as_tuple()
    seen = Image.alpha_composite(background.crop(crop).convert("RGBA"), scrim_layer.crop(crop))
    under = np.asarray(seen.convert("RGB"))[ring]
    contrast = _worst_contrast(color, _luminance(under))
    return Image.alpha_composite(scrim_layer, text_layer), contrast, scrim_box
