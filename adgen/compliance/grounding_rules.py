"""Does the placed product stand on the plate, with a clean edge? Measured on the final pixels.

product.grounded: the mean L* of a band just under the product's base, against the same rows
beside it. A product standing on something darkens the floor under its base (contact shadow,
occlusion); a floating one leaves the band as light as the plate beside it.
product.halo: the matte's edge ring. Each ring pixel should be a mix of the product's colour
just inside and the plate's just outside (a point on that segment in CIELAB); a ring that
matches neither (a white or dark fringe from the photo's old background, a glow) is a halo.
"""

from __future__ import annotations

import numpy as np

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.geometry import Box, Size

HALF_OPAQUE = 128   # alpha at or above this is the product's body: its lowest such row is the base
RING_OUTSIDE_PX = 1  # the ring reaches this far past the matte's last non-zero pixel
PLATE_GAP_PX = 3     # the plate's colour is read at least this far from the matte
OUTLINE_POINTS = 48  # evidence: each halo outline simplified to about this many points


def grounded(subject: CheckSubject) -> list[Finding]:
    """product.grounded: the band under the base is darker than the plate beside it by >= the threshold, L*."""
    measured = _placed_product(subject, "product.grounded")
    if isinstance(measured, Finding):
        return [measured]
    layer, alpha = measured
    bands = grounding_bands(layer.box, alpha, Size(*subject.final_image.size),
                            [other.box for other in subject.composition.layers if other.name != "product"])
    if bands is None:
        return [Finding("product.grounded", "skip", "error", "no plate under or beside the product's base to measure",
                        element="product", box=layer.box)]
    under, beside = bands
    delta = grounding_delta(subject.final_image, under, beside)
    limit = subject.threshold("product.grounded.max_delta_l")
    ok = delta <= limit
    verb = "darker" if delta < 0 else "lighter"
    return [Finding("product.grounded", "pass" if ok else "fail", "error",
                    f"the band under the product's base is {abs(delta):.1f} L* {verb} than the plate beside it"
                    + ("" if ok else ": the product floats (no contact shadow or surface under it)"),
                    measured=round(delta, 2), threshold=limit, element="product", box=layer.box,
                    regions=(("under the base", under),) + tuple(("beside the base", b) for b in beside))]


def halo(subject: CheckSubject) -> list[Finding]:
    """product.halo: mean CIELAB distance of the matte's edge ring from the product-to-plate mix, <= the threshold."""
    measured = _placed_product(subject, "product.halo")
    if isinstance(measured, Finding):
        return [measured]
    layer, alpha = measured
    distance, ring = halo_distance(subject.final_image, layer.box, alpha)
    if distance is None:
        return [Finding("product.halo", "skip", "error", "no matte edge against the plate to measure",
                        element="product", box=layer.box)]
    limit = subject.threshold("product.halo.max_delta_e")
    ok = distance <= limit
    outline = None if ok else _outline(ring > limit, layer.box)
    return [Finding("product.halo", "pass" if ok else "fail", "error",
                    f"the cut-out's edge ring is {distance:.1f} dE76 from a mix of product and plate"
                    + ("" if ok else ": a halo or fringe around the product"),
                    measured=round(distance, 2), threshold=limit, element="product", box=layer.box,
                    outline=outline or None)]


def grounding_bands(box: Box, alpha: np.ndarray, canvas: Size,
                    avoid: list[Box]) -> tuple[Box, tuple[Box, ...]] | None:
    """The band just under the product's base and the same rows beside it (clear of other layers), or None."""
    body = alpha >= HALF_OPAQUE
    rows = np.nonzero(body.any(axis=1))[0]
    if rows.size == 0:
        return None
    base = int(rows.max())
    reach = max(2, round(0.04 * box.height))
    columns = np.nonzero(body[max(0, base - reach):base + 1].any(axis=0))[0]
    x0, x1 = box.left + int(columns.min()), box.left + int(columns.max()) + 1
    height = max(3, round(0.04 * box.height))
    top = box.top + base + 2   # past the matte's last partial row
    under = Box(x0, top, x1, top + height).clamp_to(canvas)
    if under.area == 0:
        return None
    width = x1 - x0
    gap, side = max(4, round(0.15 * width)), max(4, width // 2)
    beside = tuple(b for b in (Box(x0 - gap - side, under.top, x0 - gap, under.bottom).clamp_to(canvas),
                               Box(x1 + gap, under.top, x1 + gap + side, under.bottom).clamp_to(canvas))
                   if b.width > 0 and b.height > 0 and not any(b.intersects(o) for o in avoid))
    return (under, beside) if beside else None


def grounding_delta(image, under: Box, beside: tuple[Box, ...]) -> float:
    """Mean L* under the base minus mean L* beside it (negative: darker under the base)."""
    def mean_l(boxes):
        values = [_lab(np.asarray(image.convert("RGB").crop(b.as_tuple())))[..., 0].ravel() for b in boxes]
        return float(np.concatenate(values).mean())

    return mean_l([under]) - mean_l(beside)


def halo_distance(image, box: Box, alpha: np.ndarray) -> tuple[float | None, np.ndarray]:
    """Mean distance (dE76) of the edge ring from the segment inside-colour..plate-colour; and the per-pixel map."""
    import cv2

    pad = PLATE_GAP_PX + 8
    canvas = Size(*image.size)
    region = box.expand(pad).clamp_to(canvas)
    matte = np.zeros((region.height, region.width), np.float32)
    inner = box.clamp_to(canvas)
    matte[inner.top - region.top:inner.bottom - region.top, inner.left - region.left:inner.right - region.left] = \
        alpha[inner.top - box.top:inner.bottom - box.top, inner.left - box.left:inner.right - box.left]
    lab = _lab(np.asarray(image.convert("RGB").crop(region.as_tuple())))
    present = (matte > 0).astype(np.uint8)
    opaque = (matte >= 250).astype(np.float32)
    kernel = lambda r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))  # noqa: E731
    ring = (cv2.dilate(present, kernel(RING_OUTSIDE_PX)) > 0) & (opaque == 0)
    plate = (cv2.dilate(present, kernel(PLATE_GAP_PX)) == 0).astype(np.float32)
    inside_colour, inside_weight = _local_mean(lab, opaque)
    plate_colour, plate_weight = _local_mean(lab, plate, sigma=PLATE_GAP_PX + 1.0)
    ring &= (inside_weight > 0.01) & (plate_weight > 0.01)
    distance = np.zeros(matte.shape, np.float32)
    if not ring.any():
        return None, distance
    c, i, o = lab[ring], inside_colour[ring], plate_colour[ring]
    span = i - o
    t = np.clip(((c - o) * span).sum(axis=1) / np.maximum((span * span).sum(axis=1), 1e-6), 0, 1)
    distance[ring] = np.linalg.norm(c - (o + t[:, None] * span), axis=1)
    full = np.zeros((box.height, box.width), np.float32)
    full[inner.top - box.top:inner.bottom - box.top, inner.left - box.left:inner.right - box.left] = \
        distance[inner.top - region.top:inner.bottom - region.top, inner.left - region.left:inner.right - region.left]
    return float(distance[ring].mean()), full


def _placed_product(subject: CheckSubject, rule: str):
    from adgen.compliance.artwork_rules import placed_artwork

    if subject.format.marketplace:
        return Finding(rule, "skip", "error", "marketplace main images are the product alone on white")
    layer = subject.composition.layer("product") if subject.placed else None
    if layer is None or layer.source is None or layer.box.area == 0:
        return Finding(rule, "skip", "error", "no placed product image to measure")
    _, alpha = placed_artwork(layer)
    if alpha.max() < HALF_OPAQUE:
        return Finding(rule, "skip", "error", "the product has no opaque pixels", element="product", box=layer.box)
    return layer, alpha


def _local_mean(lab: np.ndarray, weight: np.ndarray, sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convolution: the weighted pixels' local mean colour, and the local weight."""
    import cv2

    total = cv2.GaussianBlur(weight, (0, 0), sigma)
    mean = cv2.GaussianBlur(lab * weight[..., None], (0, 0), sigma) / np.maximum(total, 1e-6)[..., None]
    return mean, total


def _lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(rgb.astype(np.float32) / 255).astype(np.float32)


def _outline(mask: np.ndarray, box: Box) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Polygons (canvas px) around the halo's pixels, for the report to draw."""
    import cv2

    grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(grown, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:8]:
        step = max(1, len(contour) // OUTLINE_POINTS)
        points = tuple((int(p[0][0]) + box.left, int(p[0][1]) + box.top) for p in contour[::step])
        if len(points) >= 3:
            polygons.append(points)
    return tuple(polygons)
