"""python -m bench copy_space: scrims and contrast fixes per 100 assets, with the plan and without it.

    python -m bench copy_space [--seeds 5] [--steps 10] [--formats ig-square,story,fb-link,ig-portrait,iab-300x250]
                               [--out DIR] [--json F]

The four bundled example products (examples/products/*.yaml), each for its brand in every
format and seed: the whole `run()` (compose, check, the contrast fix, export) once with the
plate generated around the plan and once with the plate made without it (the plan is still
computed, the generator is not given it), on the same seed. Counted from the exported reports
as `python -m bench grounding` counts them (bench.grounding.copy_space_counts): text layers on a
scrim (buttons excluded) and recolour-or-scrim fixes applied, per 100 assets; and the generate
step's time per asset in each arm.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

PRODUCTS = ("northwind-cold-brew", "northwind-trail-flask", "sakura-matcha", "sakura-jasmine-zh")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench copy_space")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--formats", default="ig-square,story,fb-link,ig-portrait,iab-300x250")
    parser.add_argument("--model", default="adgen-tiny")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    from bench.__main__ import _hermetic_env

    _hermetic_env()
    import torch

    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix="adgen-copy-space-"))
    result = measure(out, formats=args.formats.split(","), seeds=range(args.seeds), steps=args.steps, model=args.model)
    for arm, counts in result.items():
        print(f"{arm}: {counts['assets']} assets, scrims {counts['scrims_per_100']} per 100, contrast fixes "
              f"{counts['contrast_fixes_per_100']} per 100, generate {counts['generate_ms_median']:.0f} ms median")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


def measure(out: Path, *, formats: list[str], seeds, steps: int, model: str) -> dict:
    from adgen.generation import generate
    from adgen.pipeline import run
    from adgen.request import AssetRequest
    from adgen.settings import examples_dir
    from adgen.spec import load_product
    from bench.grounding import _assets, copy_space_counts

    arms = {"without_plan": lambda prompt, resolved, layout: generate(prompt, resolved, None),
            "with_plan": generate}
    timings: dict[str, list[float]] = {arm: [] for arm in arms}
    for name in PRODUCTS:
        product = load_product(examples_dir() / "products" / f"{name}.yaml")
        for format_id in formats:
            for seed in seeds:
                for arm, make_plate in arms.items():
                    request = AssetRequest(product=product, brand=name.split("-")[0], format=format_id,
                                           model=model, steps=steps, seed=seed)
                    result = run(request, out / arm / f"seed{seed}", make_plate=make_plate)
                    timings[arm].append(result.timings_ms.get("generate", 0.0))
    counts = {}
    for arm in arms:
        reports = [report for seed_dir in sorted((out / arm).iterdir()) for _, report in _assets(seed_dir).values()]
        counts[arm] = {**copy_space_counts(reports), "generate_ms_median": statistics.median(timings[arm])}
    return counts
