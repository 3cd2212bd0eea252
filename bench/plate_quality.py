"""python -m bench plate_quality: the upscale artefact score of the demo's plates, fitted before and after.

    python -m bench plate_quality [--model adgen-tiny] [--steps N] [--save DIR] [--json F]

For every laid-out demo asset (examples/demo.yaml; marketplace formats are plain white and left
out): its plate generated with the plan as `run()` makes it, then fitted to the format the old way
(ImageOps.fit with Lanczos on the 8-bit plate) and with adgen.plate_quality.fit_plate, and
scored by artefact_score (grid dB at the plate's pixel pitch and latent cell; band steps per
1,000 smooth px). --save writes both fits of every plate as PNG, to look at them at full size.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench plate_quality")
    parser.add_argument("--model", default="adgen-tiny")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    from bench.__main__ import _hermetic_env

    _hermetic_env()
    import torch

    torch.set_num_threads(args.threads)
    rows = measure(model=args.model, steps=args.steps, save=args.save)
    for row in rows:
        print(f"{row['asset']:<34} {row['plate']:>9} -> {row['canvas']:>9}  grid {row['before']['grid_db']:5.1f} -> "
              f"{row['after']['grid_db']:5.1f} dB   banding {row['before']['banding_per_kpx']:5.1f} -> "
              f"{row['after']['banding_per_kpx']:5.1f} /kpx", flush=True)
    summary = {arm: {key: round(statistics.mean(r[arm][key] for r in rows), 2) for key in ("grid_db", "banding_per_kpx")}
               for arm in ("before", "after")}
    print(f"mean over {len(rows)} plates: before {summary['before']}, after {summary['after']}")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "plates": rows, "mean": summary}, indent=1) + "\n")


def demo_requests(model: str, steps: int | None):
    """The demo's laid-out requests, resolved as `adgen demo` resolves them (seed 0)."""
    import yaml

    from adgen.request import AssetRequest, resolve
    from adgen.settings import examples_dir
    from adgen.spec import load_product

    demo = yaml.safe_load((examples_dir() / "demo.yaml").read_text(encoding="utf-8"))
    for entry in demo["runs"]:
        product = load_product(examples_dir() / entry["product"])
        for format_id in entry["formats"]:
            resolved = resolve(AssetRequest(product=product, brand=entry["brand"], format=format_id, model=model,
                                            steps=steps, seed=0))
            if not resolved.format.marketplace:
                yield f"{product.sku} {format_id}", resolved


def measure(*, model: str, steps: int | None, save: Path | None) -> list[dict]:
    from PIL import Image, ImageOps

    from adgen.generation import generate
    from adgen.plan import plan
    from adgen.plate_quality import artefact_score, fit_plate
    from adgen.prompt import build_prompt

    rows = []
    for name, resolved in demo_requests(model, steps):
        plate = generate(build_prompt(resolved), resolved, plan(resolved))
        size = resolved.format.size.as_tuple()
        before = ImageOps.fit(plate, size, Image.Resampling.LANCZOS)
        after = fit_plate(plate, size)
        rows.append({"asset": name, "plate": f"{plate.width}x{plate.height}", "canvas": f"{size[0]}x{size[1]}",
                     "before": artefact_score(before, plate.size).as_dict(),
                     "after": artefact_score(after, plate.size).as_dict()})
        if save:
            save.mkdir(parents=True, exist_ok=True)
            stem = name.replace(" ", "_")
            before.save(save / f"{stem}-before.png")
            after.save(save / f"{stem}-after.png")
            plate.save(save / f"{stem}-plate.png")
    return rows
