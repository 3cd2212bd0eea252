"""Model FLOPs per image, counted on meta tensors (no memory, no compute), and the peak they
are measured against."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.models import ModelSpec, build_pipeline

# Dense bf16/fp16 tensor-core peaks (vendor datasheets, no sparsity), FLOP/s.
GPU_PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12, "L4": 121e12}


@dataclass(frozen=True)
class ImageFlops:
    """FLOPs for one image: text encoding, all denoising steps, VAE decode."""

    text: float
    unet_step: float     # one UNet call for one image (both CFG halves when guided)
    vae: float
    steps: int

    @property
    def total(self) -> float:
        return self.text + self.unet_step * self.steps + self.vae


def image_flops(spec: ModelSpec, *, steps: int | None = None, guided: bool | None = None) -> ImageFlops:
    """Count FLOPs of one image of `spec` with FlopCounterMode on a meta-device pipeline."""
    import torch

    steps = spec.steps if steps is None else steps
    guided = spec.guidance > 1.0 if guided is None else guided
    copies = 2 if guided else 1
    pipe = build_pipeline(spec, device="meta")
    side = spec.resolution // 8
    meta = dict(device="meta")
    with torch.inference_mode():
        tokens = torch.zeros(copies, 77, dtype=torch.long, **meta)
        text = _count(lambda: pipe.text_encoder(tokens))
        if spec.is_sdxl:
            text += _count(lambda: pipe.text_encoder_2(tokens))
        unet_config = pipe.unet.config
        sample = torch.zeros(copies, unet_config.in_channels, side, side, **meta)   # 9 for inpainting UNets
        context = torch.zeros(copies, 77, unet_config.cross_attention_dim, **meta)
        extra = {}
        if spec.is_sdxl:
            pooled = spec.config["text_encoders"][1]["projection_dim"]
            extra = {"added_cond_kwargs": {"text_embeds": torch.zeros(copies, pooled, **meta),
                                           "time_ids": torch.zeros(copies, 6, **meta)}}
        timestep = torch.zeros(copies, **meta)
        unet = _count(lambda: pipe.unet(sample, timestep, encoder_hidden_states=context, **extra))
        latents = torch.zeros(1, 4, side, side, **meta)
        vae = _count(lambda: pipe.vae.decode(latents))
    return ImageFlops(text=text, unet_step=unet, vae=vae, steps=steps)


def _count(call) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        call()
    return float(counter.get_total_flops())


def peak_flops(device: str) -> tuple[float, str]:
    """The FLOP/s that utilisation is measured against, and where the figure comes from.

    GPUs: the datasheet dense peak for the chip's dtype. CPUs have no useful datasheet
    figure for a shared host, so this measures a large fp32 matmul now (best of three):
    MFU on CPU then reads "fraction of what this host's matmul reaches".
    """
    import torch

    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
        for key, peak in GPU_PEAKS.items():
            if key in name:
                return peak, f"{key} dense bf16 datasheet"
        return float("nan"), f"unknown GPU {name}"
    n = 512
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(8):
            a @ b
        best = min(best, (time.perf_counter() - start) / 8)
    return 2 * n ** 3 / best, f"fp32 {n}x{n} matmul measured on this host"
