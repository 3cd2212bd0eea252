"""Preflight of ink: total area coverage on the separations, and colours the press cannot reach.

Both measure Ghostscript's renders inside each page's BleedBox (what is printed and cut from);
marks outside it, in registration colour (all inks at 100 %), are not artwork.
"""

from __future__ import annotations

import numpy as np

from adgen.compliance.pdf_subject import (
    MM_PER_INCH,
    PageBoxes,
    PdfSubject,
    profile_facts,
)
from adgen.compliance.report import Finding

MAX_REGIONS_PER_PAGE = 8


def total_coverage(subject: PdfSubject) -> list[Finding]:
    """ink.total-coverage: sum of C+M+Y+K per pixel at most the limit (300 %), over more than a speck of area."""
    rule = "ink.total-coverage"
    limit, dpi = subject.threshold("ink.total-coverage.max_percent"), subject.threshold("ink.total-coverage.dpi")
    min_area = subject.threshold("ink.total-coverage.min_area_mm2")
    findings = []
    for page, separation in zip(subject.pages, subject.cmyk(dpi)):
        window, (left, top) = _printed(separation, page, dpi)
        coverage = window.astype(np.float32).sum(axis=2) * (100.0 / 255.0)
        peak = float(coverage.max()) if coverage.size else 0.0
        regions = _regions(coverage > limit + 0.5, dpi, (left, top), min_area)  # 0.5 %: 8-bit rounding
        for box_mm, area_mm2, mask in regions:
            worst = float(coverage[mask].max())
            findings.append(Finding(rule, "fail", "error", f"page {page.number}: {area_mm2:.1f} mm² at up to "
                                    f"{worst:.0f} % ink (limit {limit:g} %)",
                                    measured={"max_percent": round(worst, 1), "area_mm2": round(area_mm2, 2),
                                              "dpi": dpi}, threshold=limit, page=page.number, box_mm=box_mm))
        if not regions:
            findings.append(Finding(rule, "pass", "error", f"page {page.number}: at most {peak:.0f} % ink "
                                    f"(limit {limit:g} %, measured at {dpi:g} dpi)",
                                    measured={"max_percent": round(peak, 1), "dpi": dpi}, threshold=limit,
                                    page=page.number))
    return findings


def gamut(subject: PdfSubject) -> list[Finding]:
    """ink.gamut: each pixel's design sRGB against what the press makes of it, CIEDE2000 per pixel.

    Both sides come from Ghostscript: the page rendered to sRGB (the design's colours) and the
    same page separated to CMYK through the output profile (what the plates carry), brought back to
    sRGB through that profile. RGB artwork the press cannot reach moves; CMYK artwork was already
    in the press's terms and both renders agree on it (dE00 < 1), so only what was designed in RGB
    is judged.
    """
    from PIL import Image, ImageCms

    rule = "ink.gamut"
    if subject.press_profile_path is None:
        return [Finding(rule, "skip", "error", "no CMYK profile: no output intent, and Ghostscript's default "
                        "CMYK profile is not installed")]
    dpi = subject.threshold("ink.gamut.dpi")
    warn_de, fail_de = subject.threshold("ink.gamut.warn_delta_e"), subject.threshold("ink.gamut.fail_delta_e")
    min_area = subject.threshold("ink.gamut.min_area_mm2")
    profile_name = _press_profile_name(subject)
    # Ghostscript separates and renders relative colorimetric with black point compensation; the
    # way back to sRGB must do the same, or CMYK artwork would show a difference that is not there.
    to_rgb = ImageCms.buildTransform(ImageCms.getOpenProfile(str(subject.press_profile_path)),
                                     ImageCms.createProfile("sRGB"), "CMYK", "RGB",
                                     ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                     flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)
    findings = []
    for page, design, plates in zip(subject.pages, subject.rgb(dpi, antialias=False), subject.cmyk(dpi)):
        window, (left, top) = _printed(np.asarray(design), page, dpi)
        printed = np.asarray(ImageCms.applyTransform(Image.fromarray(_printed(plates, page, dpi)[0], "CMYK"), to_rgb))
        distance = _distance(window, printed)
        peak = float(distance.max()) if distance.size else 0.0
        page_findings = []
        for status, mask in (("fail", distance > fail_de), ("warn", (distance > warn_de) & (distance <= fail_de))):
            for box_mm, area_mm2, region in _regions(mask, dpi, (left, top), min_area):
                colour, on_press = (_hex(np.median(pixels[region], axis=0)) for pixels in (window, printed))
                worst = float(distance[region].max())
                page_findings.append(Finding(
                    rule, status, "error", f"page {page.number}: {area_mm2:.1f} mm² of {colour} prints as about "
                    f"{on_press}, up to dE00 {worst:.1f} ({profile_name})",
                    measured={"max_delta_e00": round(worst, 2), "colour": colour, "on_press": on_press,
                              "area_mm2": round(area_mm2, 2), "dpi": dpi},
                    threshold={"warn": warn_de, "fail": fail_de, "profile": profile_name}, page=page.number,
                    box_mm=box_mm))
        findings += page_findings or [Finding(rule, "pass", "error", f"page {page.number}: every colour within "
                                              f"dE00 {warn_de:g} of what the press makes of it (max {peak:.1f}, "
                                              f"{profile_name})", measured={"max_delta_e00": round(peak, 2)},
                                              threshold={"warn": warn_de, "fail": fail_de}, page=page.number)]
    return findings


def _press_profile_name(subject: PdfSubject) -> str:
    name = profile_facts(subject.press_profile_path.read_bytes())[1]
    return name if subject.output_profile_path is not None else f"{name}; no output intent: Ghostscript's default"


def _distance(design: np.ndarray, printed: np.ndarray) -> np.ndarray:
    """dE00 per pixel between two sRGB renders of the same area (H x W float)."""
    from adgen.compliance.palette_rules import delta_e00

    if design.size == 0:
        return np.zeros(design.shape[:2], dtype=np.float32)
    # Artwork has far fewer distinct colour pairs than pixels: measure each pair once (packed in
    # one int64, as np.unique over rows is slow).
    pairs = np.concatenate([design.reshape(-1, 3), printed.reshape(-1, 3)], axis=1).astype(np.int64)
    packed = np.zeros(len(pairs), dtype=np.int64)
    for column in range(6):
        packed = (packed << 8) | pairs[:, column]
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    distance = delta_e00(pairs[first, :3], pairs[first, 3:])
    return distance[inverse.reshape(-1)].reshape(design.shape[:2]).astype(np.float32)


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(v):02X}" for v in rgb)


def _printed(pixels: np.ndarray, page: PageBoxes, dpi: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The part of a page render inside its BleedBox (else TrimBox, else all), and that window's top-left px."""
    left, top, right, bottom = page.mm(page.printed_box)
    scale = dpi / MM_PER_INCH
    x0, y0 = max(0, round(left * scale)), max(0, round(top * scale))
    x1, y1 = min(pixels.shape[1], round(right * scale)), min(pixels.shape[0], round(bottom * scale))
    return pixels[y0:y1, x0:x1], (x0, y0)


def _regions(mask: np.ndarray, dpi: float, origin: tuple[int, int], min_area_mm2: float):
    """Connected areas of a mask larger than min_area_mm2, biggest first: (box mm on the page, area mm², mask)."""
    import cv2

    if not mask.any():
        return []
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    mm_per_px = MM_PER_INCH / dpi
    found = []
    for label in range(1, count):
        x, y, w, h, pixels = (int(v) for v in stats[label])
        area = pixels * mm_per_px ** 2
        if area < min_area_mm2:
            continue
        box = tuple(round(v * mm_per_px, 2) for v in (origin[0] + x, origin[1] + y, origin[0] + x + w,
                                                      origin[1] + y + h))
        found.append((box, area, labels == label))
    found.sort(key=lambda item: -item[1])
    return found[:MAX_REGIONS_PER_PAGE]
