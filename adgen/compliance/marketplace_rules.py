"""Marketplace main-image rules (Amazon): pure white background, product fills the frame, no text."""

from __future__ import annotations

import numpy as np
from PIL import Image

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.geometry import Box

WHITE = 255


def white_background(subject: CheckSubject) -> list[Finding]:
    """marketplace.white-background: every pixel off the product (and its edge band) is exactly 255,255,255.

    On an image adgen did not lay out, the product is segmented from its background (the
    product cut-out) and the band just past the edge band tolerates JPEG ringing: a few levels
    off white within `ringing_px` of the subject is compression noise, a grey frame is not.
    """
    if not subject.format.marketplace:
        return [Finding("marketplace.white-background", "skip", "error", "not a marketplace main image")]
    pixels = np.asarray(subject.final_image)
    edge_px = int(subject.threshold("marketplace.white-background.edge_px"))
    outline = None
    if subject.placed:
        near = _product_mask(subject, dilate_px=edge_px)
        off_white = ~near & (pixels != WHITE).any(axis=2)
    else:
        # Everything that is not background is judged by its own rule (lettering by no-text).
        seg = subject.segmentation
        near = _dilate(seg.mask, edge_px)
        off_white = ~near & (pixels != WHITE).any(axis=2)
        ringing = _dilate(seg.mask, int(subject.threshold("marketplace.white-background.ringing_px"))) & ~near
        levels = subject.threshold("marketplace.white-background.ringing_levels")
        off_white &= ~(ringing & (pixels >= WHITE - levels).all(axis=2))
        outline = seg.outline()
    background = ~near
    fraction = float(off_white.sum() / max(1, background.sum()))
    limit = subject.threshold("marketplace.white-background.max_off_white_fraction")
    ok = fraction <= limit
    box = Box(*Image.fromarray(off_white).getbbox()) if off_white.any() else None
    colour = _hex(np.median(pixels[off_white], axis=0)) if off_white.any() else "#FFFFFF"
    message = f"{int(off_white.sum())} background px not pure white ({fraction:.2%})"
    if not ok:
        message += f"; the background measures {colour}, not #FFFFFF"
    return [Finding("marketplace.white-background", "pass" if ok else "fail", "error", message,
                    measured=round(fraction, 6), threshold=limit, element="background", box=box, outline=outline)]


def product_fill(subject: CheckSubject) -> list[Finding]:
    """marketplace.product-fill: the product's longer side spans >= 85% of the image's longer side."""
    if not subject.format.marketplace:
        return [Finding("marketplace.product-fill", "skip", "error", "not a marketplace main image")]
    mask = _product_mask(subject, dilate_px=0)
    if not mask.any():
        return [Finding("marketplace.product-fill", "fail", "error", "no product found", measured=0.0,
                        threshold=subject.threshold("marketplace.product-fill.min_fraction"))]
    box = Box(*Image.fromarray(mask).getbbox())
    fill = max(box.width, box.height) / max(subject.final_image.size)
    minimum = subject.threshold("marketplace.product-fill.min_fraction")
    outline = None if subject.placed else subject.segmentation.outline()
    return [Finding("marketplace.product-fill", "pass" if fill >= minimum else "fail", "error",
                    f"product spans {fill:.1%} of the longer side", measured=round(fill, 4), threshold=minimum,
                    element="product", box=box, outline=outline)]


def no_text(subject: CheckSubject) -> list[Finding]:
    """marketplace.no-text: no overlay text. On adgen's own layout OCR reads nothing once the placed
    product is painted white; on any other image each line OCR finds is overlay text when the
    pixels around it are background, and the product's own print when they are the product."""
    if not subject.format.marketplace:
        return [Finding("marketplace.no-text", "skip", "error", "not a marketplace main image")]
    from adgen.compliance.ocr_rules import detect_scaled

    min_score = subject.threshold("marketplace.no-text.min_score")
    if subject.placed:
        image = subject.final_image.copy()
        image.paste((WHITE,) * 3, mask=Image.fromarray(_product_mask(subject, dilate_px=2)))
        overlay, printed = [line for line in detect_scaled(image, min_score) if line.text.strip()], []
    else:
        lines = [line for line in detect_scaled(subject.final_image, min_score) if line.text.strip()]
        seg = subject.segmentation
        shares = [_background_share(seg.mask, line.box) for line in lines]
        limit = subject.threshold("marketplace.no-text.max_background_share")
        overlay = [line for line, share in zip(lines, shares) if share > limit]
        printed = [line for line, share in zip(lines, shares) if share <= limit]
    if not overlay:
        on_pack = [line.text for line in printed]
        return [Finding("marketplace.no-text", "pass", "error",
                        "no text outside the product" + (f"; printed on the pack: {on_pack}" if on_pack else ""),
                        measured={"overlay": [], "printed": on_pack}, threshold=min_score)]
    return [Finding("marketplace.no-text", "fail", "error", f"overlay text {line.text!r} on the background",
                    measured={"text": line.text, "score": round(line.score, 3)}, threshold=min_score,
                    element="overlay", box=line.box) for line in overlay]


def _background_share(mask: np.ndarray, box: Box) -> float:
    """Share of background pixels in a ring around a text box (half its height wide, at least 4 px)."""
    reach = max(4, box.height // 2)
    height, width = mask.shape
    left, top = max(0, box.left - reach), max(0, box.top - reach)
    right, bottom = min(width, box.right + reach), min(height, box.bottom + reach)
    ring = np.ones((bottom - top, right - left), bool)
    ring[box.top - top:box.bottom - top, box.left - left:box.right - left] = False
    around = mask[top:bottom, left:right][ring]
    return float((~around).mean()) if around.size else 1.0


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(v)):02X}" for v in rgb)


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    import cv2

    if px <= 0:
        return mask.copy()
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0


def _product_mask(subject: CheckSubject, *, dilate_px: int) -> np.ndarray:
    """Where the product is, full image size: its placed alpha, or (not laid out by adgen) the segmented subject."""
    width, height = subject.final_image.size
    layer = subject.composition.layer("product") if subject.placed else None
    if layer is not None and layer.source is not None:
        from adgen.compliance.artwork_rules import placed_artwork

        _, alpha = placed_artwork(layer)
        mask = Image.new("L", (width, height), 0)
        mask.paste(Image.fromarray((alpha > 0).astype(np.uint8) * 255), (layer.box.left, layer.box.top))
    elif subject.placed:
        mask = Image.new("L", (width, height), 0)
    else:
        # Not laid out by adgen: the subject segmented from its background (its large parts).
        return _dilate(subject.segmentation.subject, dilate_px)
    return _dilate(np.asarray(mask) > 0, dilate_px)
