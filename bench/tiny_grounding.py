"""python -m bench tiny_grounding MODEL_DIR: does a fine-tuned adgen-tiny draw a floor under the placed product?

    python -m bench tiny_grounding out/adgen-tiny-grounded [--seeds 3] [--json F]

For every laid-out demo asset and seed, the plate generated around the plan by the shipped
adgen-tiny (with the prompt as it was before it asked for a surface, and as it is) and by
MODEL_DIR (same prompt, seed and steps), fitted as compose fits it, before any
grounding: the grounding measure on the plate itself (mean L* of the band just under the product's
base minus the same rows beside it, product.grounded's bands; negative is darker under the base),
how many plates are at least 4 L* darker there (the rule's threshold), the same for the band one
latent cell tall (the finest a 128 px plate can place a floor), and the artefact score.
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
    args = parser.parse_args(argv)
    from bench.__main__ import _hermetic_env

    _hermetic_env()
    import torch

    torch.set_num_threads(args.threads)
    arms = {"shipped, old prompt": ("adgen-tiny", False), "shipped": ("adgen-tiny", True),
            "candidate": (str(args.model), True)}
    if args.candidate_only:
        arms = {"candidate": arms["candidate"]}
    result = measure(arms, seeds=range(args.seeds))
    for name, row in result.items():
        print(f"{name}: plate under the base {row['mean_delta_l']:+.2f} L* (mean of {row['plates']}), "
              f"{row['darker_by_4']} at least 4 L* darker; one latent cell under it {row['cell_mean_delta_l']:+.2f} L*, "
              f"{row['cell_darker_by_4']} at least 4 L* darker; grid {row['grid_db']} dB, banding {row['banding_per_kpx']} /kpx")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


GROUNDING_WORDS = "product standing on a surface, contact shadow, "   # what prompts/backdrop.j2 adds


def measure(models: dict[str, tuple[str, bool]], seeds) -> dict:
    """models: arm name -> (model, whether the prompt keeps the grounding words)."""
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


def _cell_tall(bands, plate, canvas):
    """The same bands one latent cell tall (8 plate px at canvas scale): where the model can place a floor.

    The rule's band is 4 % of the product's height, a fraction of one of adgen-tiny's latent cells."""
    from adgen.geometry import Box

    cell = round(8 * max(canvas.width / plate.width, canvas.height / plate.height))
    under, beside = bands
    tall = lambda b: Box(b.left, b.top, b.right, b.top + cell).clamp_to(canvas)  # noqa: E731
    return tall(under), tuple(tall(b) for b in beside)
