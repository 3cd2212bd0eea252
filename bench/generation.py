"""Generation timing: plain diffusers and adgen's accelerated path on the same weights, same
seeds, in the same run, interleaved so that load on a shared host hits both arms alike."""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass, field

from adgen.acceleration import Acceleration, accelerate, stop_guidance_after
from bench.flops import image_flops
from bench.models import ModelSpec, build_pipeline

PROMPT = "studio product photo of a ceramic mug on a wooden table, soft light"


@dataclass(frozen=True)
class Arm:
    """One way of running the same pipeline: a name, the options, and an optional CFG cut-off."""

    name: str
    options: Acceleration
    guidance_cutoff: float = 1.0


@dataclass
class ArmResult:
    name: str
    seconds: list[float] = field(default_factory=list)   # per call (whole batch), wall
    cpu_seconds: list[float] = field(default_factory=list)  # per call, this process's CPU time
    first_call_s: float = 0.0                             # warm-up: compile, autotune, caches
    psnr_db: float | None = None                          # vs the first arm's images, same seeds
    max_abs_diff: float | None = None                     # 0-255 scale


def run_arms(spec: ModelSpec, arms: list[Arm], *, device: str, batch: int = 1, steps: int | None = None,
             repeats: int = 3, base_dtype: str = "float32", time_budget_s: float | None = None) -> dict:
    """Time every arm on copies of one seeded pipeline; the first arm is the reference."""
    import torch

    steps = spec.steps if steps is None else steps
    base = build_pipeline(spec, device=device, dtype=getattr(torch, base_dtype))
    pipes = {}
    for arm in arms:
        pipe = copy.deepcopy(base)
        pipes[arm.name] = accelerate(pipe, arm.options, one_step=steps == 1)
    del base
    results = {arm.name: ArmResult(arm.name) for arm in arms}
    images = {}
    for arm in arms:  # warm-up, and the images the quality comparison uses
        start = time.perf_counter()
        images[arm.name] = _call(pipes[arm.name], spec, arm, batch, steps, device)
        results[arm.name].first_call_s = time.perf_counter() - start
    started = time.perf_counter()
    for _ in range(repeats):
        for arm in arms:
            start, cpu_start = time.perf_counter(), time.process_time()
            _call(pipes[arm.name], spec, arm, batch, steps, device)
            results[arm.name].seconds.append(time.perf_counter() - start)
            results[arm.name].cpu_seconds.append(time.process_time() - cpu_start)
        if time_budget_s and time.perf_counter() - started > time_budget_s:
            break
    reference = images[arms[0].name]
    for arm in arms[1:]:
        results[arm.name].psnr_db, results[arm.name].max_abs_diff = _compare(reference, images[arm.name])
    flops = image_flops(spec, steps=steps)
    return _summary(spec, arms, results, flops, batch=batch, steps=steps, device=device)


def _call(pipe, spec: ModelSpec, arm: Arm, batch: int, steps: int, device: str):
    import torch

    # One CPU generator per item, seeded by the item alone: the adgen reproducibility rule.
    generators = [torch.Generator("cpu").manual_seed(1000 + i) for i in range(batch)]
    kwargs = {}
    if arm.guidance_cutoff < 1.0 and spec.guidance > 1.0:
        callback, inputs = stop_guidance_after(arm.guidance_cutoff, steps, sdxl=spec.is_sdxl)
        kwargs = {"callback_on_step_end": callback, "callback_on_step_end_tensor_inputs": inputs}
    with torch.inference_mode():
        out = pipe(prompt=[PROMPT] * batch, num_inference_steps=steps, guidance_scale=spec.guidance,
                   height=spec.resolution, width=spec.resolution, generator=generators,
                   output_type="np", **kwargs).images
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return out


def _compare(reference, other) -> tuple[float, float]:
    import numpy as np

    a = np.clip(np.asarray(reference, dtype=np.float64) * 255, 0, 255).round()
    b = np.clip(np.nan_to_num(np.asarray(other, dtype=np.float64)) * 255, 0, 255).round()
    mse = float(((a - b) ** 2).mean())
    psnr = float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)
    return round(psnr, 2), float(np.abs(a - b).max())


def _summary(spec, arms, results, flops, *, batch, steps, device) -> dict:
    from bench.flops import peak_flops

    peak, peak_source = peak_flops(device)
    rows = []
    reference_s = reference_cpu = None
    for arm in arms:
        result = results[arm.name]
        per_image = statistics.median(result.seconds) / batch
        cpu_per_image = statistics.median(result.cpu_seconds) / batch
        reference_s, reference_cpu = reference_s or per_image, reference_cpu or cpu_per_image
        flop_per_image = image_flops_for(flops, spec, arm, steps)
        rows.append({
            "arm": arm.name, "s_per_image": round(per_image, 4), "images_per_s": round(1 / per_image, 3),
            "speedup_vs_first": round(reference_s / per_image, 3),
            # On a shared CPU host, wall time mostly measures the neighbours; CPU time spent
            # by this process is the steadier basis for a ratio.
            "cpu_s_per_image": round(cpu_per_image, 4),
            "cpu_speedup_vs_first": round(reference_cpu / cpu_per_image, 3),
            "mfu": round(flop_per_image / per_image / peak, 4), "first_call_s": round(result.first_call_s, 2),
            "runs": len(result.seconds), "spread_s": [round(s, 3) for s in sorted(result.seconds)],
            "psnr_db_vs_first": result.psnr_db, "max_abs_diff_vs_first": result.max_abs_diff,
            "options": {k: v for k, v in arm.options.__dict__.items()}, "guidance_cutoff": arm.guidance_cutoff,
        })
    return {"model": spec.label, "device": device, "batch": batch, "steps": steps,
            "resolution": spec.resolution, "tflop_per_image": round(flops.total / 1e12, 4),
            "peak_flops": peak, "peak_source": peak_source, "arms": rows}


def image_flops_for(flops, spec: ModelSpec, arm: Arm, steps: int) -> float:
    """FLOPs per image for an arm: a CFG cut-off runs the late steps on half the batch."""
    if arm.guidance_cutoff >= 1.0 or spec.guidance <= 1.0:
        return flops.total
    guided = max(1, int(round(steps * arm.guidance_cutoff)))
    return flops.text + flops.vae + flops.unet_step * (guided + (steps - guided) / 2)
