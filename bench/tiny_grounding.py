"""python -m bench tiny_grounding MODEL_DIR: does a fine-tuned adgen-tiny draw a floor under the placed product?

    python -m bench tiny_grounding out/adgen-tiny-inpaint [--seeds 3] [--scenes 24] [--json F] [--sheet F.jpg]

For every laid-out demo asset and seed, the plate generated around the plan by the shipped
adgen-tiny (with the prompt as it was before it asked for a surface, and as it is) and by
MODEL_DIR (same prompt, seed and steps), fitted as compose fits it, before any
grounding: the grounding measure on the plate itself (mean L* of the band just under the product's
base minus the same rows beside it, product.grounded's bands; negative is darker under the base),
how many plates are at least 4 L* darker there (the rule's threshold), the same for the band one
latent cell tall (the finest a 128 px plate can place a floor), and the artefact score. Then the
same measure on held-out grounded scenes, the object given as plate_guide gives a product.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench tiny_grounding")
    parser.add_argument("model", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--candidate-only", action="store_true", help="skip the shipped model's arms")
    parser.add_argument("--scenes", type=int, default=24, help="held-out grounded scenes to measure too (0: none)")
    parser.add_argument("--sheet", type=Path, default=None,
                        help="save a contact sheet: per arm, the first seed's plates with the product pasted, bands drawn")
    args = parser.parse_args(argv)
    from bench.__main__ import _hermetic_env

    _hermetic_env()
    import torch

    torch.set_num_threads(args.threads)
    arms = {"adgen-tiny, no surface words": ("adgen-tiny", False), "adgen-tiny": ("adgen-tiny", True),
            "candidate": (str(args.model), True)}
    if args.candidate_only:
        arms = {"candidate": arms["candidate"]}
    sheet = {} if args.sheet else None
    result = measure(arms, seeds=range(args.seeds), sheet=sheet)
    if sheet:
        _save_sheet(sheet, args.sheet)
    if args.scenes:
        for name, (model, _) in arms.items():
            if name == "adgen-tiny, no surface words":   # the scenes' captions are the same in both
                continue
            row = measure_scenes(model, args.scenes)
            result[name]["scenes"] = row
            print(f"{name}, held-out scenes: under the base {row['mean_delta_l']:+.2f} L* (mean of {row['plates']}), "
                  f"{row['darker_by_4']} at least 4 L* darker")
    for name, row in result.items():
        print(f"{name}: plate under the base {row['mean_delta_l']:+.2f} L* (mean of {row['plates']}), "
              f"{row['darker_by_4']} at least 4 L* darker; one latent cell under it {row['cell_mean_delta_l']:+.2f} L*, "
              f"{row['cell_darker_by_4']} at least 4 L* darker; grid {row['grid_db']} dB, banding {row['banding_per_kpx']} /kpx")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


GROUNDING_WORDS = "product standing on a surface, contact shadow, "   # what prompts/backdrop.j2 adds


def measure(models: dict[str, tuple[str, bool]], seeds, sheet: dict | None = None) -> dict:
    """models: arm name -> (model, whether the prompt keeps the grounding words); sheet: filled with each
    arm's first-seed tiles when given."""
    import numpy as np

    from adgen.compliance.grounding_rules import grounding_bands, grounding_delta
    from adgen.generation import render_plate
    from adgen.plan import plan
    from adgen.plate_quality import artefact_score, fit_plate
    from adgen.prompt import build_prompt
    from bench.plate_quality import demo_requests

    rows: dict[str, list[dict]] = {name: [] for name in models}
    for _, resolved in demo_requests("adgen-tiny", None):
        layout, prompt = plan(resolved), build_prompt(resolved)
        bands = grounding_bands(layout.product_box, np.asarray(layout.product_mask), layout.canvas,
                                [box for _, box in layout.copy_boxes])
        for name, (model, grounding_words) in models.items():
            text = prompt.text if grounding_words else prompt.text.replace(GROUNDING_WORDS, "")
            for seed in seeds:
                plate = render_plate(text, prompt.negative, model=model, target=resolved.format.size,
                                     seed=resolved.seed + seed, steps=resolved.steps, guidance=resolved.guidance,
                                     plan=layout)
                fitted = fit_plate(plate, resolved.format.size.as_tuple())
                if sheet is not None and seed == seeds[0] and bands:
                    sheet.setdefault(name, []).append(_tile(fitted, layout, bands, grounding_delta(fitted, *bands)))
                rows[name].append({"delta_l": grounding_delta(fitted, *bands) if bands else None,
                                   "delta_l_cell": grounding_delta(fitted, *_cell_tall(bands, plate, layout.canvas))
                                   if bands else None,
                                   **artefact_score(fitted, plate.size).as_dict()})
    out = {}
    for name, values in rows.items():
        cells = [v["delta_l_cell"] for v in values if v["delta_l_cell"] is not None]
        deltas = [v["delta_l"] for v in values if v["delta_l"] is not None]
        out[name] = {"plates": len(deltas), "mean_delta_l": round(statistics.mean(deltas), 2),
                     "darker_by_4": sum(d <= -4 for d in deltas),
                     "cell_mean_delta_l": round(statistics.mean(cells), 2), "cell_darker_by_4": sum(d <= -4 for d in cells),
                     "grid_db": round(statistics.mean(v["grid_db"] for v in values), 2),
                     "banding_per_kpx": round(statistics.mean(v["banding_per_kpx"] for v in values), 2)}
    return out


def measure_scenes(model: str, count: int, size: int = 128, canvas: int = 1080) -> dict:
    """Held-out grounded scenes (seeds no training run uses), the object given as plate_guide gives a
    product (its exact silhouette to a 9-channel model, whole latent cells to a 4-channel one) and the
    scene's short caption: the rule's measure under the object's base on the plate, enlarged as compose
    enlarges it. In distribution, so it says whether the model learnt the task at all."""
    import numpy as np
    from PIL import Image

    from adgen.compliance.grounding_rules import grounding_bands, grounding_delta
    from adgen.formats import Size
    from adgen.generation import load_pipeline
    from adgen.geometry import Box
    from adgen.plate_guide import PlateGuide, render_guided
    from adgen.training.grounded_scenes import grounded_caption, object_coverage, render_grounded, sample_grounded

    pipe = load_pipeline(model)
    cell = int(pipe.vae_scale_factor)
    deltas = []
    for seed in range(900_000, 900_000 + count):
        scene = sample_grounded(seed)
        image, coverage = render_grounded(scene, size), object_coverage(scene, size)
        keep = coverage >= 0.5
        if int(pipe.unet.config.in_channels) == 4:
            whole = keep.reshape(size // cell, cell, size // cell, cell).all(axis=(1, 3))
            keep = np.kron(whole, np.ones((cell, cell), bool))
        init = np.where((coverage >= 0.5)[..., None], np.asarray(image), 128).astype(np.uint8)
        guide = PlateGuide(init=Image.fromarray(init), mask=Image.fromarray(np.where(keep, 0, 255).astype(np.uint8)),
                           calm=Image.new("L", (size, size), 0), copy_strength=0.0)
        plate = render_guided(pipe, [guide], prompts=[grounded_caption(scene, short=True)], negatives=[None],
                              size=(size, size), seeds=[seed], steps=20, guidance=5.0)[0]
        alpha = np.asarray(Image.fromarray((coverage * 255).astype(np.uint8)).resize((canvas, canvas),
                                                                                      Image.Resampling.BILINEAR))
        ys, xs = np.nonzero(alpha >= 128)
        box = Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        bands = grounding_bands(box, alpha[box.top:box.bottom, box.left:box.right], Size(canvas, canvas), [])
        if bands:
            deltas.append(grounding_delta(plate.resize((canvas, canvas), Image.Resampling.BICUBIC), *bands))
    return {"plates": len(deltas), "mean_delta_l": round(statistics.mean(deltas), 2),
            "darker_by_4": sum(d <= -4 for d in deltas)}


def _tile(fitted, layout, bands, delta: float, height: int = 320):
    """The fitted plate with the product pasted as compose places it (no compose grounding), the rule's
    band under the base green and the rows beside it blue, and the measure."""
    from PIL import ImageDraw

    tile = fitted.copy()
    tile.paste(layout.product_pixels.convert("RGB"), layout.product_box.as_tuple()[:2], layout.product_mask)
    draw = ImageDraw.Draw(tile)
    under, beside = bands
    width = max(2, tile.height // 300)
    draw.rectangle(under.as_tuple(), outline=(0, 230, 0), width=width)
    for box in beside:
        draw.rectangle(box.as_tuple(), outline=(40, 120, 255), width=width)
    tile.thumbnail((10 * height, height))
    ImageDraw.Draw(tile).text((6, 6), f"{delta:+.1f} L*", fill=(255, 255, 0), stroke_width=2, stroke_fill=(0, 0, 0))
    return tile


def _save_sheet(sheet: dict, path: Path) -> None:
    """One row per arm, its name on the left."""
    from PIL import Image, ImageDraw

    label = 200
    width = label + max(sum(t.width + 8 for t in tiles) for tiles in sheet.values())
    height = max(t.height for tiles in sheet.values() for t in tiles) + 8
    out = Image.new("RGB", (width, height * len(sheet)), "white")
    draw = ImageDraw.Draw(out)
    for row, (name, tiles) in enumerate(sheet.items()):
        draw.text((6, row * height + height // 2), name, fill="black")
        x = label
        for tile in tiles:
            out.paste(tile, (x, row * height))
            x += tile.width + 8
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path, quality=85) if path.suffix.lower() in (".jpg", ".jpeg") else out.save(path)


def _cell_tall(bands, plate, canvas):
    """The same bands one latent cell tall (8 plate px at canvas scale): where the model can place a floor.

    The rule's band is 4 % of the product's height, a fraction of one of adgen-tiny's latent cells."""
    from adgen.geometry import Box

    cell = round(8 * max(canvas.width / plate.width, canvas.height / plate.height))
    under, beside = bands
    tall = lambda b: Box(b.left, b.top, b.right, b.top + cell).clamp_to(canvas)  # noqa: E731
    return tall(under), tuple(tall(b) for b in beside)
