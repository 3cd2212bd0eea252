"""The back panel's mandatory text: ingredients, a nutrition table, directions, net quantity, typeset
as vector at the locale's legal minimum size or larger.

back_panel(panel, product, brand) -> PanelArt. Everything is in mm on the flat (y down); the
PDF writer draws it in 100 % K (no rich black on small type: one plate, no registration fringe).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adgen.barcodes import Symbol
from adgen.brand import BrandKit
from adgen.dielines import Panel
from adgen.fonts import FontSpec, font_path, load_font, script_for
from adgen.spec import ProductSpec

PT_MM = 25.4 / 72
# Noto Sans' x-height is 536 units of 1000 (OS/2 sxHeight); the Noto CJK fonts' Latin matches it.
X_HEIGHT_EM = 0.536


@dataclass(frozen=True)
class LabelRules:
    """Type-size floor and headings for mandatory food information in one market.

    min_x_height_mm: the law's floor on lowercase x-height (EU, US); min_size_pt: on the type
    size itself (Japan, China measure the character). source: the clause.
    """

    min_x_height_mm: float | None
    min_size_pt: float | None
    ingredients: str
    nutrition: str
    directions: str
    net: str
    per: str
    source: str
    colon: str = ": "


# Per market, by locale then language ("*" last). The sizes are the legal floors for the main
# label surface (smaller packs have lower floors, not applied here: we typeset at or above these).
LABEL_RULES: dict[str, LabelRules] = {
    "en-US": LabelRules(1.59, None, "Ingredients", "Nutrition Facts", "Directions", "Net wt", "per",
                        "21 CFR 101.2(c): lowercase 'o' at least 1/16 inch (1.59 mm)"),
    "ja": LabelRules(None, 8.0, "原材料名", "栄養成分表示", "使用方法", "内容量", "当たり",
                     "食品表示基準 別記様式: 8 ポイント以上の大きさの文字", "："),
    "zh": LabelRules(None, 5.1, "配料", "营养成分表", "食用方法", "净含量", "每",
                     "GB 7718-2011 4.1.1.3: 字符高度不得小于 1.8 mm (≈ 5.1 pt)", "："),
    "*": LabelRules(1.2, None, "Ingredients", "Nutrition declaration", "Directions", "Net quantity", "per",
                    "Regulation (EU) No 1169/2011 Art. 13(2): x-height at least 1.2 mm"),
}
START_PT = 9.0  # try this body size first, then step down to the legal floor
STEP_PT = 0.5
LINE = 1.25  # leading, x type size
RULE_MM = 0.18  # table rules: 0.5 pt, above the 0.1 mm hairline floor printers reject


@dataclass(frozen=True)
class TextRun:
    """One line of vector text: baseline at (x, y) mm, size in mm, anchored left|center|right.

    rotation 90 runs it bottom-to-top (a carton side's spine); ink "k" is 100 % K, "paper" leaves
    the text unprinted (knocked out of a dark plate). mandatory: legal information, tagged so in
    the PDF (a preflight judges its size; brand names and barcode digits are not).
    """

    text: str
    x: float
    y: float
    size_mm: float
    font: Path
    weight: int
    anchor: str = "left"
    rotation: int = 0
    ink: str = "k"
    mandatory: bool = False


@dataclass(frozen=True)
class Fill:
    """A filled rectangle in mm, in an sRGB hex colour (converted through the output intent)."""

    x: float
    y: float
    w: float
    h: float
    color: str


@dataclass(frozen=True)
class Rule:
    """A straight rule in 100 % K, width in mm."""

    x0: float
    y0: float
    x1: float
    y1: float
    width_mm: float = RULE_MM


@dataclass(frozen=True)
class PlacedSymbol:
    """A barcode or QR symbol with its top-left corner at (x, y) mm, turned 0 or 90 degrees."""

    symbol: Symbol
    x: float
    y: float
    rotation: int = 0


@dataclass(frozen=True)
class PanelArt:
    """What one panel carries over the plate: fills, rules, text and symbols, plus notes."""

    panel: Panel
    fills: tuple[Fill, ...] = ()
    rules: tuple[Rule, ...] = ()
    texts: tuple[TextRun, ...] = ()
    symbols: tuple[PlacedSymbol, ...] = ()
    body_size_pt: float | None = None
    notes: tuple[str, ...] = ()


def label_rules(locale: str) -> LabelRules:
    """The market's rules for a BCP 47 locale: exact, then language, then the EU default."""
    return LABEL_RULES.get(locale) or LABEL_RULES.get(locale.split("-")[0]) or LABEL_RULES["*"]


def back_panel(panel: Panel, product: ProductSpec, brand: BrandKit, *, reserve_mm: float = 0.0) -> PanelArt:
    """The label text set on a light card in the panel's safe area; reserve_mm kept free at its foot."""
    rules = label_rules(product.locale)
    x, y, w, h = panel.safe_rect
    h -= reserve_mm
    floor_pt = _floor_pt(rules)
    size_pt = max(START_PT, floor_pt)
    while True:
        texts, lines, used = _set(product, brand, rules, x, y, w, size_pt * PT_MM)
        if used <= h or size_pt - STEP_PT < floor_pt:
            break
        size_pt -= STEP_PT
    notes = []
    if used > h:
        notes.append(f"{panel.name}: label text needs {used:.1f} mm, the panel has {h:.1f} mm at the legal minimum "
                     f"{floor_pt:.1f} pt ({rules.source}); shorten it or use a larger panel")
    card = Fill(x - 1.5, y - 1.5, w + 3.0, min(used, h) + 3.0, _paper(brand))
    return PanelArt(panel, fills=(card,), rules=tuple(lines), texts=tuple(texts), body_size_pt=size_pt,
                    notes=tuple(notes))


def _floor_pt(rules: LabelRules) -> float:
    if rules.min_size_pt is not None:
        return rules.min_size_pt
    return rules.min_x_height_mm / X_HEIGHT_EM / PT_MM


def _paper(brand: BrandKit) -> str:
    """The lightest palette colour: the card behind the label text (it keeps K text legible)."""
    from adgen.color import Color

    return max(brand.palette.values(), key=lambda hex_: Color.from_hex(hex_).relative_luminance)


def _set(product: ProductSpec, brand: BrandKit, rules: LabelRules, x: float, y: float, w: float,
         size: float) -> tuple[list[TextRun], list[Rule], float]:
    """Lay the label out top-down at one body size; returns the runs, table rules and height used (mm)."""
    label = product.label
    body = _font(brand, "body", product.locale, product.name)
    bold = _font(brand, "headline", product.locale, product.name)
    texts: list[TextRun] = []
    lines: list[Rule] = []
    cursor = y

    def paragraph(text: str, font: FontSpec, at: float, gap_after: float = 0.4) -> None:
        nonlocal cursor
        for line in _wrap(text, font, product.locale, w, at):
            cursor += at
            texts.append(TextRun(line, x, cursor, at, _path(font, line, product.locale), font.weight,
                                 mandatory=True))
            cursor += at * (LINE - 1)
        cursor += size * gap_after

    paragraph(product.name, bold, size * 1.3)
    if label is not None and label.ingredients:
        paragraph(f"{rules.ingredients}{rules.colon}{label.ingredients}", body, size)
    if label is not None and label.nutrition:
        cursor += size * 0.3
        paragraph(rules.nutrition, bold, size * 1.2, gap_after=0.1)
        basis = f"{rules.per} {label.nutrition_basis}" if rules.per != "当たり" else f"{label.nutrition_basis}{rules.per}"
        paragraph(basis, body, size, gap_after=0.2)
        lines.append(Rule(x, cursor, x + w, cursor, RULE_MM * 2))
        for row in label.nutrition:
            cursor += size * 1.15
            amount = f"{_number(row.amount)} {row.unit}".strip()
            texts.append(TextRun(row.nutrient, x, cursor, size, _path(body, row.nutrient, product.locale), body.weight,
                                 mandatory=True))
            texts.append(TextRun(amount, x + w, cursor, size, _path(body, amount, product.locale), body.weight, "right",
                                 mandatory=True))
            cursor += size * 0.45
            lines.append(Rule(x, cursor, x + w, cursor))
        cursor += size * 0.6
    if label is not None and label.usage:
        paragraph(f"{rules.directions}{rules.colon}{label.usage}", body, size)
    if label is not None and label.net_quantity:
        paragraph(f"{rules.net}{rules.colon}{label.net_quantity}", bold, size * 1.1)
    if label is not None and label.address:
        paragraph(label.address, body, size)
    return texts, lines, cursor - y


def _font(brand: BrandKit, role: str, locale: str, sample: str) -> FontSpec:
    font = brand.fonts.headline if role == "headline" else brand.fonts.body
    file = brand.kit_dir / font.file if font.file else None
    # Small print reads best at a regular-to-semibold weight: the headline role's 800 clogs at 8 pt.
    weight = min(font.weight, 700) if role == "headline" else max(font.weight, 400)
    return FontSpec(family=font.family, weight=weight, file=file)


def _path(font: FontSpec, text: str, locale: str) -> Path:
    return font_path(font, script_for(text, locale))


def _number(value) -> str:
    text = format(value.normalize(), "f")
    return text


def _em(text: str, font: FontSpec, locale: str) -> float:
    """Advance width of text in em (units of the type size), as FreeType lays it out at this weight."""
    face = load_font(font, script_for(text, locale), 200)
    return face.getlength(text) / 200


# Kinsoku shori (JIS X 4051): these never start a line.
NO_LINE_START = set("、。，．・：；？！ー」』）〕］｝〉》】ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ,.;:!?)]}%")


def _wrap(text: str, font: FontSpec, locale: str, width: float, size: float) -> list[str]:
    """Greedy line breaks: between words for spaced scripts, between characters for CJK (with kinsoku)."""
    cjk = script_for(text, locale) != "latin"
    atoms = _cjk_atoms(text) if cjk else text.split(" ")
    joiner = "" if cjk else " "
    lines, current = [], ""
    for atom in atoms:
        trial = f"{current}{joiner}{atom}" if current else atom
        if not current or _em(trial, font, locale) * size <= width:
            current = trial
        else:
            lines.append(current)
            current = atom
    if current:
        lines.append(current)
    return lines


def _cjk_atoms(text: str) -> list[str]:
    """Characters, with a runs of Latin letters/digits kept whole and kinsoku marks glued to the one before."""
    atoms: list[str] = []
    for ch in text:
        if atoms and (ch in NO_LINE_START or (ch.isascii() and ch.isalnum() and atoms[-1][-1:].isascii()
                                               and atoms[-1][-1:].isalnum())):
            atoms[-1] += ch
        else:
            atoms.append(ch)
    return atoms
