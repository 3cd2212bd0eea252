"""Grounding: the placed product stands on the plate instead of floating over it.

`ground(canvas, art, origin)` composites a cut-out with what a photographer would get for free:
a contact shadow under its base (tight where it touches, soft around it), a cast shadow whose
direction, length and softness follow the plate's light (estimated from the plate: where its
brightest region lies and how much brighter it is than the rest), a reflection where the
surface under the base is glossy (the plate mirrors itself about the base's row), and a clean
matte edge: colour fringes from the photo's old background replaced by the product's own edge
colour, and a few pixels of light wrap from the plate. All of that is done on the plate and in
the matte's partial pixels only: every pixel under the product's opaque alpha (255) keeps its
own value, so product.fidelity is untouched. Hand-written with numpy and OpenCV blurs: the
compositing libraries (Pillow, OpenCV, pymatting) offer the blurs and mattes, not the scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from adgen.geometry import Box, Size

CONTACT_DEPTH = 0.62       # darkening (0-1, multiplies the plate) right under the base, tight shadow
AMBIENT_DEPTH = 0.30       # the wider, softer occlusion around the footprint
CAST_DEPTH = 0.30          # the cast shadow at its root, for the hardest light
REFLECTION_OPACITY = 0.35  # at the base, for the glossiest surface
WRAP_STRENGTH = 0.35       # share of the plate's light in the most transparent edge pixels
FRINGE_RGB = 60.0          # an edge pixel this far (RGB distance) from its opaque neighbours' colour is a fringe
GLOSS_MIN = 0.15           # below this the surface is matte: no reflection
SHADOW_REACH = 0.6         # the shadow's region beyond the product's sides and under its base, of its height
CENTRE_PRIOR = 0.02        # weight of the base row in each column's contact row (smooth fall-back away from the footprint)
FEATHER = 0.15             # the shade fades to 0 over this much (of the product's height) at the region's edges


@dataclass(frozen=True)
class Light:
    """The plate's light as seen from the product."""

    direction: float   # -1 (from the left) .. 1 (from the right); the cast shadow falls the other way
    hardness: float    # 0 (even, diffuse plate: short, soft shadow) .. 1 (one strong light: longer, crisper)


@dataclass(frozen=True)
class Grounded:
    image: Image.Image   # RGB canvas with the product placed on its shadow (and reflection)
    light: Light
    gloss: float         # 0-1, how much the surface under the base mirrors the plate
    base_y: int | None   # canvas row of the product's base (lowest half-opaque row), px


def ground(canvas: Image.Image, art: Image.Image, origin: tuple[int, int]) -> Grounded:
    """Place RGBA art at origin on canvas, grounded; pixels under its opaque alpha are the art's own."""
    plate = np.asarray(canvas.convert("RGB"), dtype=np.float32)
    rgba = np.asarray(art.convert("RGBA"))
    alpha = rgba[..., 3].astype(np.float32) / 255
    size = Size(canvas.width, canvas.height)
    box = Box(origin[0], origin[1], origin[0] + art.width, origin[1] + art.height)
    light = estimate_light(plate, box)
    rows = np.nonzero((alpha >= 0.5).any(axis=1))[0]
    if rows.size == 0 or box.clamp_to(size).area == 0:
        out = canvas.convert("RGBA")
        out.alpha_composite(art.convert("RGBA"), origin)
        return Grounded(out.convert("RGB"), light, 0.0, None)
    base = int(rows.max())
    base_y = origin[1] + base
    gloss = estimate_gloss(plate, box, base_y)
    # Wide enough for the longest, most sheared cast shadow and its blur; the shade still fades to
    # nothing at the region's inner edges, so it never ends on a line (a seam beside the shadow).
    reach = art.width // 2 + round(SHADOW_REACH * art.height)
    unclamped = Box(box.left - reach, box.top, box.right + reach, base_y + 1 + round(SHADOW_REACH * art.height))
    region = unclamped.clamp_to(size)
    out = plate.copy()
    if region.area:
        patch = out[region.top:region.bottom, region.left:region.right]
        shade = _shade(alpha, base, (origin[0] - region.left, origin[1] - region.top), patch.shape[:2], light)
        shade *= _feather(patch.shape[:2], region, unclamped, round(FEATHER * art.height))
        patch *= (1 - shade)[..., None]
        if gloss >= GLOSS_MIN:
            _reflect(patch, rgba, base, (origin[0] - region.left, origin[1] - region.top), gloss)
    edge_rgb = _clean_edge(rgba, out, box, size)
    return Grounded(_composite(out, edge_rgb, rgba[..., 3], box, size), light, round(gloss, 3), base_y)


def estimate_light(plate: np.ndarray, box: Box) -> Light:
    """The plate's light at the product: how its brightness falls off across the product's rows, and how uneven it is.

    direction: the brightness slope across the product's rows, as the difference over two product
    widths (30 levels of luma and more: fully from that side); an evenly lit plate gives 0, the
    shadow then falls straight back. hardness: how much brighter the brightest tenth is than the median.
    """
    import cv2

    height, width = plate.shape[:2]
    scale = 96 / max(height, width)
    small = cv2.resize(plate, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    luma = cv2.GaussianBlur(small @ np.float32([0.299, 0.587, 0.114]), (0, 0), 3)
    p50, p95 = np.percentile(luma, (50, 95))
    top = int(np.clip(box.top * scale, 0, luma.shape[0] - 1))
    bottom = int(np.clip(np.ceil(box.bottom * scale), top + 1, luma.shape[0]))
    columns = luma[top:bottom].mean(axis=0)
    slope = np.polyfit(np.arange(columns.size, dtype=np.float64), columns, 1)[0] if columns.size > 1 else 0.0
    across = slope * 2 * max(1.0, box.width * scale)   # luma change over two product widths
    direction = float(np.clip(across / 30, -1, 1))
    hardness = float(np.clip((p95 - p50) / 60, 0, 1))
    return Light(round(direction, 3), round(hardness, 3))


def estimate_gloss(plate: np.ndarray, box: Box, base_y: int) -> float:
    """0-1: how well the plate's detail just under the base mirrors the detail just above it, beside the product."""
    import cv2

    band = max(4, round(0.12 * box.height))
    if base_y - band < 0 or base_y + 1 + band > plate.shape[0]:
        return 0.0
    luma = plate @ np.float32([0.299, 0.587, 0.114])
    # Horizontal detail only: a reflection is darker than what it mirrors, and a vertical
    # high-pass would turn that step at the base into a false anti-correlation.
    detail = luma - cv2.GaussianBlur(luma, (0, 0), sigmaX=3, sigmaY=0.1)
    reach = max(4, box.width // 2)
    width = plate.shape[1]
    columns = np.r_[max(0, box.left - reach):max(0, box.left), min(width, box.right):min(width, box.right + reach)]
    if columns.size < 8:
        return 0.0
    above = detail[base_y - band:base_y, columns][::-1]
    below = detail[base_y + 1:base_y + 1 + band, columns]
    if above.std() < 1.5 or below.std() < 1.5:  # a flat surface mirrors nothing we can see
        return 0.0
    ncc = float(((above - above.mean()) * (below - below.mean())).mean() / (above.std() * below.std()))
    return float(np.clip((ncc - 0.25) / 0.5, 0, 1))


def _shade(alpha: np.ndarray, base: int, at: tuple[int, int], shape: tuple[int, int], light: Light) -> np.ndarray:
    """Darkening (0-1) over the region: contact and ambient occlusion under the footprint, and the cast shadow."""
    import cv2

    art_h = alpha.shape[0]
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    base_r = at[1] + base
    # The footprint: the columns that touch the ground, each at its own lowest row, so the shadow
    # hugs a rounded bottom (a can's ellipse seen from above) instead of a straight line under it.
    body = alpha >= 0.5
    lowest = np.where(body.any(axis=0), art_h - 1 - np.argmax(body[::-1], axis=0), base)
    touch = body.any(axis=0) * np.clip(1 - (base - lowest) / max(1.0, 0.08 * art_h), 0, 1)
    weight = np.zeros(shape[1], np.float32)
    contact_y = np.full(shape[1], float(base_r), np.float32)
    lo, hi = max(0, at[0]), min(shape[1], at[0] + alpha.shape[1])
    weight[lo:hi] = touch[lo - at[0]:hi - at[0]]
    contact_y[lo:hi] = at[1] + lowest[lo - at[0]:hi - at[0]]
    softness = 1 - light.hardness
    shift = -light.direction * 0.015 * art_h   # occlusion leans away from the light a little
    contact_h = max(1.5, 0.012 * art_h * (1 + softness))
    ambient_h = max(3.0, 0.05 * art_h * (1 + softness))
    spread = _blur_1d(weight, contact_h, 0.0)
    # The contact row per column, blended smoothly into the base row where no column touches (a
    # switch at a cut-off made the ambient occlusion jump a few codes there: a vertical seam).
    centre = (_blur_1d(weight * contact_y, contact_h, 0.0) + CENTRE_PRIOR * base_r) / (spread + CENTRE_PRIOR)
    contact_row = _blur_1d(weight, contact_h, shift)
    ambient_row = _blur_1d(weight, ambient_h, shift * 2)
    depth = rows - base_r
    below = np.where(depth >= 0, 1.0, 0.0).astype(np.float32)
    # Above the contact the product hides its own shadow, except beside a rounded bottom: fade fast there.
    near = rows - centre[None, :]
    contact = contact_row[None, :] * np.exp(-np.square(near / contact_h) * np.where(near >= 0, 1, 4))
    ambient = ambient_row[None, :] * np.exp(-np.square(near / ambient_h) * np.where(near >= 0, 1, 9))
    # The cast shadow: the silhouette flipped about the base, foreshortened onto the floor and
    # sheared away from the light; longer and crisper the harder the light.
    length = 0.12 + 0.22 * light.hardness
    shear = -light.direction * (0.4 + 1.2 * light.hardness)
    matrix = (1.0, -shear, -at[0] + shear * base_r, 0.0, -1 / length, base + base_r / length)
    cast = np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).transform(
        (shape[1], shape[0]), Image.Transform.AFFINE, matrix, resample=Image.Resampling.BILINEAR, fillcolor=0),
        dtype=np.float32) / 255
    fade = np.clip(1 - depth / max(1.0, length * art_h), 0, 1) * below
    blur = max(1.0, art_h * (0.008 + 0.03 * softness))
    cast = cv2.GaussianBlur(cast * fade, (0, 0), blur)
    cast_depth = CAST_DEPTH * (0.35 + 0.65 * light.hardness)
    darkness = 1 - (1 - CONTACT_DEPTH * contact) * (1 - AMBIENT_DEPTH * ambient) * (1 - cast_depth * cast)
    return np.clip(darkness, 0, 0.85).astype(np.float32)


def _feather(shape: tuple[int, int], region: Box, unclamped: Box, ramp: int) -> np.ndarray:
    """1 inside, falling smoothly to 0 at the region's left, right and bottom edges (not where the canvas cuts it)."""
    height, width = shape
    ramp = max(1, ramp)
    cols = np.arange(width, dtype=np.float32)
    rows = np.arange(height, dtype=np.float32)
    horizontal = np.ones(width, np.float32)
    if region.left == unclamped.left:
        horizontal *= np.clip((cols + 0.5) / ramp, 0, 1)
    if region.right == unclamped.right:
        horizontal *= np.clip((width - cols - 0.5) / ramp, 0, 1)
    vertical = np.clip((height - rows - 0.5) / ramp, 0, 1) if region.bottom == unclamped.bottom \
        else np.ones(height, np.float32)
    smooth = lambda t: t * t * (3 - 2 * t)  # noqa: E731 - smoothstep, C1 at both ends
    return smooth(vertical)[:, None] * smooth(horizontal)[None, :]


def _blur_1d(values: np.ndarray, sigma: float, shift: float) -> np.ndarray:
    import cv2

    moved = np.interp(np.arange(values.size) - shift, np.arange(values.size), values, left=0, right=0)
    return cv2.GaussianBlur(moved.astype(np.float32)[None, :], (0, 0), sigmaX=sigma, sigmaY=0.1)[0]


def _reflect(patch: np.ndarray, rgba: np.ndarray, base: int, at: tuple[int, int], gloss: float) -> None:
    """The art mirrored about its base into the patch, fading with distance: a glossy surface's reflection."""
    art_h, art_w = rgba.shape[:2]
    length = max(2, round(0.3 * art_h))
    mirrored = rgba[max(0, base - length + 1):base + 1][::-1].astype(np.float32)
    top = at[1] + base + 1
    for index, row in enumerate(mirrored):
        y = top + index
        if not 0 <= y < patch.shape[0]:
            continue
        lo, hi = max(0, at[0]), min(patch.shape[1], at[0] + art_w)
        if hi <= lo:
            return
        src = row[lo - at[0]:hi - at[0]]
        opacity = REFLECTION_OPACITY * gloss * (1 - index / length) * src[:, 3:4] / 255
        patch[y, lo:hi] = patch[y, lo:hi] * (1 - opacity) + src[:, :3] * opacity


def _clean_edge(rgba: np.ndarray, plate: np.ndarray, box: Box, size: Size) -> np.ndarray:
    """The art's RGB with its partial-alpha pixels defringed (the nearest opaque colour) and light-wrapped."""
    import cv2

    rgb = rgba[..., :3].astype(np.float32)
    alpha = rgba[..., 3]
    partial = (alpha > 0) & (alpha < 255)
    if not partial.any():
        return rgb
    opaque = (alpha == 255).astype(np.float32)
    # Normalised convolution: the opaque neighbours' mean colour, for the pixels the old background tinted.
    sigma = 2.0
    weight = cv2.GaussianBlur(opaque, (0, 0), sigma)
    mean = cv2.GaussianBlur(rgb * opaque[..., None], (0, 0), sigma) / np.maximum(weight, 1e-6)[..., None]
    transparency = (1 - alpha.astype(np.float32) / 255)[..., None]
    near = (weight > 0.02)[..., None]
    # A partial pixel far from its opaque neighbours' colour kept the old background (a fringe):
    # it takes their colour. A clean matte's edge is left as its owner made it.
    # Only the matte's body counts (alpha 16-240): nearly opaque and nearly clear pixels are the
    # resampling's ringing around the product's own detail, not a background left behind.
    body = ((alpha >= 16) & (alpha <= 240))[..., None]
    fringe = near & body & (np.linalg.norm(rgb - mean, axis=-1, keepdims=True) > FRINGE_RGB)
    clean = np.where(fringe, mean, rgb)
    # Light wrap: the plate's light, blurred, leaks into the most transparent edge pixels.
    visible = box.clamp_to(size)
    wrap = np.empty_like(rgb)
    wrap[:] = plate[visible.top:visible.bottom, visible.left:visible.right].reshape(-1, 3).mean(axis=0) \
        if visible.area else 0
    if visible.area:
        glow = cv2.GaussianBlur(plate, (0, 0), max(2.0, 0.02 * box.height))
        y0, x0 = visible.top - box.top, visible.left - box.left
        wrap[y0:y0 + visible.height, x0:x0 + visible.width] = glow[visible.top:visible.bottom, visible.left:visible.right]
    wrapped = clean + (wrap - clean) * WRAP_STRENGTH * transparency
    return np.where(partial[..., None], wrapped, rgb)


def _composite(plate: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, box: Box, size: Size) -> Image.Image:
    """Alpha-composite rgb over the plate at box; opaque art pixels are copied exactly."""
    out = plate.copy()
    visible = box.clamp_to(size)
    if visible.area:
        y0, x0 = visible.top - box.top, visible.left - box.left
        src = rgb[y0:y0 + visible.height, x0:x0 + visible.width]
        a = alpha[y0:y0 + visible.height, x0:x0 + visible.width].astype(np.float32)[..., None] / 255
        under = out[visible.top:visible.bottom, visible.left:visible.right]
        out[visible.top:visible.bottom, visible.left:visible.right] = src * a + under * (1 - a)
    result = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if visible.area:  # the art's own pixels, bit for bit, wherever it is opaque
        opaque = alpha[y0:y0 + visible.height, x0:x0 + visible.width] == 255
        target = result[visible.top:visible.bottom, visible.left:visible.right]
        target[opaque] = rgb[y0:y0 + visible.height, x0:x0 + visible.width][opaque].astype(np.uint8)
    return Image.fromarray(result, "RGB")
