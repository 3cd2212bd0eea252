"""python -m bench cutout: the automatic cut-out against ground truth it can be wrong about.

Cut-outs with known alpha (the bundled examples/images/*.png, plus products drawn here with
holes: a mug with a handle, two bottles with a gap) are composited onto the backgrounds
packshots come on (white, light grey, a soft gradient, a floor shadow under the product,
sensor noise), saved losslessly and as JPEG at several qualities, and cut out again.
Reports IoU (alpha >= 0.5) and the edge error (SAD of alpha, 0-1 units, /1000 as the matting
benchmarks print it) per background kind and per JPEG quality, and the cut-out time per image.

    python -m bench cutout                     # the full corpus, figures + docs/img/cutout-grid.png
    python -m bench cutout --quick             # 3 images
    python -m bench cutout --json docs/benchmarks/cutout.json --grid docs/img/cutout-grid.png
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PRODUCTS = ("cold-brew-bag", "jasmine-tin", "matcha-can", "trail-flask")
DRAWN_PRODUCTS = ("mug-handle", "two-bottles")
KINDS = ("white", "light-grey", "gradient", "floor-shadow", "noisy")
QUALITIES = (None, 95, 85, 70)      # None: lossless PNG
PHOTO_PX = 640                       # side of the square packshot
PRODUCT_FILL = 0.75                  # the product's height in the photo, fraction
SCALE = 4                            # drawn products are drawn at 4x and downsampled for soft edges


@dataclass(frozen=True)
class Case:
    product: str
    kind: str
    quality: int | None
    photo: Image.Image      # RGB, as a shop would have it (decoded from its file)
    alpha: np.ndarray       # ground truth, float 0-1, photo size

    @property
    def name(self) -> str:
        return f"{self.product}/{self.kind}/{'png' if self.quality is None else f'q{self.quality}'}"


def corpus(products=EXAMPLE_PRODUCTS + DRAWN_PRODUCTS, kinds=KINDS, qualities=QUALITIES, seed: int = 0,
           size: int = PHOTO_PX):
    """Every (product, background kind, JPEG quality) case, deterministic from seed."""
    rng = np.random.default_rng(seed)
    for product in products:
        art = product_art(product)
        for kind in kinds:
            for quality in qualities:
                yield make_case(art, product, kind, quality, rng, size=size)


def product_art(name: str) -> Image.Image:
    """A product cut-out with known alpha (RGBA)."""
    if name in EXAMPLE_PRODUCTS:
        return Image.open(REPO / "examples" / "images" / f"{name}.png").convert("RGBA")
    return {"mug-handle": _mug, "two-bottles": _two_bottles}[name]()


def make_case(art: Image.Image, product: str, kind: str, quality: int | None, rng, size: int = PHOTO_PX) -> Case:
    """The product over one background kind, with its floor shadow when the kind has one."""
    scale = PRODUCT_FILL * size / art.height
    art = art.resize((max(1, round(art.width * scale)), round(art.height * scale)), Image.Resampling.LANCZOS)
    if art.width > 0.8 * size:  # a packshot leaves a margin, and room for the shadow
        art = art.resize((round(0.8 * size), round(art.height * 0.8 * size / art.width)), Image.Resampling.LANCZOS)
    left, top = (size - art.width) // 2, round(size * 0.90) - art.height
    background = _background(kind, size, rng)
    alpha = np.zeros((size, size), np.float64)
    alpha[top:top + art.height, left:left + art.width] = np.asarray(art.getchannel("A"), np.float64) / 255
    if kind == "floor-shadow":
        background = background * _floor_shadow(size, (left, top, left + art.width, top + art.height))[..., None]
    fg = np.zeros((size, size, 3), np.float64)
    fg[top:top + art.height, left:left + art.width] = np.asarray(art.convert("RGB"), np.float64)
    photo = fg * alpha[..., None] + background * (1 - alpha[..., None])
    if kind == "noisy":
        photo = photo + rng.normal(0, 4.0, photo.shape)
    image = Image.fromarray(np.clip(np.round(photo), 0, 255).astype(np.uint8))
    if quality is not None:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return Case(product, kind, quality, image, alpha)


def _background(kind: str, size: int, rng) -> np.ndarray:
    if kind == "white":
        return np.full((size, size, 3), 255.0)
    if kind in ("light-grey", "noisy"):
        return np.full((size, size, 3), 236.0) + np.array([0.0, 0.0, 2.0])
    if kind == "gradient":
        # A studio sweep: lighter at the top, a soft vignette towards the corners.
        y, x = np.mgrid[0:size, 0:size] / (size - 1)
        level = 250 - 34 * y - 14 * ((x - 0.5) ** 2 + (y - 0.4) ** 2)
        return np.stack([level, level, level + 3], axis=-1)
    if kind == "floor-shadow":
        return np.full((size, size, 3), 248.0)
    raise ValueError(kind)


def _floor_shadow(size: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A multiplier <= 1: a soft ellipse on the floor, cast back-right, and a darker contact line."""
    left, top, right, bottom = box
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    width = right - left
    draw.ellipse((left - 0.04 * width, bottom - 0.05 * size, right + 0.12 * width, bottom + 0.03 * size), fill=150)
    draw.ellipse((left + 0.05 * width, bottom - 0.012 * size, right - 0.05 * width, bottom + 0.01 * size), fill=230)
    soft = np.asarray(layer.filter(ImageFilter.GaussianBlur(size * 0.018)), np.float64) / 255
    return 1 - 0.6 * soft


def _mug() -> Image.Image:
    """A terracotta mug with a handle: the hole inside the handle must stay background."""
    s = SCALE
    image = Image.new("RGBA", (260 * s, 220 * s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    body = (184, 92, 60, 255)
    draw.ellipse((150 * s, 50 * s, 250 * s, 160 * s), fill=body)
    draw.ellipse((172 * s, 74 * s, 228 * s, 136 * s), fill=(0, 0, 0, 0))
    draw.rounded_rectangle((10 * s, 10 * s, 190 * s, 215 * s), radius=22 * s, fill=body)
    # Shading: a lighter stripe and a darker side, as a glazed mug has.
    shade = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(shade).rectangle((40 * s, 10 * s, 70 * s, 215 * s), fill=(255, 220, 200, 70))
    ImageDraw.Draw(shade).rectangle((150 * s, 10 * s, 190 * s, 215 * s), fill=(60, 20, 10, 60))
    shade = shade.filter(ImageFilter.GaussianBlur(6 * s))
    body_alpha = np.asarray(image.getchannel("A"), np.float64) / 255
    shade.putalpha(Image.fromarray(np.round(np.asarray(shade.getchannel("A")) * body_alpha).astype(np.uint8)))
    image.alpha_composite(shade)
    return image.resize((image.width // s, image.height // s), Image.Resampling.LANCZOS)


def _two_bottles() -> Image.Image:
    """Two amber bottles with a gap between them: the gap must stay background."""
    s = SCALE
    image = Image.new("RGBA", (250 * s, 300 * s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for x0, colour, cap in ((5, (150, 86, 30, 255), (30, 30, 30, 255)), (135, (46, 100, 70, 255), (200, 200, 196, 255))):
        draw.rounded_rectangle(((x0 + 30) * s, 5 * s, (x0 + 80) * s, 40 * s), radius=6 * s, fill=cap)
        draw.rectangle(((x0 + 38) * s, 38 * s, (x0 + 72) * s, 80 * s), fill=colour)
        draw.rounded_rectangle((x0 * s, 70 * s, (x0 + 110) * s, 295 * s), radius=26 * s, fill=colour)
        draw.rectangle(((x0 + 12) * s, 140 * s, (x0 + 98) * s, 220 * s), fill=(240, 232, 210, 255))
        draw.rectangle(((x0 + 24) * s, 170 * s, (x0 + 86) * s, 184 * s), fill=colour)
    return image.resize((image.width // s, image.height // s), Image.Resampling.LANCZOS)


# --- measuring ---------------------------------------------------------------------------------

def score(case: Case, alpha: np.ndarray) -> dict:
    """IoU at alpha 0.5, SAD of alpha (/1000) and mean alpha error in the true edge's band (+-4 px)."""
    import cv2

    truth = case.alpha
    a, b = alpha >= 0.5, truth >= 0.5
    iou = float((a & b).sum() / max(1, (a | b).sum()))
    sad = float(np.abs(alpha - truth).sum()) / 1000
    edge = (truth > 0) & (truth < 1)
    band = cv2.dilate(edge.astype(np.uint8) | (cv2.morphologyEx(b.astype(np.uint8), cv2.MORPH_GRADIENT,
                                                                np.ones((3, 3), np.uint8))), np.ones((9, 9), np.uint8)) > 0
    return {"iou": round(iou, 4), "sad_k": round(sad, 3),
            "edge_mae": round(float(np.abs(alpha - truth)[band].mean()), 4)}


def run_corpus(cases, method: str = "auto") -> list[dict]:
    from adgen.cutout import cut_out

    rows = []
    for case in cases:
        started = time.perf_counter()
        result = cut_out(case.photo, method=method)
        elapsed = (time.perf_counter() - started) * 1000
        rows.append({"case": case.name, "product": case.product, "kind": case.kind,
                     "jpeg": "png" if case.quality is None else f"q{case.quality}", "ms": round(elapsed, 1),
                     "confidence": round(result.confidence, 3), "method": result.method,
                     **score(case, np.asarray(result.alpha, np.float64) / 255)})
    return rows


def summarise(rows: list[dict], key: str) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return [{key: name, "n": len(group), "iou_mean": round(statistics.fmean(r["iou"] for r in group), 4),
             "iou_min": min(r["iou"] for r in group),
             "sad_k_mean": round(statistics.fmean(r["sad_k"] for r in group), 3),
             "edge_mae_mean": round(statistics.fmean(r["edge_mae"] for r in group), 4),
             "ms_median": round(statistics.median(r["ms"] for r in group), 1),
             "confidence_min": min(r["confidence"] for r in group)} for name, group in groups.items()]


def grid(cases, backdrop=(38, 70, 120)) -> Image.Image:
    """Rows of photo -> matte -> the cut-out on a dark brand colour (fringes show there) -> an edge at 3x."""
    from adgen.cutout import cut_out

    cell, pad = 300, 8
    rows = list(cases)
    sheet = Image.new("RGB", (4 * cell + 5 * pad, len(rows) * (cell + pad) + pad), (255, 255, 255))
    for index, case in enumerate(rows):
        result = cut_out(case.photo)
        composite = Image.new("RGBA", case.photo.size, backdrop + (255,))
        composite.alpha_composite(result.rgba)
        tiles = (case.photo, result.alpha.convert("RGB"), composite.convert("RGB"))
        for column, tile in enumerate(tiles):
            sheet.paste(tile.resize((cell, cell), Image.Resampling.LANCZOS),
                        (pad + column * (cell + pad), pad + index * (cell + pad)))
        sheet.paste(composite.convert("RGB").crop(_edge_window(result.mask, cell // 3)).resize(
            (cell, cell), Image.Resampling.NEAREST), (pad + 3 * (cell + pad), pad + index * (cell + pad)))
    return sheet


def _edge_window(mask: np.ndarray, side: int) -> tuple[int, int, int, int]:
    """A side x side window on the product's right outline, a fifth of the way down its height."""
    rows = np.nonzero(mask.any(axis=1))[0]
    row = int(rows.min() + 0.2 * (rows.max() - rows.min())) if rows.size else mask.shape[0] // 2
    cols = np.nonzero(mask[row])[0]
    col = int(cols.max()) if cols.size else mask.shape[1] // 2
    left = min(max(0, col - side // 2), mask.shape[1] - side)
    top = min(max(0, row - side // 2), mask.shape[0] - side)
    return left, top, left + side, top + side


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench cutout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 images: a smoke run")
    parser.add_argument("--method", default="auto", help="cut-out method (see adgen.cutout.METHODS)")
    parser.add_argument("--json", help="write per-image rows and summaries here")
    parser.add_argument("--grid", help="write the photo -> matte -> composite grid PNG here")
    args = parser.parse_args(argv)
    if args.quick:
        cases = list(corpus(products=("mug-handle",), kinds=("white", "floor-shadow", "gradient"), qualities=(85,)))
    else:
        cases = list(corpus())
    rows = run_corpus(cases, args.method)
    document = {"command": "python -m bench cutout " + " ".join(argv or sys.argv[1:]), "rows": rows,
                "by_kind": summarise(rows, "kind"), "by_jpeg": summarise(rows, "jpeg"),
                "by_product": summarise(rows, "product")}
    for table in ("by_kind", "by_jpeg", "by_product"):
        print(f"\n{table}")
        for line in document[table]:
            print("  " + "  ".join(f"{k}={v}" for k, v in line.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=1), encoding="utf-8")
    if args.grid:
        picks = [c for c in cases if (c.product, c.kind, c.quality) in GRID_CASES] or cases[:3]
        grid(picks).save(args.grid, optimize=True)


GRID_CASES = {("mug-handle", "white", 85), ("two-bottles", "light-grey", 85), ("jasmine-tin", "gradient", 85),
              ("cold-brew-bag", "floor-shadow", 85), ("trail-flask", "noisy", 70), ("matcha-can", "white", 95)}
