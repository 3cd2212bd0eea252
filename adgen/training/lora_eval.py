"""How faithful a brand adapter is: plates' colours against the brand palette, with and
without the adapter, on a fixed held-out prompt set; and whether plates stay text-free.

Palette distance of a plate = the share-weighted CIEDE2000 distance from each of its
dominant colours (median cut, 4 colours) to the nearest palette colour. Lower is closer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from adgen.adapters import AdapterRef, activate_adapter
from adgen.color import Color
from adgen.compliance.palette_rules import delta_e00

# Scenes only, no colour words: what the plate's colours become is the adapter's doing.
# None of these captions is in the style sets (those always carry a lighting word first).
HELD_OUT_PROMPTS: tuple[str, ...] = (
    "studio backdrop with a round podium",
    "product display scene, square pedestal",
    "table top scene with marble",
    "minimal background, stacked podiums",
    "backdrop with bokeh lights",
    "empty studio, soft shadow",
)
# Stroke share (see stroke_share) above which a plate may hold text. Measured on the brand
# style sets: plain backdrops (even linen and concrete grain) reach 0.156; the same images
# with one 12-character line of 8 px type reach at least 0.203.
STROKE_SHARE_LIMIT = 0.18


@dataclass(frozen=True)
class PlateScore:
    prompt: str
    seed: int
    delta_e00_without: float
    delta_e00_with: float
    stroke_share_with: float


@dataclass(frozen=True)
class AdapterEval:
    """Mean palette distance (CIEDE2000) without and with the adapter, per-plate rows."""

    adapter: str
    delta_e00_without: float
    delta_e00_with: float
    text_free: bool
    plates: tuple[PlateScore, ...]

    @property
    def improvement(self) -> float:
        """How much closer to the palette the adapter brings plates, CIEDE2000 units."""
        return self.delta_e00_without - self.delta_e00_with


def evaluate_adapter(pipe, adapter: AdapterRef, palette: dict[str, str], *,
                     prompts: tuple[str, ...] = HELD_OUT_PROMPTS, seeds: tuple[int, ...] = (0, 1, 2),
                     steps: int = 20, guidance: float = 5.0) -> AdapterEval:
    """Render each held-out prompt x seed without and with `adapter` (same prompt with its
    trigger words, same noise) and score both against `palette` (role -> hex)."""
    from adgen.plate_guide import render_plain

    rows = []
    for prompt in prompts:
        text = adapter.prompt_with_trigger(prompt)
        for seed in seeds:
            plates = []
            for ref in (None, adapter):
                activate_adapter(pipe, ref)
                plates += render_plain(pipe, [text], seeds=[seed], steps=steps, guidance=guidance)
            rows.append(PlateScore(prompt, seed, palette_distance(plates[0], palette),
                                   palette_distance(plates[1], palette), stroke_share(plates[1])))
    activate_adapter(pipe, None)
    return AdapterEval(adapter.name, float(np.mean([r.delta_e00_without for r in rows])),
                       float(np.mean([r.delta_e00_with for r in rows])),
                       all(r.stroke_share_with < STROKE_SHARE_LIMIT for r in rows), tuple(rows))


def palette_distance(image: Image.Image, palette: dict[str, str], colours: int = 4) -> float:
    """Share-weighted CIEDE2000 from the image's dominant colours to the nearest palette colour."""
    dominant = dominant_colours(image, colours)
    targets = [Color.from_hex(v).as_tuple() for v in palette.values()]
    total = 0.0
    for rgb, share in dominant:
        total += share * float(np.min(delta_e00([rgb] * len(targets), targets)))
    return total


def dominant_colours(image: Image.Image, colours: int = 4) -> list[tuple[tuple[int, int, int], float]]:
    """The image's main colours (median cut) and their pixel shares, largest first."""
    small = image.convert("RGB").resize((64, 64), Image.BILINEAR)
    quant = small.quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    lut = quant.getpalette()
    counts = sorted(quant.getcolors(), reverse=True)
    n = sum(c for c, _ in counts)
    return [(tuple(lut[3 * i:3 * i + 3]), c / n) for c, i in counts]


def stroke_share(image: Image.Image, tile: int = 16) -> float:
    """Densest 16 px tile's share of sharp-stroke pixels (|Laplacian| > 80 at 128 px): text
    packs strokes into a few tiles, smooth or grainy backdrops do not. A cheap OCR stand-in."""
    side = 128
    grey = image.convert("L").resize((side, side), Image.BILINEAR)
    lap = grey.filter(ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=128))
    strokes = (np.abs(np.asarray(lap, np.float32) - 128) > 80).astype(np.float32)
    n = side // tile
    return float(strokes.reshape(n, tile, n, tile).mean(axis=(1, 3)).max())
