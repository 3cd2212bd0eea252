"""Procedural scenes of an object standing on a surface, with its contact and cast shadow.

adgen-tiny's grounding data (issue 10, item 6): a studio sweep or table-top backdrop from
adgen.backdrops, a product-like object (bottle, can, box, jar, pouch; most with a printed band,
as packshots carry labels; up to three quarters of the frame, as layouts place products)
standing anywhere on the floor below the horizon, darkened right under its base (the contact shadow) and, softer and
longer, away from the light (the cast shadow), the object itself lit from the same side. So the
model sees a floor under every standing object and a shadow that agrees with the light, which
is what masked generation around a placed product asks of it. `sample_grounded(seed)` draws the
parameters, `render_grounded(params, size)` the pixels, `grounded_caption(params)` the words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from adgen.backdrops import COLOURS, BackdropParams, caption, render_backdrop, sample_backdrop

SHAPES = ("bottle", "can", "box", "jar", "pouch")


@dataclass(frozen=True)
class GroundedScene:
    """A backdrop and the object standing on its floor; equal params render equal pixels."""

    backdrop: BackdropParams
    shape: str = "can"
    colour: str = "red"
    centre_x: float = 0.5     # 0-1 of the width
    base_y: float = 0.85      # 0-1 of the height: the row the object stands on
    width: float = 0.2        # 0-1 of the width
    height: float = 0.35      # 0-1 of the height
    light: float = 0.0        # -1 light from the left .. 1 from the right
    hardness: float = 0.5     # 0 diffuse .. 1 one hard light
    label: str = "none"       # a printed band's colour (COLOURS), or "none": packshots carry labels
    label_top: float = 0.35   # 0-1 of the object's height, from its top
    label_bottom: float = 0.7


def sample_grounded(seed: int) -> GroundedScene:
    """Seeded parameters: a floor-bearing backdrop and an object standing below its horizon."""
    rng = np.random.default_rng(seed)
    params = sample_backdrop(seed)
    kind = str(rng.choice(("studio sweep", "table-top")))
    material = params.material if kind == "table-top" and params.material != "none" else \
        str(rng.choice(("none", "none", "marble", "wood", "concrete")))
    backdrop = BackdropParams(**{**params.__dict__, "kind": kind, "object": "none", "material": material,
                                 "horizon": float(rng.uniform(0.35, 0.7))})
    # Sizes as the layouts place products: up to three quarters of the frame, the base often low.
    height = float(rng.uniform(0.2, 0.75))
    base_y = float(rng.uniform(max(backdrop.horizon + 0.05, height + 0.03), 0.98))
    colour = str(rng.choice([c for c in COLOURS if c != backdrop.colour]))
    label = str(rng.choice(["none"] + [c for c in COLOURS if c != colour])) if rng.random() < 0.7 else "none"
    label_top = float(rng.uniform(0.2, 0.5))
    return GroundedScene(backdrop=backdrop, shape=str(rng.choice(SHAPES)), colour=colour,
                         centre_x=float(rng.uniform(0.2, 0.8)), base_y=base_y,
                         width=float(rng.uniform(0.1, 0.45)), height=height,
                         light=float(rng.uniform(-1, 1)), hardness=float(rng.uniform(0.1, 1.0)),
                         label=label, label_top=label_top, label_bottom=float(rng.uniform(label_top + 0.15, 0.85)))


def grounded_caption(scene: GroundedScene, short: bool = False) -> str:
    """The backdrop's caption and the object standing on the surface with its shadow."""
    side = "left" if scene.light < -0.3 else "right" if scene.light > 0.3 else "front"
    if short:
        return f"{caption(scene.backdrop, short=True)}, product standing on a surface, contact shadow"
    # The same words prompts/backdrop.j2 adds when a product is placed, so the prompt finds them.
    return (f"{caption(scene.backdrop)}, product standing on a surface, contact shadow, "
            f"a {scene.colour} {scene.shape}, light from the {side}")


def render_grounded(scene: GroundedScene, size: int = 128) -> Image.Image:
    """Draw the scene as an RGB image of size x size px."""
    img = np.asarray(render_backdrop(scene.backdrop, size), np.float32) / 255.0
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    x, y = (xs + 0.5) / size, (ys + 0.5) / size
    half_w = scene.width / 2
    img = img * (1 - _shadow(scene, x, y, half_w))[..., None]
    body, shade = _silhouette(scene, x, y, half_w)
    colour = np.broadcast_to(np.array(COLOURS[scene.colour], np.float32) / 255.0, img.shape).copy()
    if scene.label != "none":  # a printed band, shaded with the body
        v = (y - (scene.base_y - scene.height)) / max(scene.height, 1e-6)
        band = (v >= scene.label_top) & (v <= scene.label_bottom)
        colour[band] = np.array(COLOURS[scene.label], np.float32) / 255.0
    tone = shade * (0.75 + 0.25 * scene.hardness) + (1 - scene.hardness) * 0.2
    obj = np.clip(colour * tone[..., None], 0, 1)
    img = img * (1 - body[..., None]) + obj * body[..., None]
    return Image.fromarray(np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")


def object_coverage(scene: GroundedScene, size: int = 128) -> np.ndarray:
    """The object's coverage (size x size, 0-1): what a placed product's alpha is at inference."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    body, _ = _silhouette(scene, (xs + 0.5) / size, (ys + 0.5) / size, scene.width / 2)
    return body


def _silhouette(scene: GroundedScene, x, y, half_w):
    """Coverage (0-1, antialiased) of the object and its shading (lit side brighter)."""
    top, bottom, cx = scene.base_y - scene.height, scene.base_y, scene.centre_x
    u = (x - cx) / half_w                                  # -1..1 across the body
    v = (y - top) / max(scene.height, 1e-6)                # 0 top .. 1 base
    px = 1.0 / x.shape[1]
    width_at = np.ones_like(v)
    if scene.shape == "bottle":                            # a neck on the upper third
        width_at = np.where(v < 0.3, 0.38 + 0.62 * np.clip((v - 0.15) / 0.15, 0, 1), 1.0)
    elif scene.shape == "jar":
        width_at = np.where(v < 0.12, 0.85, 1.0)
    elif scene.shape == "pouch":                           # wider at the base
        width_at = 0.8 + 0.2 * v
    inside_x = np.clip((width_at * half_w - np.abs(x - cx)) / px + 0.5, 0, 1)
    ry = half_w * 0.18 if scene.shape in ("can", "jar", "bottle") else 0.0
    inside_y = np.clip((y - top) / px + 0.5, 0, 1) * np.clip((bottom - ry - y) / px + 0.5, 0, 1)
    body = inside_x * inside_y
    if ry:                                                 # the rounded bottom seen from above
        ellipse = ((x - cx) / half_w) ** 2 + ((y - (bottom - ry)) / ry) ** 2 <= 1
        body = np.maximum(body, ellipse.astype(np.float32) * (y >= bottom - ry))
    round_body = scene.shape in ("can", "jar", "bottle")
    shade = 0.62 + 0.38 * (np.cos(np.clip(u - 0.6 * scene.light, -1.6, 1.6) * 1.2) if round_body
                           else np.where(u * scene.light > 0, 1.0, 0.72))
    return body.astype(np.float32), shade.astype(np.float32)


def _shadow(scene: GroundedScene, x, y, half_w):
    """Darkening (0-1): tight contact shadow under the base and a cast shadow away from the light."""
    cx, base = scene.centre_x, scene.base_y
    dx = (x - cx) / (half_w * 1.15)
    contact = np.exp(-dx ** 4) * np.exp(-np.square((y - base) / (0.012 + 0.01 * (1 - scene.hardness))))
    contact *= np.where(y >= base - 0.01, 1.0, 0.3)
    length = scene.height * (0.15 + 0.35 * scene.hardness)
    t = np.clip((y - base) / max(length, 1e-3), 0, None)
    shifted = (x - cx + scene.light * t * length * 1.5) / (half_w * (1.1 + 0.6 * (1 - scene.hardness)))
    cast = np.exp(-shifted ** 2) * np.exp(-t * 2.2) * (y >= base - 0.005)
    return np.clip(0.7 * contact + (0.3 + 0.3 * scene.hardness) * cast, 0, 0.85).astype(np.float32)
