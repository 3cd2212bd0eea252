"""Preflight of a PDF's structure: PDF/X version, page boxes and bleed, output intent, fonts, RGB, transparency.

Read with pikepdf (qpdf) for the dictionaries and pdfplumber (pdfminer) for where things sit on
the page. Clause numbers are ISO 15930-1 (PDF/X-1a:2001) and ISO 15930-7 (PDF/X-4:2010).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from adgen.compliance.pdf_subject import (
    MM_PER_PT,
    PdfSubject,
    normalise_conformance,
    profile_facts,
)
from adgen.compliance.report import Finding
from adgen.errors import InputError

SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")
MAX_FINDINGS_PER_PAGE = 10  # one finding per offending object, up to this many; the last one counts the rest


def pdfx_version(subject: PdfSubject) -> list[Finding]:
    """pdf.pdfx-version: the file declares PDF/X (Info and, for X-4, XMP) and it is the flavour asked for."""
    rule, declared = "pdf.pdfx-version", subject.declared
    wanted = subject.asked or "PDF/X-1a, PDF/X-3 or PDF/X-4"
    if declared is None:
        return [Finding(rule, "fail", "error", "the file declares no PDF/X version (Info GTS_PDFXVersion, XMP "
                        "pdfxid:GTS_PDFXVersion): a printer cannot tell which rules it was made to", measured=None,
                        threshold=wanted, page=1)]
    try:
        flavour = normalise_conformance(declared)
    except InputError:
        return [Finding(rule, "fail", "error", f"unknown PDF/X version {declared!r}", measured=declared,
                        threshold=wanted, page=1)]
    if subject.asked and flavour != subject.conformance:
        return [Finding(rule, "fail", "error", f"the file is {declared}, the printer asked for {subject.asked}",
                        measured=declared, threshold=subject.asked, page=1)]
    if flavour == "PDF/X-4" and not subject.xmp_pdfx:
        # ISO 15930-7 6.7.2: PDF/X-4 is identified in the XMP metadata (pdfxid:GTS_PDFXVersion).
        return [Finding(rule, "fail", "error", "PDF/X-4 must be declared in the XMP metadata (pdfxid:GTS_PDFXVersion)",
                        measured=declared, threshold="XMP pdfxid:GTS_PDFXVersion", page=1)]
    return [Finding(rule, "pass", "error", f"declares {declared}", measured=declared, threshold=wanted, page=1)]


def boxes(subject: PdfSubject) -> list[Finding]:
    """pdf.boxes: every page has a TrimBox, and MediaBox ⊇ BleedBox ⊇ TrimBox."""
    findings = []
    for page in subject.pages:
        rule, media = "pdf.boxes", page.mm(page.media)
        if page.trim is None:
            findings.append(Finding(rule, "fail", "error", f"page {page.number} has no TrimBox: the printer cannot "
                                    "tell where to cut (PDF/X needs one on every page)", measured="no TrimBox",
                                    threshold="TrimBox set", page=page.number, box_mm=media))
            continue
        bleed = page.bleed or page.media  # a missing BleedBox is the CropBox / MediaBox (PDF 1.7, 14.11.2)
        problems = [f"{inner} is not inside {outer}" for inner, a, outer, b in
                    (("TrimBox", page.trim, "BleedBox", bleed), ("BleedBox", bleed, "MediaBox", page.media))
                    if not _contains(b, a)]
        measured = {"media_mm": media, "bleed_mm": page.mm(bleed), "trim_mm": page.mm(page.trim)}
        if problems:
            findings.append(Finding(rule, "fail", "error", f"page {page.number}: " + "; ".join(problems),
                                    measured=measured, threshold="MediaBox ⊇ BleedBox ⊇ TrimBox",
                                    page=page.number, box_mm=page.mm(page.trim)))
        else:
            findings.append(Finding(rule, "pass", "error", f"page {page.number}: MediaBox ⊇ BleedBox ⊇ TrimBox",
                                    measured=measured, threshold="MediaBox ⊇ BleedBox ⊇ TrimBox", page=page.number,
                                    box_mm=page.mm(page.trim)))
    return findings


def bleed(subject: PdfSubject) -> list[Finding]:
    """pdf.bleed: the BleedBox reaches at least the threshold (3 mm) beyond the TrimBox on every side."""
    rule, minimum = "pdf.bleed", subject.threshold("pdf.bleed.min_mm")
    findings = []
    for page in subject.pages:
        if page.trim is None:
            findings.append(Finding(rule, "skip", "error", f"page {page.number}: no TrimBox (see pdf.boxes)",
                                    page=page.number))
            continue
        outer = page.bleed or page.media
        sides = {name: round(value * MM_PER_PT, 2) for name, value in (
            ("left", page.trim[0] - outer[0]), ("bottom", page.trim[1] - outer[1]),
            ("right", outer[2] - page.trim[2]), ("top", outer[3] - page.trim[3]))}
        narrowest = min(sides, key=sides.get)
        status = "pass" if sides[narrowest] >= minimum - 0.01 else "fail"  # 0.01 mm: pt rounding in the file
        findings.append(Finding(rule, status, "error", f"page {page.number}: bleed {sides[narrowest]:g} mm at the "
                                f"{narrowest} (min {minimum:g} mm)", measured=sides, threshold=minimum,
                                page=page.number, box_mm=page.mm(outer)))
    return findings


def output_intent(subject: PdfSubject) -> list[Finding]:
    """pdf.output-intent: a GTS_PDFX output intent with an embedded CMYK ICC profile."""
    rule, intent = "pdf.output-intent", subject.output_intent
    if intent is None:
        return [Finding(rule, "fail", "error", "no GTS_PDFX output intent: the file does not say which press "
                        "condition its colours are for", measured=None, threshold="CMYK ICC output intent", page=1)]
    condition = str(intent.get("/OutputConditionIdentifier", "")) or None
    data = subject.output_profile_bytes
    if data is None:
        return [Finding(rule, "fail", "error", f"output intent {condition!r} embeds no ICC profile "
                        "(DestOutputProfile)", measured=condition, threshold="CMYK ICC output intent", page=1)]
    space, description = profile_facts(data)
    measured = {"condition": condition, "profile": description, "colour_space": space}
    if space != "CMYK":
        return [Finding(rule, "fail", "error", f"output intent profile {description!r} is {space}, not CMYK",
                        measured=measured, threshold="CMYK ICC output intent", page=1)]
    return [Finding(rule, "pass", "error", f"output intent {condition or ''} with CMYK profile {description!r}",
                    measured=measured, threshold="CMYK ICC output intent", page=1)]


def fonts_embedded(subject: PdfSubject) -> list[Finding]:
    """pdf.fonts-embedded: every font used on a page is embedded (subsets noted)."""
    rule, findings = "pdf.fonts-embedded", []
    for page in subject.pages:
        seen = set()
        for font in page_fonts(subject.pike.pages[page.number - 1]):
            name = str(font.get("/BaseFont", "/(unnamed)"))[1:]
            if name in seen:
                continue
            seen.add(name)
            embedded = _embedded(font)
            subset = bool(SUBSET_PREFIX.match(name))
            chars = [c for c in subject.plumber.pages[page.number - 1].chars if c.get("fontname") == name]
            box = _union([subject.object_mm(page.number, c) for c in chars])
            kind = str(font.get("/Subtype", ""))[1:]
            if not embedded and not chars:
                findings.append(Finding(rule, "pass", "error", f"{name} ({kind}) is listed but sets no text on page "
                                        f"{page.number}: nothing to embed", measured={"font": name, "characters": 0},
                                        threshold="embedded when used", element=name, page=page.number))
            elif embedded:
                findings.append(Finding(rule, "pass", "error", f"{name} ({kind}) embedded"
                                        + (", subset" if subset else ", whole font (not subset)"),
                                        measured={"font": name, "embedded": True, "subset": subset},
                                        threshold="embedded", element=name, page=page.number, box_mm=box))
            else:
                findings.append(Finding(rule, "fail", "error", f"{name} ({kind}) is not embedded: the printer's "
                                        f"RIP substitutes another font ({len(chars)} characters on page {page.number})",
                                        measured={"font": name, "embedded": False, "characters": len(chars)},
                                        threshold="embedded", element=name, page=page.number, box_mm=box))
    return findings or [Finding(rule, "pass", "error", "no fonts (no live text)", threshold="embedded")]


def no_rgb(subject: PdfSubject) -> list[Finding]:
    """pdf.no-rgb: a PDF/X-1a file has no RGB images, text or vectors (ISO 15930-1: CMYK and spot only)."""
    rule = "pdf.no-rgb"
    if subject.conformance != "PDF/X-1a":
        return [Finding(rule, "pass", "error", f"{subject.conformance} allows RGB: the output intent separates it",
                        threshold=subject.conformance)]
    findings = []
    for page in subject.pages:
        plumbed = subject.plumber.pages[page.number - 1]
        hits = [(f"{o['object_type']} filled in RGB", o) for o in plumbed.objects.get("char", []) + plumbed.rects
                + plumbed.curves if _is_rgb_colour(o.get("non_stroking_color")) and o.get("fill", True)]
        hits += [(f"{o['object_type']} stroked in RGB", o) for o in plumbed.lines + plumbed.rects + plumbed.curves
                 if o.get("stroke") and _is_rgb_colour(o.get("stroking_color"))]
        hits += [(f"image in {_colour_space_name(o.get('colorspace'))}", o) for o in plumbed.images
                 if _is_rgb_space(o.get("colorspace"))]
        for index, (what, obj) in enumerate(hits[:MAX_FINDINGS_PER_PAGE]):
            more = len(hits) - MAX_FINDINGS_PER_PAGE if index == MAX_FINDINGS_PER_PAGE - 1 else 0
            findings.append(Finding(rule, "fail", "error", f"page {page.number}: {what} in a PDF/X-1a file"
                                    + (f" (and {more} more RGB objects on this page)" if more > 0 else ""),
                                    measured=what, threshold="CMYK or spot only", element=obj["object_type"],
                                    page=page.number, box_mm=subject.object_mm(page.number, obj)))
    return findings or [Finding(rule, "pass", "error", "no RGB objects", threshold="CMYK or spot only")]


def transparency(subject: PdfSubject) -> list[Finding]:
    """pdf.transparency: live transparency only in PDF/X-4 (X-1a and X-3 forbid it: ISO 15930-1 6.5)."""
    rule, findings = "pdf.transparency", []
    allowed = subject.conformance == "PDF/X-4"
    for page in subject.pages:
        uses = _transparency(subject.pike.pages[page.number - 1])
        if not uses:
            continue
        status = "pass" if allowed else "fail"
        findings.append(Finding(rule, status, "error", f"page {page.number} uses transparency ({', '.join(uses)})"
                                + ("; PDF/X-4 allows it" if allowed else f"; {subject.conformance} forbids it"),
                                measured=uses, threshold=f"allowed only in PDF/X-4 (file: {subject.conformance})",
                                page=page.number, box_mm=page.mm(page.media)))
    return findings or [Finding(rule, "pass", "error", "no transparency", threshold="allowed only in PDF/X-4")]


def _contains(outer, inner, tolerance_pt: float = 0.01) -> bool:
    return (inner[0] >= outer[0] - tolerance_pt and inner[1] >= outer[1] - tolerance_pt
            and inner[2] <= outer[2] + tolerance_pt and inner[3] <= outer[3] + tolerance_pt)


def _resources(obj, seen: set) -> Iterator:
    """The resource dictionaries of a page and, recursively, of its form XObjects and tiling patterns."""
    resources = obj.get("/Resources")
    if resources is None:
        return
    yield resources
    for group in ("/XObject", "/Pattern"):
        for child in (resources.get(group) or {}).values():
            key = child.objgen
            if key != (0, 0) and key in seen:
                continue
            seen.add(key)
            if hasattr(child, "get") and (str(child.get("/Subtype", "")) == "/Form" or "/PatternType" in child):
                yield from _resources(child, seen)


def page_fonts(page) -> Iterator:
    """Every font dictionary a page's content can use (its resources and its forms')."""
    for resources in _resources(page.obj, set()):
        yield from (resources.get("/Font") or {}).values()


def _embedded(font) -> bool:
    if str(font.get("/Subtype", "")) == "/Type3":
        return True  # Type 3 glyphs are content streams inside the file
    if str(font.get("/Subtype", "")) == "/Type0":
        font = font.DescendantFonts[0]
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _is_rgb_colour(colour) -> bool:
    return isinstance(colour, (tuple, list)) and len(colour) == 3


def _colour_space_name(space) -> str:
    if isinstance(space, (list, tuple)) and space:
        space = space[0]
    if isinstance(space, (list, tuple)) and space:
        space = space[0]
    return str(getattr(space, "name", space)).strip("/'")


def _is_rgb_space(space) -> bool:
    from pdfminer.pdftypes import resolve1

    name = _colour_space_name(space)
    if "RGB" in name:
        return True
    if name == "ICCBased":
        entry = space[0] if isinstance(space[0], (list, tuple)) else space
        stream = resolve1(entry[1]) if len(entry) > 1 else None
        return getattr(stream, "attrs", {}).get("N") == 3
    return False


def _transparency(page) -> list[str]:
    """What on the page makes it transparent: a transparency group, soft masks, alpha below 1, blend modes."""
    uses = []
    group = page.obj.get("/Group")
    if group is not None and str(group.get("/S", "")) == "/Transparency":
        uses.append("page transparency group")
    for resources in _resources(page.obj, set()):
        for state in (resources.get("/ExtGState") or {}).values():
            if str(state.get("/SMask", "/None")) != "/None":
                uses.append("soft mask")
            for key in ("/CA", "/ca"):
                if key in state and float(state[key]) < 1:
                    uses.append(f"alpha {key[1:]} {float(state[key]):g}")
            if str(state.get("/BM", "/Normal")) not in ("/Normal", "/Compatible"):
                uses.append(f"blend mode {str(state['/BM'])[1:]}")
        for xobject in (resources.get("/XObject") or {}).values():
            if str(xobject.get("/Subtype", "")) == "/Image" and "/SMask" in xobject:
                uses.append("image with a soft mask (alpha)")
    return sorted(set(uses))


def _union(boxes: list[tuple[float, float, float, float]]):
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
