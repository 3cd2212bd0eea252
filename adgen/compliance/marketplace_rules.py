"""Marketplace main-image rules (Amazon): pure white background, product fills the frame, no text."""

from __future__ import annotations

import numpy as np
from PIL import Image

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.geometry import Box

WHITE = 255


def white_background(subject: CheckSubject) -> list[Finding]:
    """marketplace.white-background: every pixel off the product (and its edge band) is exactly 255,255,255."""
    if not subject.format.marketplace:
        return [Finding("marketplace.white-background", "skip", "error", "not a marketplace main image")]
    pixels = np.asarray(subject.final_image)
    off_product = ~_product_mask(subject, dilate_px=int(subject.threshold("marketplace.white-background.edge_px")))
    off_white = off_product & (pixels != WHITE).any(axis=2)
    fraction = float(off_white.sum() / max(1, off_product.sum()))
    limit = subject.threshold("marketplace.white-background.max_off_white_fraction")
    ok = fraction <= limit
    box = Box(*Image.fromarray(off_white).getbbox()) if off_white.any() else None
    return [Finding("marketplace.white-background", "pass" if ok else "fail", "error",
                    f"{int(off_white.sum())} background px not pure white ({fraction:.2%})",
                    measured=round(fraction, 6), threshold=limit, element="background", box=box)]


def product_fill(subject: CheckSubject) -> list[Finding]:
    """marketplace.product-fill: the product's longer side spans >= 85% of the image's longer side."""
    if not subject.format.marketplace:
        return [Finding("marketplace.product-fill", "skip", "error", "not a marketplace main image")]
    mask = _product_mask(subject, dilate_px=0)
    if not mask.any():
        return [Finding("marketplace.product-fill", "fail", "error", "no product found")]
    box = Box(*Image.fromarray(mask).getbbox())
    fill = max(box.width, box.height) / max(subject.final_image.size)
    minimum = subject.threshold("marketplace.product-fill.min_fraction")
    return [Finding("marketplace.product-fill", "pass" if fill >= minimum else "fail", "error",
                    f"product spans {fill:.1%} of the longer side", measured=round(fill, 4), threshold=minimum,
                    element="product", box=box)]


def no_text(subject: CheckSubject) -> list[Finding]:
    """marketplace.no-text: OCR finds no text once the product itself (whose label may read) is painted white."""
    if not subject.format.marketplace:
        return [Finding("marketplace.no-text", "skip", "error", "not a marketplace main image")]
    from adgen.compliance.ocr_rules import detect_scaled

    image = subject.final_image.copy()
    image.paste((WHITE,) * 3, mask=Image.fromarray(_product_mask(subject, dilate_px=2)))
    min_score = subject.threshold("marketplace.no-text.min_score")
    lines = [line for line in detect_scaled(image, min_score) if line.text.strip()]
    if not lines:
        return [Finding("marketplace.no-text", "pass", "error", "no text outside the product", measured=0,
                        threshold=min_score)]
    return [Finding("marketplace.no-text", "fail", "error", f"text {line.text!r} outside the product",
                    measured={"text": line.text, "score": round(line.score, 3)}, threshold=min_score,
                    element="overlay", box=line.box) for line in lines]


def _product_mask(subject: CheckSubject, *, dilate_px: int) -> np.ndarray:
    """Where the product is, full image size: its placed alpha, or (not laid out by adgen) the non-white pixels."""
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
        # Not laid out by adgen: the product is whatever is not white; its bounding box stands in for it.
        not_white = (np.asarray(subject.final_image) < 250).any(axis=2)
        mask = Image.new("L", (width, height), 0)
        if not_white.any():
            mask.paste(255, Image.fromarray(not_white).getbbox())
    mask = np.asarray(mask)
    if dilate_px:
        import cv2

        mask = cv2.dilate(mask, np.ones((2 * dilate_px + 1, 2 * dilate_px + 1), np.uint8))
    return mask > 0
