"""python -m bench plan: plates generated around the plan against plates made without it.

    python -m bench plan [--formats ig-square,story] [--repeats 5] [--steps N] [--model adgen-tiny]

Per format, on the same seed: the time to generate one plate without the plan (as before) and
with it (the product's latents kept, the copy slots pulled toward the brand tone), interleaved
so that load on a shared host hits both arms alike, medians and their ratio (wall and this
process's CPU time, at one torch thread by default: the CPU time is the work done); and the plate's
detail under the copy (mean luminance gradient, px/px, and the tone's standard deviation, 0-255,
in the plan's copy boxes on the plate as compose fits it) without the plan, with the product
only (copy-space strength 0), and with the plan as shipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench plan")
    parser.add_argument("--formats", default="ig-square,story")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--model", default="adgen-tiny")
    parser.add_argument("--product", default="examples/products/northwind-cold-brew.yaml")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU time is the work done)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    from bench.__main__ import _hermetic_env

    _hermetic_env()
    import torch

    torch.set_num_threads(args.threads)
    results = [measure(fmt, model=args.model, product=args.product, steps=args.steps, repeats=args.repeats)
               for fmt in args.formats.split(",")]
    for result in results:
        print(f"[plan] {result['format']}: plate {result['plain_s']:.2f} s -> {result['planned_s']:.2f} s "
              f"with the plan (x{result['ratio']:.2f}; CPU {result['plain_cpu_s']:.2f} s -> {result['planned_cpu_s']:.2f} s, "
              f"x{result['cpu_ratio']:.2f}; medians of {result['repeats']}); copy-space gradient "
              f"{result['detail']['plain']['gradient']:.2f} / {result['detail']['product_only']['gradient']:.2f} / "
              f"{result['detail']['planned']['gradient']:.2f}, tone std {result['detail']['plain']['std']:.1f} / "
              f"{result['detail']['product_only']['std']:.1f} / {result['detail']['planned']['std']:.1f} "
              "(no plan / product only / plan)", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)


def measure(format_id: str, *, model: str, product: str, steps: int | None, repeats: int) -> dict:
    from pathlib import Path

    from adgen import plate_guide
    from adgen.generation import generate
    from adgen.plan import plan
    from adgen.prompt import build_prompt
    from adgen.request import AssetRequest, resolve
    from adgen.spec import load_product

    resolved = resolve(AssetRequest(product=load_product(Path(product)), brand="northwind", format=format_id,
                                    model=model, steps=steps))
    prompt, layout = build_prompt(resolved), plan(resolved)
    generate(prompt, resolved)  # warm: the model loads, the inpainting pipeline is built once
    generate(prompt, resolved, layout)
    plain_s, planned_s, plain_cpu, planned_cpu = [], [], [], []
    for _ in range(repeats):
        for arm, seconds, cpu in ((None, plain_s, plain_cpu), (layout, planned_s, planned_cpu)):
            # Wall time swings with the host's load; this process's CPU time is the work done.
            started, started_cpu = time.perf_counter(), time.process_time()
            plate = generate(prompt, resolved, arm)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            if arm is None:
                plain = plate
            else:
                planned = plate
    shipped = plate_guide.COPY_SPACE_STRENGTH
    plate_guide.COPY_SPACE_STRENGTH = 0.0   # the product kept, nothing asked of the copy space
    try:
        product_only = generate(prompt, resolved, layout)
    finally:
        plate_guide.COPY_SPACE_STRENGTH = shipped
    plain_median, planned_median = statistics.median(plain_s), statistics.median(planned_s)
    return {"format": format_id, "model": model, "steps": resolved.steps, "repeats": repeats,
            "plain_s": plain_median, "planned_s": planned_median, "ratio": planned_median / plain_median,
            "plain_cpu_s": statistics.median(plain_cpu), "planned_cpu_s": statistics.median(planned_cpu),
            "cpu_ratio": statistics.median(planned_cpu) / statistics.median(plain_cpu),
            "copy_space_strength": shipped,
            "detail": {name: copy_space_detail(image, layout) for name, image in
                       (("plain", plain), ("product_only", product_only), ("planned", planned))}}


def copy_space_detail(plate, layout) -> dict:
    """Mean luminance gradient (px/px) and tone std (0-255) in the copy boxes, on the plate as compose fits it."""
    from PIL import Image, ImageOps

    fitted = np.asarray(ImageOps.fit(plate, layout.canvas.as_tuple(), Image.Resampling.LANCZOS).convert("L"),
                        dtype=np.float32)
    gradients, stds = [], []
    for _, box in layout.copy_boxes:
        region = fitted[box.top:box.bottom, box.left:box.right]
        gy, gx = np.gradient(region)
        gradients.append(float(np.hypot(gx, gy).mean()))
        stds.append(float(region.std()))
    return {"gradient": round(statistics.mean(gradients), 3), "std": round(statistics.mean(stds), 2)}
