"""A brand's photo-like style set, rendered by code in its palette (brand_kits/<id>/photos/).

`render_photo_set(palette, out_dir, trigger=, count=, seed=)` writes JPEG "photographs" of
table-top still lifes: a plaster wall lit from a window on one side, a table of wood, linen,
ceramic tile or stone seen in perspective, ceramic cups, vases and bowls shaded as cylinders with
a specular band, soft contact shadows, depth of field (the wall and the far table blurred), a
vignette and film grain. Wall, table and objects take the brand's colours. Sizes and aspects are
mixed (portrait, square, landscape, from 0.75x to 2x the 128 px of adgen-tiny); every other image
has a `.txt` caption naming the scene but not the colours, the others are named after the scene
("linen-table-vase-07.jpg") so the trainer builds their caption from the file name.
Nothing is downloaded: the same seed writes the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from adgen.color import Color
from adgen.training.lora_lint import DUPLICATE_HAMMING, _hamming, _phash

SIZES = ((192, 128), (128, 192), (160, 160), (224, 128), (128, 160), (256, 192), (144, 192), (176, 176))
MATERIALS = ("wood", "linen", "ceramic tile", "stone")
OBJECTS = ("cup", "vase", "bowl", "two vases", "cup and bowl")
LIGHTS = ("soft window light", "warm side light", "morning light", "diffuse daylight")


@dataclass(frozen=True)
class PhotoScene:
    width: int
    height: int
    wall: tuple[int, int, int]
    table: tuple[int, int, int]
    objects: tuple[tuple[int, int, int], ...]
    material: str
    arrangement: str
    light: str
    light_from_left: bool
    horizon: float        # 0-1 of the height: where the table meets the wall
    focus: float          # 0-1: how blurred the wall is (depth of field)
    seed: int


def render_photo_set(palette: dict[str, str], out_dir: Path, *, trigger: str, count: int = 24, seed: int = 0,
                     sizes: tuple[tuple[int, int], ...] = SIZES) -> list[Path]:
    """Write `count` photo-like style images in `palette` (role -> hex) to `out_dir`; half with captions."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colours = [Color.from_hex(v).as_tuple() for v in palette.values()]
    rng = np.random.default_rng(seed)
    written, hashes = [], []
    for index in range(count):
        for attempt in range(50):
            scene = _sample_scene(rng, colours, sizes[index % len(sizes)], seed * 1000 + index * 50 + attempt)
            image = render_photo(scene)
            # Scenes the LoRA linter would call near-duplicates are drawn again.
            phash = _phash(image)
            if all(_hamming(phash, other) > DUPLICATE_HAMMING + 4 for other in hashes):
                break
        hashes.append(phash)
        stem = f"{scene.material.replace(' ', '-')}-table-{scene.arrangement.replace(' ', '-')}-{index:02d}"
        path = out_dir / f"{stem}.jpg"
        image.save(path, quality=88, optimize=True)
        if index % 2 == 0:
            caption = f"{trigger}, {scene.light}, {scene.arrangement} on a {scene.material} table, shallow depth of field"
            path.with_suffix(".txt").write_text(caption + "\n")
        written.append(path)
    return written


def render_photo(scene: PhotoScene) -> Image.Image:
    """One still life as an 8-bit RGB image."""
    import cv2

    rng = np.random.default_rng(scene.seed)
    w, h = scene.width, scene.height
    horizon = int(h * scene.horizon)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    side = xs / w if scene.light_from_left else 1 - xs / w
    # 1. the wall: plaster grain, lit from the window side, darker high up and far from it
    wall = np.array(scene.wall, np.float32) * (0.72 + 0.38 * (1 - side) ** 1.5)[..., None]
    wall *= (0.9 + 0.1 * ys / max(1, horizon))[..., None]
    wall *= (1 + 0.05 * _fbm(rng, h, w, 4))[..., None]
    # 2. the table in perspective: texture coordinates shrink toward the horizon
    depth = np.maximum(ys - horizon, 0) + 2.0
    u = (xs - w / 2) / depth * h * 0.35
    v = h * 8.0 / depth
    texture = _material(scene.material, u, v, rng, h, w)
    table = np.array(scene.table, np.float32) * texture[..., None]
    table *= (0.75 + 0.35 * (1 - side) + 0.15 * (ys - horizon) / max(1, h - horizon))[..., None]
    image = np.where((ys < horizon)[..., None], wall, table)
    # 3. depth of field: the wall and the far table are blurred, the front edge is sharp
    sigma = 0.6 + 3.0 * scene.focus * min(w, h) / 128
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    near = np.clip((ys - horizon) / max(1, (h - horizon) * 0.6), 0, 1)[..., None]
    image = blurred * (1 - near) + image * near
    # 4. objects standing on the table, each with a soft contact shadow away from the light
    for obj in _layout(scene, rng, horizon):
        image = _shadow(image, obj, scene.light_from_left, h)
        image = _ceramic(image, obj, scene.light_from_left, rng)
    # 5. lens: vignette, warm/cool cast of the light, grain
    radius = np.sqrt(((xs - w / 2) / w) ** 2 + ((ys - h / 2) / h) ** 2)
    image *= (1 - 0.35 * radius ** 2)[..., None]
    image += rng.normal(0, 3.0, image.shape).astype(np.float32)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")


def _sample_scene(rng, colours, size, seed) -> PhotoScene:
    order = rng.permutation(len(colours))
    wall, table = colours[order[0]], colours[order[1 % len(order)]]
    objects = tuple(colours[i] for i in order[2:]) or (colours[order[0]],)
    return PhotoScene(width=size[0], height=size[1], wall=wall, table=table, objects=objects,
                      material=str(rng.choice(MATERIALS)), arrangement=str(rng.choice(OBJECTS)),
                      light=str(rng.choice(LIGHTS)), light_from_left=bool(rng.integers(2)),
                      horizon=float(rng.uniform(0.42, 0.62)), focus=float(rng.uniform(0.4, 1.0)), seed=seed)


def _fbm(rng, h: int, w: int, octaves: int) -> np.ndarray:
    """Fractal noise in about -1..1: random grids from coarse to fine, smoothly upsampled."""
    import cv2

    total = np.zeros((h, w), np.float32)
    for octave in range(octaves):
        cells = 3 * 2 ** octave
        grid = rng.normal(0, 1, (cells, cells)).astype(np.float32)
        total += cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC) / 2 ** octave
    return total / 2


def _material(material: str, u, v, rng, h: int, w: int) -> np.ndarray:
    """A brightness texture around 1.0 for the table, in its perspective coordinates."""
    noise = _fbm(rng, h, w, 4)
    if material == "wood":   # planks along the depth, grain rings bent by noise
        grain = np.sin(u * 0.9 + 2.5 * noise + 0.25 * np.sin(v * 0.3))
        plank = np.abs(np.sin(u * 0.06 + 0.5)) < 0.05
        return 0.86 + 0.1 * grain - 0.18 * plank + 0.04 * noise
    if material == "linen":  # weave: fine threads both ways, slightly irregular
        weave = np.sin(u * 6.0 + noise) * np.sin(v * 6.0 + noise)
        return 0.92 + 0.06 * weave + 0.05 * noise
    if material == "ceramic tile":  # glazed tiles with grout lines and a soft sheen
        grout = (np.abs(np.sin(u * 0.35)) < 0.08) | (np.abs(np.sin(v * 0.35)) < 0.08)
        return 0.97 + 0.04 * noise - 0.22 * grout
    speckle = (rng.random((h, w)) < 0.02) * rng.uniform(-0.2, 0.1, (h, w))  # stone: mottled, speckled
    return 0.9 + 0.1 * noise + speckle.astype(np.float32)


def _layout(scene: PhotoScene, rng, horizon: int) -> list[dict]:
    """Object outlines (centre x, base y, half width, height, colour, kind) on the table."""
    h, w = scene.height, scene.width
    kinds = {"cup": ["cup"], "vase": ["vase"], "bowl": ["bowl"], "two vases": ["vase", "vase"],
             "cup and bowl": ["cup", "bowl"]}[scene.arrangement]
    objects = []
    for i, kind in enumerate(kinds):
        base = horizon + (h - horizon) * rng.uniform(0.35, 0.7)
        scale = 0.35 + 0.65 * (base - horizon) / max(1, h - horizon)
        half, height = {"cup": (0.09, 0.16), "vase": (0.08, 0.42), "bowl": (0.16, 0.1)}[kind]
        cx = w * (0.5 + (i - (len(kinds) - 1) / 2) * 0.3 + rng.uniform(-0.08, 0.08))
        objects.append({"cx": cx, "base": base, "half": half * min(w, h) * scale * 2,
                        "height": height * h * scale * 1.6, "kind": kind,
                        "colour": scene.objects[i % len(scene.objects)]})
    return objects


def _shadow(image, obj, light_from_left: bool, h: int):
    import cv2

    mask = np.zeros(image.shape[:2], np.float32)
    offset = obj["half"] * (0.6 if light_from_left else -0.6)
    centre = (int(obj["cx"] + offset), int(obj["base"]))
    axes = (max(1, int(obj["half"] * 1.5)), max(1, int(obj["half"] * 0.35)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, h / 40))
    return image * (1 - 0.45 * mask)[..., None]


def _ceramic(image, obj, light_from_left: bool, rng):
    """A glazed ceramic body: Lambert shading across its width, a specular band, a dark rim."""
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    top = obj["base"] - obj["height"]
    t = np.clip((ys - top) / max(1.0, obj["height"]), 0, 1)
    profile = {"cup": np.ones_like(t), "bowl": 0.6 + 0.4 * np.sqrt(1 - (1 - t) ** 2),
               "vase": 0.55 + 0.45 * np.sin(np.pi * (0.25 + 0.7 * t))}[obj["kind"]]
    half = obj["half"] * profile
    across = (xs - obj["cx"]) / np.maximum(half, 1.0)
    inside = (np.abs(across) <= 1) & (ys >= top) & (ys <= obj["base"])
    normal_x = across if light_from_left else -across
    lambert = np.clip(0.55 - 0.45 * normal_x, 0.15, 1.0)
    specular = np.exp(-((normal_x + 0.45) / 0.12) ** 2) * 90
    rim = np.exp(-((ys - top) / 1.5) ** 2) * -40
    body = np.array(obj["colour"], np.float32) * lambert[..., None] + (specular + rim)[..., None]
    body *= 1 + 0.03 * _fbm(rng, h, w, 3)[..., None]  # glaze unevenness
    soft = np.clip((1 - np.abs(across)) * np.maximum(half, 1) / 1.2, 0, 1) * inside  # anti-aliased edge
    return image * (1 - soft[..., None]) + body * soft[..., None]
