"""Cut-out stage: a product photo without alpha, on a plain or studio background -> a soft matte.

cut_out(photo) -> Cutout. The background is modelled as one smooth colour field (a quadratic
surface per channel, fitted robustly to the frame's border: white, light grey, a soft sweep or
vignette), the product is what that field does not explain, and the product's own floor shadow
(the background darkened without changing its hue, softly) is split off into a layer of its own
and never kept in the matte. Openings inside the outline (a handle, the gap between bottles)
stay background when they show the floor; pale lettering or a highlight does not open a hole.
OpenCV's GrabCut then moves the outline to the strongest edge within a few px. Edges get a soft alpha by un-mixing each edge pixel between the
local background and the local product colour (the compositing equation I = aF + (1-a)B with B
known), and their colour is decontaminated the same way, so no background fringe survives on a
dark backdrop. Opaque pixels are the photo's own pixels, untouched.

The same segmentation serves `adgen check` on images adgen did not lay out (the subject of a
marketplace main image). Everything is numpy + OpenCV: no model weights, nothing downloaded;
docs/cutout.md has the figures and the alternatives measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

CUTOUT_VERSION = 1           # recorded in the recipe: a new algorithm is a new cut-out
WORK_PX = 512                # segmentation runs with the long side at most this, px
BORDER_FRACTION = 0.03       # the frame's border ring that samples the background, of the short side
# threshold: the background field alone decides; grabcut (auto): then GrabCut moves the outline
# to the strongest edge within a few px (docs/cutout.md has both measured).
METHODS = ("auto", "threshold", "grabcut")
SHADOW_MAX_SLOPE = 0.06      # a floor shadow's darkening changes less than this per working px
SHADOW_BASE_BAND = 0.25     # a shadow may rise this far above the product's base, of its height
GRABCUT_BAND_PX = 3         # grabcut may move the outline this far, working px
HOLE_MIN_WIDTH = 0.04        # a real opening is at least this wide, of the product's short side


@dataclass(frozen=True)
class Cutout:
    """A cut-out at the photo's size."""

    rgba: Image.Image               # RGBA: the photo's own pixels where opaque, un-mixed colour on soft edges
    alpha: Image.Image              # L, the matte (0-255)
    shadow: Image.Image | None      # L, the product's own floor shadow as black opacity (0-255), or None
    confidence: float               # 0-1: how well the photo fits "a product on a plain background"
    method: str
    reason: str                     # the weakest of the confidence's factors, in words
    background: tuple[int, int, int]  # the background's median colour (RGB) on the frame's border

    @property
    def mask(self) -> np.ndarray:
        """The subject as booleans (alpha >= 50 %), photo size."""
        return np.asarray(self.alpha) >= 128


def cut_out(photo: Image.Image, *, method: str = "auto") -> Cutout:
    """Cut the product out of a photo on a plain background; the confidence says whether to trust it."""
    if method not in METHODS:
        raise ValueError(f"unknown cut-out method {method!r} (known: {', '.join(METHODS)})")
    import cv2

    rgb = np.asarray(photo.convert("RGB"), dtype=np.float32)
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_PX / max(height, width))
    work = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    # 1. the background as a smooth colour field, and how well the border fits it
    field, noise, border_fit = _background_field(work)
    # 2. the product: what the field does not explain, less the product's own shadow
    distance = np.linalg.norm(work - field, axis=2)
    shadow = _shadow(work, field, distance, noise)
    method = "grabcut" if method == "auto" else method
    mask = _segment(work, field, distance, shadow, noise, method)
    # 3. the matte at full size: un-mix the edge band between local background and product colour
    alpha, colour = _matte(rgb, mask, shadow, scale, noise)
    shadow_layer = _shadow_layer(rgb, field, shadow, alpha, scale)
    confidence, reason = _confidence(mask, distance, noise, border_fit, work.shape[:2])
    rgba = np.dstack([colour, alpha]).astype(np.uint8)
    background = tuple(int(round(v)) for v in np.median(_border(work), axis=0))
    return Cutout(rgba=Image.fromarray(rgba, "RGBA"), alpha=Image.fromarray(alpha, "L"), shadow=shadow_layer,
                  confidence=confidence, method=method, reason=reason,
                  background=background)


# --- 1. background -----------------------------------------------------------------------------

def _ring(shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    band = max(2, round(min(height, width) * BORDER_FRACTION))
    ring = np.zeros(shape, bool)
    ring[:band], ring[-band:], ring[:, :band], ring[:, -band:] = True, True, True, True
    return ring


def _border(image: np.ndarray) -> np.ndarray:
    return image[_ring(image.shape[:2])]


def _terms(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Quadratic terms of coordinates scaled to -1..1: (n, 6)."""
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)


def _background_field(image: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(field RGB at every pixel, noise sigma in RGB levels, fraction of the border the field explains).

    Fitted to the border ring, dropping outliers (a product touching the frame, a logo in a
    corner) twice; the noise is the residual's robust spread, floored at 1 level (8-bit).
    """
    height, width = image.shape[:2]
    xs = np.linspace(-1, 1, width, dtype=np.float32)
    ys = np.linspace(-1, 1, height, dtype=np.float32)
    ring = _ring((height, width))
    rows, cols = np.nonzero(ring)
    terms = _terms(xs[cols], ys[rows])
    pixels = image[rows, cols]
    keep = np.ones(len(pixels), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(terms[keep], pixels[keep], rcond=None)
        residual = np.linalg.norm(pixels - terms @ coef, axis=1)
        spread = 1.4826 * np.median(np.abs(residual - np.median(residual))) + np.median(residual)
        keep = residual <= max(3.0, 3 * spread)
    # The residual's length over 3 channels of Gaussian noise has its median at 1.54 sigma.
    noise = max(1.0, float(np.median(residual)) / 1.54)
    border_fit = float((residual <= max(8.0, 5 * noise)).mean())
    x, y = xs[None, :, None], ys[:, None, None]
    field = (coef[0] + coef[1] * x + coef[2] * y + coef[3] * x * x + coef[4] * x * y + coef[5] * y * y)
    return field.astype(np.float32), noise, border_fit


# --- 2. product and shadow ---------------------------------------------------------------------

def _levels(noise: float) -> tuple[float, float]:
    """(background below, product surely above) in RGB distance from the field, for a noise sigma."""
    return max(6.0, 4.5 * noise), max(24.0, 9 * noise)


def _shadow(image: np.ndarray, field: np.ndarray, distance: np.ndarray, noise: float) -> np.ndarray:
    """Pixels that are the background darkened without a change of hue, softly: a floor shadow.

    A shadow multiplies the floor's colour by one factor (< 1) in every channel and changes
    slowly (its slope stays well under SHADOW_MAX_SLOPE per px at the working size, where a
    product's edge jumps); a grey part of the product may pass the colour test, but it meets
    the background across an edge, so only regions that touch the background directly count.
    """
    import cv2

    luma_i, luma_b = image.mean(axis=2), np.maximum(field.mean(axis=2), 1.0)
    ratio = (luma_i / luma_b).astype(np.float32)
    off_line = np.linalg.norm(image - ratio[..., None] * field, axis=2)   # colour not explained by darkening
    low, _ = _levels(noise)
    candidate = (distance > low) & (ratio < 1) & (ratio > 0.25) & (off_line <= max(6.0, 3 * noise) + 0.04 * (luma_b - luma_i))
    if not candidate.any():
        return candidate
    smooth = cv2.GaussianBlur(ratio, (0, 0), 1.0)
    slope = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)) / 8
    candidate &= slope < SHADOW_MAX_SLOPE
    background = distance <= low
    touching = cv2.dilate(background.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    frame = np.zeros_like(candidate)
    frame[0], frame[-1], frame[:, 0], frame[:, -1] = True, True, True, True
    # Thin strips (a can's shaded rim, the side of a bottle) may join a shadow to grey parts of
    # the product: cut them (an opening) before judging each region, then grow back into them.
    whole = candidate
    candidate = cv2.morphologyEx(candidate.astype(np.uint8), cv2.MORPH_OPEN, np.ones((7, 7), np.uint8)) > 0
    count, labels = cv2.connectedComponents(candidate.astype(np.uint8), connectivity=8)
    shadow = np.zeros_like(candidate)
    for index in range(1, count):
        region = labels == index
        edge = region & ~(cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~frame
        faded = edge & touching
        # A shadow fades into the floor: where it meets the background it is barely darker.
        if faded.sum() >= 0.3 * max(1, edge.sum()) and np.median(distance[faded]) <= 2 * low:
            shadow |= region
    grown = cv2.dilate(shadow.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    shadow |= grown & whole
    # A floor shadow lies on the floor: from the product's base down (and beside its base).
    # The base is where the product's clearly non-shadow pixels end; a product that is all
    # neutral grey has none, and then no shadow is split off (it stays in the matte, visibly).
    solid = (distance > low) & ~whole
    rows = np.nonzero(solid.any(axis=1))[0]
    if rows.size == 0:
        return np.zeros_like(shadow)
    base = rows.max() - SHADOW_BASE_BAND * (rows.max() - rows.min())
    shadow[: int(base)] = False
    return shadow


def _segment(image, field, distance, shadow, noise, method) -> np.ndarray:
    """The product as a boolean mask at the working size."""
    import cv2

    low, _ = _levels(noise)
    product = (distance > low) & ~shadow
    product = cv2.morphologyEx(product.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    product = _drop_specks(product, min_area=max(16, product.size // 4000))
    product = _fill_false_holes(product, distance, shadow, noise)
    if method == "grabcut" and product.any() and (~product).any():
        product = _grabcut_edge(image, product, shadow)
    return product


def _grabcut_edge(image: np.ndarray, product: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """Move the outline to the strongest edge within GRABCUT_BAND_PX of it (OpenCV GrabCut).

    Only the band is undecided: GrabCut's colour models cannot flip a pale part of the
    product, or a hole, that the background field has already decided.
    """
    import cv2

    kernel = np.ones((2 * GRABCUT_BAND_PX + 1, 2 * GRABCUT_BAND_PX + 1), np.uint8)
    sure_fg = cv2.erode(product.astype(np.uint8), kernel) > 0
    sure_bg = ~(cv2.dilate(product.astype(np.uint8), kernel) > 0) | shadow
    rows, cols = np.nonzero(~sure_bg)
    pad = 4 * GRABCUT_BAND_PX
    top, bottom = max(0, rows.min() - pad), min(product.shape[0], rows.max() + pad + 1)
    left, right = max(0, cols.min() - pad), min(product.shape[1], cols.max() + pad + 1)
    crop = (slice(top, bottom), slice(left, right))
    labels = np.where(product[crop], cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[sure_fg[crop]] = cv2.GC_FGD
    labels[sure_bg[crop]] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    pixels = np.ascontiguousarray(np.clip(image[crop], 0, 255).astype(np.uint8))
    # GrabCut seeds its colour models with k-means on OpenCV's (per-thread) RNG: seed it, so the
    # same photo always gives the same cut-out (the recipe remakes the asset exactly).
    cv2.setRNGSeed(0)
    cv2.grabCut(pixels, labels, None, bgd, fgd, 2, cv2.GC_INIT_WITH_MASK)
    out = product.copy()
    out[crop] = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    return out


def _drop_specks(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Remove islands smaller than min_area px, and fill enclosed holes smaller than it."""
    import cv2

    out = mask.copy()
    for value in (True, False):
        count, labels, stats, _ = cv2.connectedComponentsWithStats((out == value).astype(np.uint8), connectivity=8)
        small = np.zeros(count, bool)
        small[1:] = stats[1:, cv2.CC_STAT_AREA] < min_area
        out[small[labels]] = not value
    return out


def _fill_false_holes(product: np.ndarray, distance: np.ndarray, shadow: np.ndarray, noise: float) -> np.ndarray:
    """Keep the product's real openings (a handle, a gap), fill the ones that are product colour.

    Every background region inside the product's convex hull is judged. An enclosed hole is
    background seen through the product when its pixels sit on the background field as closely
    as the frame's border does, it is wide enough to be an opening, and the product pixels
    around it stand out from the background as an outline does: white lettering, a pale label
    or a highlight fails. A bay open to the outside (between a handle and the body, between
    two bottles) stays background unless it is deep and walled by pixels as pale as the floor.
    """
    import cv2

    if not product.any():
        return product
    low, _ = _levels(noise)
    points = cv2.findNonZero(product.astype(np.uint8))
    hull = np.zeros(product.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
    bays = (hull > 0) & ~product
    count, labels = cv2.connectedComponents(bays.astype(np.uint8), connectivity=4)
    rows, cols = np.nonzero(product)
    short_side = min(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    min_radius = max(3.0, HOLE_MIN_WIDTH * short_side / 2)
    width = cv2.distanceTransform((~product).astype(np.uint8), cv2.DIST_L2, 3)
    depth = cv2.distanceTransform(hull, cv2.DIST_L2, 3)   # how far inside the hull
    hull_edge = (hull > 0) & (depth <= 1.5)
    out = product.copy()
    ring = np.ones((5, 5), np.uint8)
    for index in range(1, count):
        region = labels == index
        floor = region & ~shadow
        on_field = float(np.median(distance[floor])) if floor.any() else 0.0
        rim = (cv2.dilate(region.astype(np.uint8), ring) > 0) & product
        contrast = float(np.median(distance[rim])) if rim.any() else 0.0
        if (region & hull_edge).any():
            # A bay open to the outside is background unless it cuts deep into a pale product
            # (a highlight running off the edge); a sliver along the outline is its own curve.
            fill = contrast < 2 * low and depth[region].max() >= max(3.0, min_radius)
        else:
            fill = not (on_field <= 1.5 * 1.54 * noise + 2 and width[region].max() >= min_radius
                        and contrast >= 2 * low)
        if fill:
            out |= region
    return out


# --- 3. matte ----------------------------------------------------------------------------------

def _matte(rgb: np.ndarray, mask: np.ndarray, shadow: np.ndarray, scale: float, noise: float):
    """(alpha uint8, RGB uint8) at full size: hard inside and outside, un-mixed in the edge band.

    Only the band's pixels are computed (on its bounding box), so a 2000 px packshot costs
    about what its outline's length does, not its area.
    """
    import cv2

    height, width = rgb.shape[:2]
    soft = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    hard = (soft >= 0.5).astype(np.uint8)
    reach = max(2, int(np.ceil(1.5 / scale)))          # the band covers the working size's edge blur
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    inside = cv2.erode(hard, kernel) > 0
    outside = ~(cv2.dilate(hard, kernel) > 0)
    band = ~inside & ~outside
    alpha = inside.astype(np.float32)
    colour = rgb.copy()
    if band.any():
        rows, cols = np.nonzero(band)
        window = 4 * reach + 1
        margin = 4 * window
        box = (slice(max(0, rows.min() - margin), rows.max() + margin + 1),
               slice(max(0, cols.min() - margin), cols.max() + margin + 1))
        where = band[box]
        pixels = rgb[box][where]
        # Local colours on each side of the edge, spread into the band (normalised box filter).
        back = _spread(rgb[box], outside[box], window)[where]
        front = _spread(rgb[box], inside[box], window)[where]
        diff = front - back
        norm2 = (diff * diff).sum(axis=1)
        unmixed = ((pixels - back) * diff).sum(axis=1) / np.maximum(norm2, 1e-3)
        # Where product and background colours are too close to tell apart, keep the mask's own edge.
        separable = norm2 > (max(12.0, 4 * noise)) ** 2
        estimate = np.where(separable, np.clip(unmixed, 0, 1), np.clip(soft[box][where], 0, 1)).astype(np.float32)
        # Decontaminate: the product colour that, mixed at alpha with the local background, gives the photo.
        a = np.maximum(estimate, 1e-3)[:, None]
        clean = np.clip((pixels - (1 - a) * back) / a, 0, 255)
        clean = np.where((estimate < 0.15)[:, None], front, clean)
        alpha_box, colour_box = alpha[box], colour[box]
        alpha_box[where], colour_box[where] = estimate, clean
    alpha8 = np.round(alpha * 255).astype(np.uint8)
    colour[alpha8 == 255] = rgb[alpha8 == 255]   # opaque: the photo's own pixels
    return alpha8, np.round(colour).astype(np.uint8)


def _spread(rgb: np.ndarray, known: np.ndarray, window: int) -> np.ndarray:
    """The mean colour of the known pixels in a window around every pixel (wider where none is near)."""
    import cv2

    weight = known.astype(np.float32)
    for size in (window, 4 * window, 16 * window):
        total = cv2.boxFilter(rgb * weight[..., None], -1, (size, size), normalize=False)
        count = cv2.boxFilter(weight, -1, (size, size), normalize=False)[..., None]
        near = total / np.maximum(count, 1e-6) if size == window else np.where(
            have, near, total / np.maximum(count, 1e-6))
        have = count > 0.5
        if have.all():
            break
    return near


def _shadow_layer(rgb, field, shadow, alpha, scale) -> Image.Image | None:
    """The floor shadow as black opacity off the product: 1 - luma / background luma."""
    import cv2

    if shadow.sum() < 0.002 * shadow.size:
        return None
    height, width = rgb.shape[:2]
    region = cv2.resize(shadow.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    region = cv2.dilate(region.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    luma_b = cv2.resize(field.mean(axis=2), (width, height), interpolation=cv2.INTER_LINEAR)
    opacity = np.clip(1 - rgb.mean(axis=2) / np.maximum(luma_b, 1.0), 0, 1) * region * (1 - alpha / 255.0)
    return Image.fromarray(np.round(opacity * 255).astype(np.uint8), "L")


# --- confidence --------------------------------------------------------------------------------

def _confidence(mask, distance, noise, border_fit, shape) -> tuple[float, str]:
    """min over factors, each 0-1, with the weakest one's reason."""
    import cv2

    area = float(mask.mean())
    ring = _ring(shape)
    touch = float(mask[ring].mean())
    # The product's colour just inside its outline, against the background field.
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    edge = inner & ~(cv2.erode(inner.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    contrast = float(np.median(distance[edge])) if edge.any() else 0.0
    low, _ = _levels(noise)
    factors = [
        (_ramp(border_fit, 0.80, 0.95), f"background is not plain: {border_fit:.0%} of the frame's border fits "
                                        "one smooth colour"),
        (_ramp(-touch, -0.10, -0.02), f"the product touches the frame on {touch:.0%} of its border"),
        (_ramp(area, 0.01, 0.04) * _ramp(-area, -0.95, -0.85), f"the product covers {area:.0%} of the photo"),
        (_ramp(contrast, low, 2 * low + 12), f"the product's edge barely differs from the background "
                                        f"(median {contrast:.0f} RGB levels)"),
    ]
    value, reason = min(factors, key=lambda f: f[0])
    if value >= 1.0:
        reason = (f"plain background ({border_fit:.0%} of the border fits), edge contrast {contrast:.0f} levels, "
                  f"product {area:.0%} of the photo")
    return round(float(value), 3), reason


def _ramp(value: float, zero: float, one: float) -> float:
    return float(np.clip((value - zero) / (one - zero), 0.0, 1.0))
