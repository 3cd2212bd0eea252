"""Train each bundled brand's adapter on its photo-like style set (brand_kits/<id>/photos/) on
adgen-tiny and measure it: palette distance (CIEDE2000) and stray-text rate of held-out plates
without an adapter, with the shipped adapter (trained on the flat style/ backdrops) and with the
new one; and the CPU time per training step on adgen-tiny and on the tiny SD 1.5 / SDXL test bases.

    PYTHONPATH=. python -m bench.lora_style_sets --out /tmp/lora-photos [--steps 400] [--json out.json]

Stray text is counted as `background.stray-text` counts it: full OCR detection on the plate,
lines of at least min_chars with a score of at least min_score (the thresholds file's defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

BRANDS = ("northwind", "sakura")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="Folder for the trained adapters.")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--brands", default=",".join(BRANDS))
    parser.add_argument("--skip-tiny", action="store_true", help="Leave out the tiny-base step times.")
    # One thread: on a shared 2-core host, two OpenMP threads stall at every barrier a descheduled
    # thread holds up (measured 30x slower per step under a load of 15).
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    results = {"threads": args.threads, "load_average_at_start": os.getloadavg(),
               "tiny_bases": {} if args.skip_tiny else _tiny_base_step_times(args.threads), "brands": {}}
    print(json.dumps(results["tiny_bases"]), flush=True)
    for brand in args.brands.split(","):
        results["brands"][brand] = _brand(brand, args.out / brand, args.steps, tuple(range(args.seeds)), args.threads)
        print(json.dumps({brand: {k: v for k, v in results["brands"][brand].items() if k != "plates"}}), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


def _brand(brand: str, out: Path, steps: int, seeds: tuple[int, ...], threads: int) -> dict:
    from adgen.adapters import AdapterRef
    from adgen.brand import load_brand
    from adgen.generation import load_pipeline, model_fingerprint
    from adgen.training.lora import LoraTrainConfig, train_brand_adapter

    kit = load_brand(brand)
    pipe = load_pipeline("adgen-tiny")
    times: list[float] = []
    config = replace(LoraTrainConfig(), steps=steps, checkpoint_every=0, threads=threads)
    started = time.time()
    folder = train_brand_adapter(kit, pipe, out, config=config, base_model_sha256=model_fingerprint("adgen-tiny"),
                                 on_step=lambda step, total, loss: times.append(time.time()), progress=False)
    total = time.time() - started
    info = json.loads((folder / "adapter.json").read_text())
    per_step = float(np.median(np.diff(times)))
    shipped = AdapterRef(brand, kit.adapter_path, weight=kit.adapter.weight, trigger=kit.adapter.trigger)
    new = AdapterRef(f"{brand}-photos", folder, weight=kit.adapter.weight, trigger=kit.adapter.trigger)
    plates = _plates(pipe, kit.palette, {"none": None, "shipped (style/)": shipped, "photos": new}, seeds)
    summary = {arm: {"delta_e00": round(float(np.mean([p[arm]["delta_e00"] for p in plates])), 2),
                     "stray_text_rate": round(float(np.mean([p[arm]["stray_text"] for p in plates])), 3),
                     "max_stroke_share": round(float(max(p[arm]["stroke_share"] for p in plates)), 3)}
               for arm in ("none", "shipped (style/)", "photos")}
    closer = sum(p["photos"]["delta_e00"] < p["none"]["delta_e00"] for p in plates)
    return {"images": len(info["data"]), "lint": info["lint"], "buckets": info["buckets"], "steps": steps,
            "train_seconds_total": round(total, 1), "seconds_per_step": round(per_step, 3),
            "final_loss": info["final_loss"], "arms": summary, "plates_closer_than_none": f"{closer} of {len(plates)}",
            "plates": plates}


def _plates(pipe, palette: dict, arms: dict, seeds: tuple[int, ...]) -> list[dict]:

    from adgen.adapters import activate_adapter
    from adgen.compliance.ocr_rules import detect_scaled
    from adgen.compliance.thresholds import threshold
    from adgen.plate_guide import render_plain
    from adgen.training.lora_eval import HELD_OUT_PROMPTS, palette_distance, stroke_share

    min_score = threshold("background.stray-text.min_score", format_id="ig-square", locale="en-US")
    min_chars = threshold("background.stray-text.min_chars", format_id="ig-square", locale="en-US")
    trigger = next(ref.trigger for ref in arms.values() if ref is not None)
    rows = []
    for prompt in HELD_OUT_PROMPTS:
        text = f"{trigger}, {prompt}"  # the same prompt in every arm: only the adapter differs
        for seed in seeds:
            row = {"prompt": prompt, "seed": seed}
            for arm, ref in arms.items():
                activate_adapter(pipe, ref)
                plate = render_plain(pipe, [text], seeds=[seed], steps=20, guidance=5.0)[0]
                lines = [line for line in detect_scaled(plate, min_score)
                         if len("".join(line.text.split())) >= min_chars]
                row[arm] = {"delta_e00": round(palette_distance(plate, palette), 2),
                            "stray_text": int(bool(lines)), "stroke_share": round(stroke_share(plate), 3)}
            rows.append(row)
    activate_adapter(pipe, None)
    return rows


def _tiny_base_step_times(threads: int, steps: int = 20) -> dict:
    """Seconds per step (median) on the tiny SD 1.5 / SDXL test pipelines (64 px), 6 photos, batch 2."""
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from tiny_pipelines import build_sd15, build_sdxl

    from adgen.training.lora import LoraTrainConfig, train_lora
    from adgen.training.style_photos import render_photo_set

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "photos"
        render_photo_set({"navy": "#1B2A41", "amber": "#F2A541", "cream": "#F7F3E9"}, images, trigger="x style",
                         count=6, seed=3, sizes=((96, 64), (64, 96), (80, 80), (112, 64), (64, 80), (72, 72)))
        config = LoraTrainConfig(rank=4, alpha=4.0, steps=steps, batch=2, min_images=4, checkpoint_every=0,
                                 ocr=False, product_check=False, threads=threads)
        for label, build in (("tiny-sd15", build_sd15), ("tiny-sdxl", build_sdxl)):
            times: list[float] = []
            train_lora(build(seed=0), images, Path(tmp) / label, name="x", trigger="x style", config=config,
                       on_step=lambda step, total, loss: times.append(time.time()), progress=False)
            out[label] = {"seconds_per_step": round(float(np.median(np.diff(times))), 4), "batch": 2,
                          "resolution": 64}
    return out


if __name__ == "__main__":
    main()
