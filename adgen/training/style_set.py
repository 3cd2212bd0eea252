"""A brand's LoRA style set, drawn procedurally in its palette (brand_kits/<id>/style/).

`render_style_set(palette, out_dir, ...)` writes PNG backdrops whose wall, floor, podium and
lights use only the brand's colours, each with a .txt caption that names the scene but not
the colours: the trigger words are what must come to mean "this palette".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adgen.backdrops import BackdropParams, render_backdrop, sample_backdrop
from adgen.color import Color

_DISTINCT_MAD = 6.0  # 0-255; three times the linter's near-duplicate threshold


def render_style_set(palette: dict[str, str], out_dir: Path, *, trigger: str, count: int = 32,
                     size: int = 128, seed: int = 0, lighting: tuple[str, ...] = ("soft", "bright", "spotlight")
                     ) -> list[Path]:
    """Write `count` style images (+ captions) in `palette` (role -> hex) to `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colours = [Color.from_hex(v).as_tuple() for v in palette.values()]
    rng = np.random.default_rng(seed)
    written, thumbs = [], []
    candidate = 0
    while len(written) < count:
        scene = sample_backdrop(seed * 10_007 + candidate)
        candidate += 1
        base, accent = rng.choice(len(colours), 2, replace=False)
        params = BackdropParams(
            kind=scene.kind if scene.kind != "sky" else "studio sweep", colour=scene.colour,
            accent=scene.accent, lighting=str(rng.choice(lighting)),
            material=scene.material if scene.material != "wood" else "linen",  # wood is brown
            object=scene.object, bokeh=scene.bokeh, horizon=scene.horizon, angle_deg=scene.angle_deg,
            jitter=(0.0, 0.0, 0.0), seed=scene.seed,
            colour_rgb=colours[base], accent_rgb=colours[accent])
        image = render_backdrop(params, size)
        # Plain sweeps in the same colour come out alike; the LoRA linter would reject them.
        thumb = np.asarray(image.resize((32, 32)), np.float32)
        if any(np.abs(thumb - t).mean() < _DISTINCT_MAD for t in thumbs):
            continue
        thumbs.append(thumb)
        path = out_dir / f"{len(written):03d}.png"
        image.save(path)
        path.with_suffix(".txt").write_text(_style_caption(params, trigger) + "\n")
        written.append(path)
    return written


def _style_caption(params: BackdropParams, trigger: str) -> str:
    scene = {"studio sweep": "studio backdrop", "gradient": "gradient backdrop",
             "table-top": "table top scene", "material": "textured backdrop"}[params.kind]
    parts = [trigger, f"{params.lighting} {scene}"]
    if params.material != "none":
        parts.append(params.material)
    if params.object != "none":
        parts.append(params.object)
    if params.bokeh:
        parts.append("bokeh lights")
    return ", ".join(parts)
