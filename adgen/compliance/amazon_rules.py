"""Amazon main-image rules beyond the white background: zoomable size, no border, no inset, no watermark.

From Amazon's published product image requirements for the MAIN image: the longest side at
least 1000 px so zoom works, no border, no inset and no second view of the product, no
watermark. Each runs on adgen's own layout and on any image (`adgen check`); on the latter
the product is the subject segmented from its background (adgen.compliance.segmentation).
"""

from __future__ import annotations

import numpy as np

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.geometry import Box


def min_side(subject: CheckSubject) -> list[Finding]:
    """marketplace.min-side: the longest side is at least the zoom threshold (1000 px)."""
    if not subject.format.marketplace:
        return [Finding("marketplace.min-side", "skip", "error", "not a marketplace main image")]
    longest = max(subject.final_image.size)
    minimum = int(subject.threshold("marketplace.min-side.px"))
    ok = longest >= minimum
    return [Finding("marketplace.min-side", "pass" if ok else "fail", "error",
                    f"longest side {longest}px" + ("" if ok else f" < {minimum}px: shoppers cannot zoom"),
                    measured=longest, threshold=minimum, element="image")]


def no_border(subject: CheckSubject) -> list[Finding]:
    """marketplace.no-border: no frame of one colour along the edges, set off from the picture inside it."""
    if not subject.format.marketplace:
        return [Finding("marketplace.no-border", "skip", "error", "not a marketplace main image")]
    pixels = np.asarray(subject.final_image, dtype=np.int16)
    depth = max(3, round(min(pixels.shape[:2]) * subject.threshold("marketplace.no-border.search_fraction")))
    sides = {name: _frame_depth(strips, depth) for name, strips in _sides(pixels).items()}
    framed = [name for name, width in sides.items() if width]
    height, width = pixels.shape[:2]
    inner = Box(sides["left"], sides["top"], width - sides["right"], height - sides["bottom"])
    minimum = int(subject.threshold("marketplace.no-border.min_sides"))
    if len(framed) >= minimum:
        return [Finding("marketplace.no-border", "fail", "error",
                        f"a border on {len(framed)} sides ({', '.join(f'{s} {sides[s]}px' for s in framed)})",
                        measured=sides, threshold={"min_sides": minimum}, element="border", box=inner)]
    return [Finding("marketplace.no-border", "pass", "error", "no border", measured=sides,
                    threshold={"min_sides": minimum})]


def no_inset(subject: CheckSubject) -> list[Finding]:
    """marketplace.no-inset: one product view: no inset picture and no second, smaller view of the product."""
    if not subject.format.marketplace:
        return [Finding("marketplace.no-inset", "skip", "error", "not a marketplace main image")]
    if subject.placed:
        return [Finding("marketplace.no-inset", "pass", "error", "one product placed, nothing else",
                        measured=0, threshold=0)]
    seg = subject.segmentation
    if not seg.parts:
        return [Finding("marketplace.no-inset", "pass", "error", "no product parts found", measured=0, threshold=0)]
    main, others = seg.parts[0], seg.parts[1:]
    rect_min = subject.threshold("marketplace.no-inset.min_rectangularity")
    smaller = subject.threshold("marketplace.no-inset.max_area_share")
    findings = []
    for part in others:
        if part.area > smaller * main.area:
            continue  # as large as the product: another item of a multipack, not an inset
        if part.rectangularity >= rect_min:
            findings.append(Finding("marketplace.no-inset", "fail", "error",
                                    f"an inset picture: a filled rectangle {part.box.width}x{part.box.height}px "
                                    f"({part.rectangularity:.0%} of its box) beside the product",
                                    measured=round(part.rectangularity, 3), threshold=rect_min, element="inset",
                                    box=part.box))
        elif _same_shape(main.mask, part.mask, subject.threshold("marketplace.no-inset.max_shape_distance")):
            findings.append(Finding("marketplace.no-inset", "fail", "error",
                                    f"a second, smaller view of the product ({part.area / main.area:.0%} of its area)",
                                    measured=round(part.area / main.area, 3), threshold=smaller, element="inset",
                                    box=part.box))
    return findings or [Finding("marketplace.no-inset", "pass", "error",
                                f"{len(seg.parts)} product part(s), no inset", measured=len(findings),
                                threshold=0, outline=seg.outline())]


def no_watermark(subject: CheckSubject) -> list[Finding]:
    """marketplace.no-watermark: no text laid across the product's outline (a watermark or stamp).

    Text printed on the pack is ringed by the product's pixels and overlay text on the background
    by background (marketplace.no-text's); OCR text ringed partly by each lies across the
    product's outline, laid over the picture.
    """
    if not subject.format.marketplace:
        return [Finding("marketplace.no-watermark", "skip", "error", "not a marketplace main image")]
    from adgen.compliance.marketplace_rules import _background_share, _product_mask
    from adgen.compliance.ocr_rules import detect_scaled

    product = _product_mask(subject, dilate_px=0) if subject.placed else subject.segmentation.mask
    low, high = subject.threshold("marketplace.no-watermark.min_share"), 1 - subject.threshold(
        "marketplace.no-watermark.min_share")
    min_score = subject.threshold("marketplace.no-text.min_score")
    findings = []
    for line in detect_scaled(subject.final_image, min_score):
        share = 1 - _background_share(product, line.box)
        if line.text.strip() and low <= share <= high:
            findings.append(Finding("marketplace.no-watermark", "fail", "error",
                                    f"text {line.text!r} laid across the product's outline ({share:.0%} of its surroundings "
                                    "are product)",
                                    measured={"text": line.text, "on_product": round(share, 3)},
                                    threshold={"min_share": low, "max_share": high}, element="watermark",
                                    box=line.box))
    return findings or [Finding("marketplace.no-watermark", "pass", "error", "no text across the product",
                                measured=0, threshold={"min_share": low, "max_share": high})]


def _sides(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """Each side's lines, outermost first, as (lines, px along the line, RGB)."""
    return {"top": pixels, "bottom": pixels[::-1], "left": pixels.transpose(1, 0, 2),
            "right": pixels.transpose(1, 0, 2)[::-1]}


def _frame_depth(lines: np.ndarray, depth: int) -> int:
    """How many outer lines form a frame: one colour along (98 % within 12 levels), unlike what lies inside."""
    colour = None
    count = 0
    for index in range(min(depth, len(lines) - 4)):
        line = lines[index]
        median = np.median(line, axis=0)
        uniform = (np.abs(line - median).max(axis=1) <= 12).mean() >= 0.98
        if not uniform or (colour is not None and np.abs(median - colour).max() > 12):
            break
        colour, count = median, index + 1
    if colour is None:
        return 0
    inside = np.median(lines[count + 1:count + 4].reshape(-1, 3), axis=0)
    return count if np.abs(inside - colour).max() > 24 else 0


def _same_shape(a: np.ndarray, b: np.ndarray, max_distance: float) -> bool:
    """Hu-moment shape distance (OpenCV matchShapes I1, scale-invariant) of two masks' outlines."""
    import cv2

    def contour(mask):
        found, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        return max(found, key=cv2.contourArea)

    return cv2.matchShapes(contour(a), contour(b), cv2.CONTOURS_MATCH_I1, 0.0) <= max_distance
