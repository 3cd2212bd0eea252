"""Procedural product-ad backdrops with captions: the training data of adgen-tiny and of
the brand style sets.

`render_backdrop(params, size)` draws one text-free backdrop (studio sweep, gradient,
table-top horizon, sky, or a full-frame material) with optional podium/pedestal, soft
shadow, spotlight, vignette and bokeh. `sample_backdrop(seed)` draws seeded parameters and
`caption(params)` describes them in words, so an image and its caption always agree.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from adgen.geometry import Size

# Caption colour words. Deliberately plain: synonyms such as crimson, azure, navy, scarlet
# and teal never appear, so steering by them is MiniLM's doing, which the tests measure.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40),
    "orange": (235, 130, 40),
    "yellow": (240, 205, 60),
    "green": (60, 150, 70),
    "blue": (45, 85, 190),
    "purple": (120, 60, 160),
    "pink": (235, 150, 180),
    "white": (240, 240, 236),
    "gray": (135, 135, 135),
    "black": (28, 28, 30),
    "beige": (220, 200, 165),
    "brown": (120, 80, 50),
}
KINDS = ("studio sweep", "gradient", "table-top", "sky", "material")
LIGHTING = ("bright", "soft", "dark moody", "spotlight")
MATERIALS = ("none", "marble", "linen", "wood", "concrete")
OBJECTS = ("none", "round podium", "square pedestal", "stacked podiums")
# How bright each lighting word renders the scene (multiplier) and how dark its corners go.
_LIGHT_GAIN = {"bright": 1.18, "soft": 1.0, "dark moody": 0.42, "spotlight": 0.8}
_LIGHT_VIGNETTE = {"bright": 0.0, "soft": 0.15, "dark moody": 0.55, "spotlight": 0.7}
_MOODS = {"bright": "fresh", "soft": "calm", "dark moody": "luxurious", "spotlight": "dramatic"}


@dataclass(frozen=True)
class BackdropParams:
    """Everything that decides one backdrop; equal params render equal pixels."""

    kind: str = "studio sweep"
    colour: str = "blue"
    accent: str = "white"
    lighting: str = "soft"
    material: str = "none"
    object: str = "none"
    bokeh: bool = False
    horizon: float = 0.62  # 0-1 of the height, where wall meets floor
    angle_deg: float = 90.0  # gradient direction
    jitter: tuple[float, float, float] = (0.0, 0.0, 0.0)  # hue, saturation, value shifts
    seed: int = 0  # texture and bokeh noise
    # Exact colours (8-bit sRGB) that override the named ones, for brand palettes; the
    # caption still uses the names, so brand style sets write their own captions.
    colour_rgb: tuple[int, int, int] | None = None
    accent_rgb: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        for field, value, allowed in (("kind", self.kind, KINDS), ("colour", self.colour, COLOURS),
                                      ("accent", self.accent, COLOURS),
                                      ("lighting", self.lighting, LIGHTING),
                                      ("material", self.material, MATERIALS),
                                      ("object", self.object, OBJECTS)):
            if value not in allowed:
                raise ValueError(f"BackdropParams.{field}: {value!r} is not one of {sorted(allowed)}")


def render_backdrop(params: BackdropParams, size: Size | int = 128) -> Image.Image:
    """Draw the backdrop `params` describes as an RGB image of `size` px (no text, ever)."""
    size = Size(size, size) if isinstance(size, int) else size
    w, h = size.width, size.height
    rng = np.random.default_rng(params.seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = (xs + 0.5) / w, (ys + 0.5) / h  # 0-1 coordinates so every size draws the same scene
    base = _jittered(params.colour_rgb or COLOURS[params.colour], params.jitter)
    accent = np.array(params.accent_rgb or COLOURS[params.accent], np.float32) / 255.0

    img = _scene(params, x, y, base, accent, rng, size)
    if params.object != "none":
        img = _objects(img, params, x, y, base, accent, size)
    if params.bokeh:
        img = _bokeh(img, params, x, y, accent, rng)
    img = _light(img, params, x, y)
    pixels = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def caption(params: BackdropParams, short: bool = False) -> str:
    """Describe `params` in words: colour, lighting, scene, material, object, mood.

    `short` gives a terse prompt-like form ("dark moody red backdrop, round podium"), so the
    model also learns from the few words a user types.
    """
    if short:
        return _short_caption(params)
    scene = {"studio sweep": "studio sweep backdrop", "gradient": f"gradient backdrop fading to {params.accent}",
             "table-top": "table-top scene with a horizon", "sky": "sky gradient backdrop",
             "material": "textured backdrop"}[params.kind]
    parts = [f"a {params.lighting} {params.colour} {scene}"]
    if params.material != "none":
        surface = "surface" if params.kind != "material" else "texture"
        parts.append(f"{params.material} {surface}")
    if params.object != "none":
        parts.append(f"{params.object} with a soft shadow")
    if params.bokeh:
        parts.append("bokeh lights")
    if params.lighting in ("spotlight", "dark moody"):
        parts.append("vignette")
    parts.append(f"{_MOODS[params.lighting]} mood")
    return ", ".join(parts)


def _short_caption(params: BackdropParams) -> str:
    words = [params.colour, "backdrop"]
    if params.seed % 2 == 0:
        words.insert(0, params.lighting)
    if params.kind in ("sky", "table-top") and params.seed % 3 != 0:
        words[-1] = "sky" if params.kind == "sky" else "table top"
    text = " ".join(words)
    if params.material != "none" and params.seed % 3 == 1:
        text += f", {params.material}"
    if params.object != "none":
        text += f", {params.object}"
    return text


def sample_backdrop(seed: int) -> BackdropParams:
    """Seeded random parameters; the same seed always gives the same params."""
    rng = np.random.default_rng(seed)
    kind = str(rng.choice(KINDS, p=[0.3, 0.2, 0.25, 0.1, 0.15]))
    colour = str(rng.choice(list(COLOURS)))
    accent = str(rng.choice([c for c in COLOURS if c != colour]))
    material = "none"
    if kind in ("table-top", "material"):
        material = str(rng.choice(MATERIALS[1:]))
    elif kind == "studio sweep" and rng.random() < 0.3:
        material = str(rng.choice(MATERIALS[1:]))
    objects = OBJECTS if kind != "sky" else ("none", "round podium")
    obj = str(rng.choice(objects)) if rng.random() < 0.6 else "none"
    return BackdropParams(
        kind=kind, colour=colour, accent=accent, lighting=str(rng.choice(LIGHTING)),
        material=material, object=obj, bokeh=bool(rng.random() < 0.2),
        horizon=float(rng.uniform(0.55, 0.75)), angle_deg=float(rng.uniform(0, 360)),
        jitter=(float(rng.normal(0, 0.015)), float(rng.normal(0, 0.06)), float(rng.normal(0, 0.05))),
        seed=int(rng.integers(0, 2**31 - 1)))


def _jittered(rgb: tuple[int, int, int], jitter: tuple[float, float, float]) -> np.ndarray:
    hue, sat, val = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    dh, ds, dv = jitter
    out = colorsys.hsv_to_rgb((hue + dh) % 1.0, float(np.clip(sat + ds * sat, 0, 1)),
                              float(np.clip(val + dv, 0, 1)))
    return np.array(out, np.float32)


def _scene(params, x, y, base, accent, rng, size) -> np.ndarray:
    h0 = params.horizon
    if params.kind == "gradient":
        a = np.deg2rad(params.angle_deg)
        t = (x - 0.5) * np.cos(a) + (y - 0.5) * np.sin(a)
        t = np.clip(t / 0.71 * 0.5 + 0.5, 0, 1)[..., None]
        return base * (1 - t) + (0.55 * accent + 0.45 * base) * t
    if params.kind == "sky":
        # Zenith in the named colour, a pale glow of the accent at the horizon line.
        t = np.clip(y / h0, 0, 1)[..., None] ** 1.6
        sky = base * (1 - t) + (0.5 * accent + 0.5) * t
        clouds = _smooth_noise(rng, size, cells=5)[..., None]
        sky = sky + 0.06 * (clouds - 0.5) * (y < h0)[..., None]
        ground = base * 0.35 + 0.1
        fade = _smoothstep(h0 - 0.01, h0 + 0.01, y)[..., None]
        return sky * (1 - fade) + ground * fade
    if params.kind == "material":
        return _material(params.material, base, rng, size, x, y)
    # Studio sweep (soft curve from wall to floor) and table-top (hard edge).
    soft = 0.12 if params.kind == "studio sweep" else 0.006
    wall = base * (1.05 - 0.18 * y[..., None])
    floor_colour = base * 0.82 + 0.1 if params.kind == "studio sweep" else base * 0.7 + 0.08
    floor = floor_colour * (0.9 + 0.2 * ((y - h0) / (1 - h0 + 1e-6)))[..., None]
    if params.material != "none":
        tex = _material(params.material, base, rng, size, x, (y - h0) * 2.5)
        floor = 0.35 * floor + 0.65 * tex
    t = _smoothstep(h0 - soft, h0 + soft, y)[..., None]
    return wall * (1 - t) + floor * t


def _material(name, base, rng, size, x, y) -> np.ndarray:
    """A tinted texture: marble veins, linen weave, wood grain or concrete."""
    n1 = _smooth_noise(rng, size, cells=4)
    n2 = _smooth_noise(rng, size, cells=12)
    if name == "marble":
        veins = np.abs(np.sin((x * 3 + y * 2 + 2.5 * n1 + 0.8 * n2) * np.pi * 2))
        v = 1 - (1 - veins) ** 6
        tone = 0.82 + 0.18 * v
        return (0.55 + 0.45 * base) * tone[..., None]
    if name == "linen":
        fine = rng.random((size.height, size.width)).astype(np.float32)
        weave = 0.5 * (np.sin(x * size.width * 1.6) + np.sin(y * size.height * 1.6)) * 0.02
        tone = 0.92 + 0.06 * n2 + 0.04 * fine + weave
        return (0.35 + 0.65 * base) * tone[..., None]
    if name == "wood":
        rings = np.sin((y * 9 + 1.5 * n1 + 0.15 * np.sin(x * 20)) * np.pi * 2) * 0.5 + 0.5
        wood = np.array([0.55, 0.36, 0.22], np.float32)
        tone = 0.8 + 0.2 * rings
        return (0.5 * wood + 0.5 * base) * tone[..., None]
    if name == "concrete":
        fine = rng.random((size.height, size.width)).astype(np.float32)
        tone = 0.8 + 0.12 * n1 + 0.08 * n2 + 0.05 * fine
        return (0.45 * np.float32(0.6) + 0.55 * base) * tone[..., None]
    return np.broadcast_to(base, x.shape + (3,)).astype(np.float32)


def _objects(img, params, x, y, base, accent, size) -> np.ndarray:
    """Podiums/pedestals standing on the floor in the lower centre, with a soft shadow."""
    floor_y = min(0.93, params.horizon + 0.2)
    shapes = {"round podium": [(0.5, floor_y, 0.22, 0.16)],
              "square pedestal": [(0.5, floor_y, 0.17, 0.24)],
              "stacked podiums": [(0.42, floor_y, 0.18, 0.12), (0.6, floor_y + 0.02, 0.14, 0.22)]}
    body = np.clip(0.55 * base + 0.45 * accent, 0, 1) * 0.85 + 0.1
    for cx, bottom, half_w, height in shapes[params.object]:
        shadow = np.exp(-(((x - cx - 0.04) / (half_w * 1.5)) ** 2 + ((y - bottom) / 0.04) ** 2))
        img = img * (1 - 0.45 * shadow[..., None])
        top = bottom - height
        ry = half_w * 0.28 if params.object != "square pedestal" else half_w * 0.35
        inside_x = np.abs(x - cx) <= half_w
        side = inside_x & (y >= top) & (y <= bottom)
        if params.object == "square pedestal":
            shade = np.where(x < cx - half_w * 0.25, 0.78, 0.95)
            top_face = (np.abs(x - cx) <= half_w) & (y >= top - ry) & (y < top)
            cap_tone = 1.12
        else:
            u = np.clip((x - cx) / half_w, -1, 1)
            shade = 0.7 + 0.3 * np.cos(u * 1.3 - 0.35)
            lower = ((x - cx) / half_w) ** 2 + ((y - bottom) / ry) ** 2 <= 1
            side = side | (lower & (y > bottom))
            top_face = ((x - cx) / half_w) ** 2 + ((y - top) / ry) ** 2 <= 1
            cap_tone = 1.15
        img = np.where(side[..., None], body * shade[..., None], img)
        img = np.where(top_face[..., None], np.clip(body * cap_tone, 0, 1), img)
    return img


def _bokeh(img, params, x, y, accent, rng) -> np.ndarray:
    """Out-of-focus light discs in the upper part of the frame."""
    light = np.zeros(x.shape, np.float32)
    for _ in range(int(rng.integers(5, 10))):
        cx, cy, r = rng.uniform(0.05, 0.95), rng.uniform(0.05, params.horizon * 0.8), rng.uniform(0.03, 0.08)
        d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / r
        light += 0.35 * _smoothstep(1.0, 0.7, d) * rng.uniform(0.5, 1.0)
    glow = np.clip(0.6 * accent + 0.4, 0, 1)
    return img + light[..., None] * glow * 0.6


def _light(img, params, x, y) -> np.ndarray:
    gain = _LIGHT_GAIN[params.lighting]
    r = np.sqrt((x - 0.5) ** 2 + ((y - 0.45) * 0.9) ** 2)
    vignette = 1 - _LIGHT_VIGNETTE[params.lighting] * _smoothstep(0.25, 0.85, r)
    img = img * gain * vignette[..., None]
    if params.lighting == "spotlight":
        pool = np.exp(-(((x - 0.5) / 0.28) ** 2 + ((y - 0.42) / 0.36) ** 2))
        img = img + 0.45 * pool[..., None] * (img + 0.15)
    if params.lighting == "bright":
        img = img + 0.08 * (1 - img)  # lifted blacks read as airy, high-key light
    return img


def _smooth_noise(rng, size: Size, cells: int) -> np.ndarray:
    """Value noise 0-1: a coarse random grid, upsampled bicubically, then softened."""
    grid = (rng.random((cells + 1, cells + 1)) * 255).astype(np.uint8)
    up = Image.fromarray(grid, "L").resize((size.width, size.height), Image.BICUBIC)
    up = up.filter(ImageFilter.GaussianBlur(radius=max(1, size.shortest_side // (cells * 4))))
    return np.asarray(up, np.float32) / 255.0


def _smoothstep(edge0: float, edge1: float, v: np.ndarray) -> np.ndarray:
    t = np.clip((v - edge0) / (edge1 - edge0), 0, 1)
    return t * t * (3 - 2 * t)
