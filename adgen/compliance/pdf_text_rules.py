"""Preflight of type and rules: mandatory text at its legal size, thin lines, small rich-black text.

Characters, lines and their colours come from pdfplumber (pdfminer); each font's x-height from
the font the file embeds (fontTools: OS/2 sxHeight, else the 'x' glyph's top), else from its
FontDescriptor, else from the Adobe metrics of the standard 14 fonts.

Which text is mandatory: text adgen's PDF writer puts in a marked-content sequence tagged
/Mandatory (`/Mandatory BMC ... EMC`, or BDC with properties). A file with no such tag, made
elsewhere, has all its text judged: headlines are far above the limit, so in practice this is
the body text. Dieline strokes tagged /Dieline are drawing aids, not printed rules.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from adgen.compliance.pdf_subject import MM_PER_PT, PdfSubject
from adgen.compliance.report import Finding

MANDATORY_TAG = "Mandatory"
DIELINE_TAG = "Dieline"
MAX_FINDINGS_PER_PAGE = 12
# x-height / em of the standard 14 fonts, from Adobe's Core14 AFM files (XHeight), for files that
# name one without embedding it (pdf.fonts-embedded fails those anyway).
STANDARD_X_HEIGHTS = {"Helvetica": 0.523, "Helvetica-Bold": 0.532, "Helvetica-Oblique": 0.523,
                      "Helvetica-BoldOblique": 0.532, "Times-Roman": 0.448, "Times-Bold": 0.461,
                      "Times-Italic": 0.441, "Times-BoldItalic": 0.462, "Courier": 0.426, "Courier-Bold": 0.439}
ASSUMED_X_HEIGHT = 0.5  # a font with no metrics anywhere: about a sans serif's; the finding says "assumed"
# Lower-case letters whose top is the x-height (no ascender, no overshoot of a round top).
X_HEIGHT_GLYPHS = ("x", "z", "v", "w", "u", "y", "r")


@dataclass(frozen=True)
class _Run:
    """Consecutive characters set in one font, size, colour and tag on one line."""

    text: str
    font: str
    size_pt: float
    colour: tuple | None
    colour_space: str | None
    tag: str | None
    box: tuple[float, float, float, float]   # pdfplumber top-left pt: x0, top, x1, bottom


def mandatory_text_size(subject: PdfSubject) -> list[Finding]:
    """print.mandatory-text-size: x-height of mandatory text at least the locale's minimum (EU FIC 1.2 mm)."""
    rule = "print.mandatory-text-size"
    minimum, measure, small = _legal_minimum(subject)
    tagged = any(run.tag == MANDATORY_TAG for page in subject.pages for run in _runs(subject, page.number))
    findings = []
    for page in subject.pages:
        metrics = _x_height_ratios(subject, page.number)
        failed = passed = 0
        smallest = None
        for run in _runs(subject, page.number):
            if tagged and run.tag != MANDATORY_TAG:
                continue
            ratio, source = metrics.get(run.font, (ASSUMED_X_HEIGHT, f"an assumed {ASSUMED_X_HEIGHT:g} em"))
            value = run.size_pt * MM_PER_PT * (ratio if measure == "x-height" else 1.0)
            smallest = value if smallest is None else min(smallest, value)
            if value + 1e-6 >= minimum:
                passed += 1
                continue
            failed += 1
            if failed <= MAX_FINDINGS_PER_PAGE:
                findings.append(Finding(
                    rule, "fail", "error", f"page {page.number}: {run.text[:40]!r} has a {measure} of {value:.2f} mm "
                    f"({run.size_pt:.1f} pt {run.font}, x-height from {source}); {subject.locale} needs "
                    f"{minimum:g} mm{small}", measured={"mm": round(value, 3), "size_pt": round(run.size_pt, 2),
                                                          "font": run.font, "metric": source},
                    threshold={"mm": minimum, "measure": measure, "locale": subject.locale}, element=run.text[:40],
                    page=page.number, box_mm=subject.object_mm(page.number, _as_obj(run.box))))
        if not failed:
            which = "mandatory (tagged)" if tagged else "all (untagged file)"
            findings.append(Finding(rule, "pass", "error", f"page {page.number}: {passed} runs of {which} text, "
                                    f"smallest {measure} {smallest or 0:.2f} mm (min {minimum:g} mm{small})",
                                    measured={"mm": round(smallest or 0, 3)},
                                    threshold={"mm": minimum, "measure": measure, "locale": subject.locale},
                                    page=page.number))
    return findings


def thin_lines(subject: PdfSubject) -> list[Finding]:
    """print.thin-lines: no stroke thinner than the minimum (0.25 pt): plates and paper lose it."""
    rule, minimum = "print.thin-lines", subject.threshold("print.thin-lines.min_pt")
    findings = []
    for page in subject.pages:
        plumbed = subject.plumber.pages[page.number - 1]
        thin = [o for o in plumbed.lines + plumbed.rects + plumbed.curves
                if o.get("stroke") and o.get("tag") != DIELINE_TAG and float(o.get("linewidth") or 0) < minimum]
        for obj in thin[:MAX_FINDINGS_PER_PAGE]:
            width = float(obj.get("linewidth") or 0)
            what = "a hairline (0 pt: the device's thinnest)" if width == 0 else f"a {width:g} pt stroke"
            findings.append(Finding(rule, "fail", "error", f"page {page.number}: {obj['object_type']} with {what} "
                                    f"(min {minimum:g} pt)", measured={"pt": width}, threshold=minimum,
                                    page=page.number, box_mm=_stroke_box(subject, page.number, obj)))
        if not thin:
            findings.append(Finding(rule, "pass", "error", f"page {page.number}: no stroke under {minimum:g} pt",
                                    threshold=minimum, page=page.number))
    return findings


def rich_black_text(subject: PdfSubject) -> list[Finding]:
    """print.rich-black-text: small text is black on K alone, not K plus other inks (registration fringes)."""
    rule = "print.rich-black-text"
    max_pt, min_k = subject.threshold("print.rich-black-text.max_pt"), subject.threshold("print.rich-black-text.min_k")
    other = subject.threshold("print.rich-black-text.min_other_ink")
    findings = []
    for page in subject.pages:
        bad = [(run, why) for run in _runs(subject, page.number) if run.size_pt < max_pt
               for why in [_rich_black(run, min_k, other)] if why]
        for run, why in bad[:MAX_FINDINGS_PER_PAGE]:
            findings.append(Finding(rule, "fail", "error", f"page {page.number}: {run.size_pt:.1f} pt text "
                                    f"{run.text[:40]!r} is {why}; under {max_pt:g} pt set it in K only",
                                    measured={"size_pt": round(run.size_pt, 2), "colour": list(run.colour or ()),
                                              "colour_space": run.colour_space},
                                    threshold={"max_pt": max_pt, "ink": "K only"}, element=run.text[:40],
                                    page=page.number, box_mm=subject.object_mm(page.number, _as_obj(run.box))))
        if not bad:
            findings.append(Finding(rule, "pass", "error", f"page {page.number}: no text under {max_pt:g} pt in "
                                    "rich black", threshold={"max_pt": max_pt}, page=page.number))
    return findings


def _legal_minimum(subject: PdfSubject) -> tuple[float, str, str]:
    """(minimum mm, 'x-height' or 'em', note) for the locale and the pack's size (thresholds.yaml locale rows)."""
    x_height = subject.threshold("print.mandatory-text-size.min_x_height_mm")
    em = subject.threshold("print.mandatory-text-size.min_em_mm")
    small_cm2 = subject.threshold("print.mandatory-text-size.small_pack_cm2")
    surface = subject.pack_surface_cm2
    if surface is None:  # the largest surface is at most the sheet's trim: the stricter rule when unknown
        trims = [p.trim or p.media for p in subject.pages]
        surface = max(((t[2] - t[0]) * (t[3] - t[1]) * (MM_PER_PT / 10) ** 2 for t in trims), default=0.0)
    measure, minimum = ("em", em) if em > 0 else ("x-height", x_height)
    if small_cm2 > 0 and surface < small_cm2:
        key = "small_min_em_mm" if measure == "em" else "small_min_x_height_mm"
        return subject.threshold(f"print.mandatory-text-size.{key}"), measure, \
            f" (largest surface {surface:.0f} cm² < {small_cm2:g} cm²)"
    return minimum, measure, ""


def _runs(subject: PdfSubject, page_number: int) -> list[_Run]:
    key = ("text-runs", page_number)
    if key not in subject.cache:
        turned = subject.pages[page_number - 1].rotate in (90, 270)
        subject.cache[key] = _group_runs(subject.plumber.pages[page_number - 1].chars, turned)
    return subject.cache[key]


def _group_runs(chars: list[dict], turned: bool) -> list[_Run]:
    """Runs of characters; on a page turned a quarter (/Rotate 90 or 270) pdfplumber has turned the boxes, so
    a line runs down the page and the em is a character box's width."""
    across, size = ("x0", _width) if turned else ("top", _height)
    runs, current = [], []

    def key(c):
        return (c.get("fontname"), round(size(c), 2), c.get("non_stroking_color"), c.get("tag"))

    for char in chars:
        if current and (key(char) != key(current[-1]) or abs(char[across] - current[-1][across]) > 0.5):
            runs.append(_run(current, size(current[0])))
            current = []
        current.append(char)
    if current:
        runs.append(_run(current, size(current[0])))
    return [r for r in runs if r.text.strip()]


def _height(char: dict) -> float:
    # pdfminer's character box is the em tall (descent to descent + size), so its height is the size
    return float(char["bottom"] - char["top"])


def _width(char: dict) -> float:
    return float(char["x1"] - char["x0"])


def _run(chars: list[dict], size_pt: float) -> _Run:
    first = chars[0]
    colour = first.get("non_stroking_color")
    return _Run(text="".join(c.get("text", "") for c in chars), font=first.get("fontname", ""),
                size_pt=size_pt, colour=tuple(colour) if isinstance(colour, (list, tuple)) else colour,
                colour_space=first.get("ncs"), tag=first.get("tag"),
                box=(min(c["x0"] for c in chars), min(c["top"] for c in chars), max(c["x1"] for c in chars),
                     max(c["bottom"] for c in chars)))


def _rich_black(run: _Run, min_k: float, other: float) -> str | None:
    colour = run.colour
    if not isinstance(colour, tuple):
        return None
    if len(colour) == 4 and colour[3] >= min_k and max(colour[:3]) >= other:
        return "rich black (C {:.0%} M {:.0%} Y {:.0%} K {:.0%})".format(*colour)
    if len(colour) == 3 and max(colour) <= 0.1:
        return "RGB black, which the output intent separates into all four inks"
    return None


def _x_height_ratios(subject: PdfSubject, page_number: int) -> dict[str, tuple[float, str]]:
    """font name (as pdfplumber spells it) -> (x-height / em, where that number came from)."""
    from adgen.compliance.pdf_structure_rules import page_fonts

    ratios = {}
    for font in page_fonts(subject.pike.pages[page_number - 1]):
        name = str(font.get("/BaseFont", "/"))[1:]
        if name and name not in ratios:
            ratios[name] = _x_height(font, name)
    return ratios


def _x_height(font, name: str) -> tuple[float, str]:
    descendant = font.DescendantFonts[0] if str(font.get("/Subtype", "")) == "/Type0" else font
    descriptor = descendant.get("/FontDescriptor")
    if descriptor is not None:
        for key in ("/FontFile2", "/FontFile3"):
            if key in descriptor:
                ratio = _embedded_x_height(bytes(descriptor[key].read_bytes()))
                if ratio:
                    return ratio, "the embedded font"
        if float(descriptor.get("/XHeight", 0) or 0) > 0:
            return float(descriptor["/XHeight"]) / 1000.0, "FontDescriptor XHeight"
    base = name.split("+", 1)[-1]
    if base in STANDARD_X_HEIGHTS:
        return STANDARD_X_HEIGHTS[base], "Adobe Core14 metrics"
    return ASSUMED_X_HEIGHT, f"an assumed {ASSUMED_X_HEIGHT:g} em"


def _embedded_x_height(data: bytes) -> float | None:
    """x-height / em of an embedded font: OS/2 sxHeight, else the top of a flat-topped lower-case glyph."""
    from fontTools.cffLib import CFFFontSet
    from fontTools.ttLib import TTFont, TTLibError

    try:
        if data[:4] in (b"\x00\x01\x00\x00", b"true", b"OTTO"):
            font = TTFont(io.BytesIO(data), lazy=True)
            if "OS/2" in font and getattr(font["OS/2"], "sxHeight", 0) > 0:
                return font["OS/2"].sxHeight / font["head"].unitsPerEm
            return _glyph_x_height(font)
        cff = CFFFontSet()  # a bare CFF (FontFile3 /Type1C), as Ghostscript and Acrobat embed Type 1 fonts
        cff.decompile(io.BytesIO(data), None)
        top = cff[cff.fontNames[0]]
        for name in X_HEIGHT_GLYPHS:
            if name in top.CharStrings:
                bounds = top.CharStrings[name].calcBounds(top.CharStrings)
                if bounds:
                    return bounds[3] * float(getattr(top, "FontMatrix", [0.001] * 4)[3])
    except (TTLibError, KeyError, IndexError, AssertionError, ValueError, OSError, TypeError, AttributeError):
        return None  # a broken or unusual font: the descriptor or the standard metrics answer instead
    return None


def _glyph_x_height(font) -> float | None:
    """The top of the first flat-topped lower-case glyph the (often subset) TrueType font has, / em."""
    if "glyf" not in font or "cmap" not in font:
        return None
    # Subsets keep only the glyphs the text uses and often only a (1,0) or (3,0) symbol cmap keyed
    # by the PDF's character codes (standard encodings: the ASCII code, or 0xF000 + it).
    for char in X_HEIGHT_GLYPHS:
        for table in font["cmap"].tables:
            glyph = table.cmap.get(ord(char)) or table.cmap.get(0xF000 + ord(char))
            if glyph:
                outline = font["glyf"][glyph]
                outline.recalcBounds(font["glyf"])
                if getattr(outline, "yMax", 0) > 0:
                    return outline.yMax / font["head"].unitsPerEm
    return None


def _stroke_box(subject: PdfSubject, page_number: int, obj: dict):
    """A stroke's box in mm, widened to at least 1 mm so a hairline's evidence can be seen."""
    x0, top, x1, bottom = subject.object_mm(page_number, obj)
    pad_x, pad_y = max(0.0, (1 - (x1 - x0)) / 2), max(0.0, (1 - (bottom - top)) / 2)
    return (round(x0 - pad_x, 2), round(top - pad_y, 2), round(x1 + pad_x, 2), round(bottom + pad_y, 2))


def _as_obj(box) -> dict:
    return {"x0": box[0], "top": box[1], "x1": box[2], "bottom": box[3]}
