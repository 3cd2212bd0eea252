"""LoRA training throughput on a real-size random-weight base: steps/s, peak memory, time per epoch.

    python -m bench.train_lora --model sdxl --size full --resolution 1024 --rank 16 --steps 500 --device cuda
    python -m bench.train_lora --model sdxl --size tiny --steps 4 --device cpu      # the dry run's size

The base comes from bench/configs (bench.models.build_pipeline: published architectures, seeded
random weights: compute does not depend on weight values); the images are a procedural set
(adgen.training.style_photos) at mixed sizes around the resolution, so the aspect-ratio buckets,
the linter and the caption paths all run as they do for a brand. The whole of adgen's
`train_lora` runs: lint, encode, train, save. Figures: setup seconds (lint + VAE/text encode),
steps/s over the steps after the first `--warmup`, peak CUDA memory, time per epoch.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

# Aspects of the procedural set, as (width, height) per 1024 px of resolution.
ASPECTS = ((1024, 1024), (1152, 896), (896, 1152), (1216, 832), (832, 1216), (1344, 768))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="LoRA training throughput on a random-weight base.")
    parser.add_argument("--model", default="sdxl", choices=("sd15", "sdxl"))
    parser.add_argument("--size", default="full", choices=("full", "mid", "tiny"))
    parser.add_argument("--resolution", type=int, default=None, help="Training side px (default the spec's).")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--images", type=int, default=24, help="Procedural images in the set.")
    parser.add_argument("--warmup", type=int, default=5, help="Steps left out of steps/s (compilation, caches).")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default).")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


def run(args) -> dict:
    import numpy as np
    import torch

    from adgen.training.lora import LoraTrainConfig, train_lora
    from adgen.training.lora_data import batches_per_epoch, bucket_sizes, latent_stride, nearest_bucket
    from adgen.training.style_photos import render_photo_set
    from bench.models import build_pipeline, model_spec

    if args.threads:
        torch.set_num_threads(args.threads)
    spec = model_spec(args.model, args.size, args.resolution)
    cuda = args.device.startswith("cuda")
    dtype = torch.bfloat16 if cuda else torch.float32
    started = time.time()
    pipe = build_pipeline(spec, device=args.device, dtype=dtype, seed=0)
    build_seconds = time.time() - started
    scale = spec.resolution / 1024
    sizes = tuple((max(32, round(w * scale)), max(32, round(h * scale))) for w, h in ASPECTS)
    config = LoraTrainConfig(rank=args.rank, alpha=float(args.rank), steps=args.steps, batch=args.batch, lr=1e-4,
                             resolution=spec.resolution, min_images=min(12, args.images),
                             gradient_checkpointing=args.gradient_checkpointing,
                             checkpoint_every=args.checkpoint_every, threads=torch.get_num_threads())
    stamps: list[float] = []
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "images"
        render_photo_set({"navy": "#1B2A41", "amber": "#F2A541", "cream": "#F7F3E9", "white": "#FFFFFF"}, images,
                         trigger="bench style", count=args.images, seed=7, sizes=sizes)
        begun = time.time()
        folder = train_lora(pipe, images, Path(tmp) / "adapter", name="bench", trigger="bench style",
                            config=config, base_model_sha256="random-weights", progress=False,
                            on_step=lambda step, total, loss: stamps.append(time.time()))
        total_seconds = time.time() - begun
        info = json.loads((folder / "adapter.json").read_text())
        used = [e["size"] for e in json.loads((folder / "lint-report.json").read_text())["entries"] if e["used"]]
        weights_mb = sum(p.stat().st_size for p in folder.glob("*.safetensors")) / 2**20
    buckets = bucket_sizes(spec.resolution, latent_stride(pipe))
    bucket_of = [buckets.index(nearest_bucket(tuple(size), buckets)) for size in used]
    per_epoch = batches_per_epoch(bucket_of * (2 if config.mirror else 1), args.batch)  # mirrors: one item each
    gaps = np.diff(stamps[args.warmup:]) if len(stamps) > args.warmup + 1 else np.diff(stamps)
    step_seconds = float(np.mean(gaps)) if len(gaps) else float("nan")
    return {
        "bench": "lora-train", "model": spec.label, "device": _device_name(args.device), "dtype": str(dtype),
        "host": platform.node(), "torch": torch.__version__, "rank": args.rank, "batch": args.batch,
        "steps": args.steps, "images": args.images, "mirror": config.mirror,
        "gradient_checkpointing": args.gradient_checkpointing, "optimizer": info["optimizer"],
        "precision": info["precision"], "unet_parameters": sum(p.numel() for p in pipe.unet.parameters()),
        "build_seconds": round(build_seconds, 1),
        "setup_seconds": round(stamps[0] - begun, 1) if stamps else None,  # lint + encode + first step
        "steps_per_second": round(1 / step_seconds, 3), "seconds_per_step": round(step_seconds, 4),
        "batches_per_epoch": per_epoch, "seconds_per_epoch": round(per_epoch * step_seconds, 1),
        "total_seconds": round(total_seconds, 1),
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if args.device.startswith("cuda") else None,
        "adapter_mib": round(weights_mb, 2), "final_loss": info["final_loss"], "buckets": info["buckets"],
        "lint": info["lint"],
    }


def _device_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else device


if __name__ == "__main__":
    main()
