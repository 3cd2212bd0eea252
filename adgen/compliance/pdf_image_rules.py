"""Preflight of placed pictures and barcodes: effective image resolution; barcodes decoded, sized, clear.

Images: pdfplumber gives each placed image's pixel size and its box on the page after every
transformation (form XObjects included), so ppi = pixels / placed inches.

Barcodes: zxing-cpp (an independent decoder, not the generator) reads the page rendered at the
stated resolution. Module counts and quiet zones are the GS1 General Specifications' (5.2.3.4,
5.2.6): an EAN-13 or UPC-A symbol is 95 modules between its guard bars' outer edges, 0.330 mm
each at 100 % magnification (37.29 mm wide with its quiet zones); EAN-13 needs 11 modules of
quiet zone on the left and 7 on the right, UPC-A 9 on each side, EAN-8 7 on each side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adgen.compliance.pdf_subject import MM_PER_INCH, PdfSubject
from adgen.compliance.report import Finding

NOMINAL_MODULE_MM = 0.330


@dataclass(frozen=True)
class Symbology:
    modules: int          # from the outer edge of the left guard to the outer edge of the right guard
    quiet_left: int       # modules
    quiet_right: int


SYMBOLOGIES = {"EAN-13": Symbology(95, 11, 7), "UPC-A": Symbology(95, 9, 9), "EAN-8": Symbology(67, 7, 7),
               "UPC-E": Symbology(51, 9, 7)}
GTIN_FORMATS = (*SYMBOLOGIES, "ITF")


def image_resolution(subject: PdfSubject) -> list[Finding]:
    """print.image-resolution: each placed image's effective ppi at least 300 (warns below), 250 (fails below)."""
    rule = "print.image-resolution"
    warn_ppi, fail_ppi = subject.threshold("print.image-resolution.warn_ppi"), subject.threshold(
        "print.image-resolution.fail_ppi")
    findings = []
    for page in subject.pages:
        for image in subject.plumber.pages[page.number - 1].images:
            ppi = _effective_ppi(image)
            if ppi is None:
                continue
            status = "fail" if ppi < fail_ppi else "warn" if ppi < warn_ppi else "pass"
            width_px, height_px = (int(v) for v in image["srcsize"])
            findings.append(Finding(rule, status, "error", f"page {page.number}: {width_px}x{height_px} px image "
                                    f"placed at {ppi:.0f} ppi (min {warn_ppi:g}, fails under {fail_ppi:g})",
                                    measured={"ppi": round(ppi, 1), "pixels": [width_px, height_px]},
                                    threshold={"warn": warn_ppi, "fail": fail_ppi},
                                    element=f"image {width_px}x{height_px}", page=page.number,
                                    box_mm=subject.object_mm(page.number, image)))
    return findings or [Finding(rule, "pass", "error", "no placed images")]


def _effective_ppi(image: dict) -> float | None:
    """The lower of the two axes' pixels per placed inch; an image turned 90° is matched by aspect."""
    width_in, height_in = (image["x1"] - image["x0"]) / 72.0, (image["bottom"] - image["top"]) / 72.0
    width_px, height_px = (float(v) for v in image.get("srcsize") or (0, 0))
    if min(width_in, height_in, width_px, height_px) <= 0:
        return None
    if (width_px > height_px) != (width_in > height_in):
        width_px, height_px = height_px, width_px
    return min(width_px / width_in, height_px / height_in)


def check_digit(subject: PdfSubject) -> list[Finding]:
    """barcode.check-digit: every GTIN barcode decodes and its last digit is the GS1 mod-10 check digit."""
    rule, findings = "barcode.check-digit", []
    for page_number, code, box_mm in _barcodes(subject):
        digits = code["text"]
        expected = gtin_check_digit(digits[:-1]) if digits[:-1].isdigit() and digits else None
        ok = expected is not None and str(expected) == digits[-1] and not code["checksum_error"]
        message = (f"page {page_number}: {code['format']} {digits} check digit {digits[-1]} is right" if ok else
                   f"page {page_number}: {code['format']} {digits} has check digit {digits[-1]}, GS1 mod 10 gives "
                   f"{expected}: scanners reject it")
        findings.append(Finding(rule, "pass" if ok else "fail", "error", message,
                                measured={"gtin": digits, "check_digit": digits[-1:]},
                                threshold={"check_digit": expected}, element=digits, page=page_number, box_mm=box_mm))
    return findings or [_none_found(rule)]


def size(subject: PdfSubject) -> list[Finding]:
    """barcode.size: module width gives at least the minimum magnification (80 % of 0.330 mm) and at most 200 %."""
    rule = "barcode.size"
    low, high = subject.threshold("barcode.size.min_magnification"), subject.threshold("barcode.size.max_magnification")
    findings = []
    for page_number, code, box_mm in _barcodes(subject):
        symbology = SYMBOLOGIES.get(code["format"])
        if symbology is None:
            continue
        module_mm = code["length_mm"] / symbology.modules
        magnification = module_mm / NOMINAL_MODULE_MM
        width_mm = module_mm * (symbology.modules + symbology.quiet_left + symbology.quiet_right)
        status = "pass" if low - 0.01 <= magnification <= high + 0.01 else "fail"  # 0.01: a pixel at the edges
        findings.append(Finding(rule, status, "error", f"page {page_number}: {code['format']} {code['text']} at "
                                f"{magnification:.0%} ({module_mm:.3f} mm modules, {width_mm:.2f} mm wide with quiet "
                                f"zones; allowed {low:.0%}-{high:.0%})",
                                measured={"magnification": round(magnification, 3), "module_mm": round(module_mm, 4),
                                          "width_mm": round(width_mm, 2)},
                                threshold={"min": low, "max": high, "nominal_module_mm": NOMINAL_MODULE_MM},
                                element=code["text"], page=page_number, box_mm=box_mm))
    return findings or [_none_found(rule)]


def quiet_zone(subject: PdfSubject) -> list[Finding]:
    """barcode.quiet-zone: light space of the symbology's width (EAN-13: 11 modules left, 7 right) beside the bars."""
    rule, dpi = "barcode.quiet-zone", subject.threshold("barcode.dpi")
    findings = []
    images = subject.rgb(dpi)
    for page_number, code, box_mm in _barcodes(subject):
        symbology = SYMBOLOGIES.get(code["format"])
        if symbology is None:
            continue
        # Turn the page so the symbol reads left to right; then its quiet zones are the columns beside it.
        grey, (left, top), (right, bottom) = _reading_left_to_right(
            np.asarray(images[page_number - 1].convert("L"), dtype=np.float32), code["scan_px"])
        module_px = code["length_mm"] / symbology.modules * dpi / MM_PER_INCH
        rows = grey[max(0, top):max(top + 1, bottom)]
        clear_left = _clear_columns(rows, left - 1, -1, symbology.quiet_left * module_px) / module_px
        clear_right = _clear_columns(rows, right + 1, 1, symbology.quiet_right * module_px) / module_px
        ok = clear_left >= symbology.quiet_left - 0.5 and clear_right >= symbology.quiet_right - 0.5
        zone = _widened(box_mm, max(symbology.quiet_left, symbology.quiet_right) * module_px * MM_PER_INCH / dpi,
                        code["upright"])
        findings.append(Finding(rule, "pass" if ok else "fail", "error",
                                f"page {page_number}: {code['format']} {code['text']} quiet zones {clear_left:.1f} "
                                f"modules left, {clear_right:.1f} right (needs {symbology.quiet_left} and "
                                f"{symbology.quiet_right})", measured={"left_modules": round(clear_left, 1),
                                                                      "right_modules": round(clear_right, 1)},
                                threshold={"left_modules": symbology.quiet_left,
                                           "right_modules": symbology.quiet_right},
                                element=code["text"], page=page_number, box_mm=zone))
    return findings or [_none_found(rule)]


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of a GTIN's other digits (weights 3, 1, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _barcodes(subject: PdfSubject) -> list[tuple[int, dict, tuple[float, float, float, float]]]:
    """(page, decoded symbol, its bars' box in mm) for every GTIN-family barcode zxing-cpp reads, once per check."""
    if "barcodes" not in subject.cache:
        import zxingcpp

        dpi = subject.threshold("barcode.dpi")
        found = []
        for page, image in zip(subject.pages, subject.rgb(dpi)):
            # return_errors: a symbol whose check digit is wrong comes back with a checksum error
            # instead of not at all, so the finding can say which digit is wrong. No downscaled
            # second pass: at print resolution it only adds misreads of the same symbol (a 100 %
            # EAN-13 at 300 dpi read again halved came back with its left half's digits wrong).
            for result in zxingcpp.read_barcodes(image, return_errors=True, try_downscale=False):
                name = str(result.format)
                if name not in GTIN_FORMATS or not result.text:
                    continue
                start, end = result.position.top_left, result.position.top_right  # along the scan line
                corners = [(p.x, p.y) for p in (start, end, result.position.bottom_right, result.position.bottom_left)]
                xs, ys = [c[0] for c in corners], [c[1] for c in corners]
                box = tuple(round(v * MM_PER_INCH / dpi, 2) for v in (min(xs), min(ys), max(xs) + 1, max(ys) + 1))
                checksum = result.error is not None and result.error.type == zxingcpp.ErrorType.Checksum
                if (result.error is not None and not checksum) or any(
                        seen == page.number and _overlap(box, other) for seen, _, other in found):
                    continue  # undecodable, or the same symbol read twice
                length_px = float(np.hypot(end.x - start.x, end.y - start.y)) + 1  # both edge pixels count
                found.append((page.number, {"text": result.text, "format": name, "checksum_error": checksum,
                                            "length_mm": length_px * MM_PER_INCH / dpi,
                                            "upright": abs(end.x - start.x) >= abs(end.y - start.y),
                                            "scan_px": ((start.x, start.y), (end.x, end.y),
                                                        (min(xs), min(ys), max(xs), max(ys)))}, box))
        subject.cache["barcodes"] = found
    return subject.cache["barcodes"]


def _reading_left_to_right(grey: np.ndarray, scan) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """The page turned by quarter turns until the scan line runs left to right; the bars' box there (px)."""
    (x0, y0), (x1, y1), (left, top, right, bottom) = scan
    corners = [(left, top), (right, bottom)]
    for _ in range(4):
        if x1 > x0 and abs(x1 - x0) >= abs(y1 - y0):
            break
        width = grey.shape[1]
        grey = np.rot90(grey)  # counter-clockwise: (x, y) -> (y, width - 1 - x)
        x0, y0, x1, y1 = y0, width - 1 - x0, y1, width - 1 - x1
        corners = [(y, width - 1 - x) for x, y in corners]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return grey, (min(xs), min(ys)), (max(xs) + 1, max(ys) + 1)


def _widened(box_mm, reach_mm: float, upright: bool) -> tuple[float, float, float, float]:
    """The bars' box grown by the quiet zones' reach along the scan line (x when upright, else y)."""
    left, top, right, bottom = box_mm
    if upright:
        return (round(left - reach_mm, 2), top, round(right + reach_mm, 2), bottom)
    return (left, round(top - reach_mm, 2), right, round(bottom + reach_mm, 2))


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _clear_columns(rows: np.ndarray, start: int, step: int, wanted_px: float) -> float:
    """How many pixel columns from `start` outward (step -1 left, +1 right) stay light, up to what is wanted."""
    limit = int(np.ceil(wanted_px)) + 1
    light = 0.5 * (255.0 + float(np.percentile(rows, 1)))  # halfway between the bars' ink and white paper
    count, column = 0, start
    while count < limit and 0 <= column < rows.shape[1]:
        if float(rows[:, column].min()) < light:
            break
        count += 1
        column += step
    return float(count)


def _none_found(rule: str) -> Finding:
    return Finding(rule, "skip", "error", "no EAN/UPC/ITF barcode found on any page")
