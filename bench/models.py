"""Real SD 1.5 / SDXL / SD-Turbo architectures from the configs in bench/configs, random weights.

Compute cost does not depend on weight values, so nothing is downloaded: the published
config values build the same modules. `scaled()` shrinks widths (and the resolution) by a
whole factor for machines that cannot run the real sizes; block types, depths, head
counts and the text-encoder stack stay as published, so the op mix is the real one.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"
TOKENIZER_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "tokenizer"
MODELS = ("sd15", "sdxl", "sd-turbo")

# Preset sizes: width divisor and output side in px. "full" is the published model. 8 is
# the largest divisor that keeps every head width whole for all three (SDXL: 5 heads at 320).
SIZES = {
    "full": (1, None),
    "mid": (4, 128),
    "tiny": (8, 64),
}


@dataclass(frozen=True)
class ModelSpec:
    """One benchmarkable model: its component configs, at one size."""

    name: str          # sd15 | sdxl | sd-turbo
    size: str          # full | mid | tiny
    config: dict       # the (scaled) config document
    resolution: int    # output side, px

    @property
    def steps(self) -> int:
        return int(self.config["steps"])

    @property
    def guidance(self) -> float:
        return float(self.config["guidance"])

    @property
    def is_sdxl(self) -> bool:
        return self.config["pipeline"] == "StableDiffusionXLPipeline"

    @property
    def label(self) -> str:
        return f"{self.name}/{self.size}@{self.resolution}px"


def model_spec(name: str, size: str = "full", resolution: int | None = None) -> ModelSpec:
    """The spec for a model at a preset size; resolution overrides the preset's side."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {MODELS}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose from {tuple(SIZES)}")
    config = json.loads((CONFIG_DIR / f"{name}.json").read_text())
    divisor, side = SIZES[size]
    if divisor > 1:
        config = scaled(config, divisor)
    return ModelSpec(name, size, config, resolution or side or int(config["resolution"]))


def scaled(config: dict, divisor: int) -> dict:
    """The config with every width divided by `divisor` (depths and head counts kept)."""
    config = copy.deepcopy(config)
    unet, vae = config["unet"], config["vae"]
    unet["block_out_channels"] = [c // divisor for c in unet["block_out_channels"]]
    unet["cross_attention_dim"] //= divisor
    unet["norm_num_groups"] = _groups(unet["block_out_channels"], unet["norm_num_groups"])
    if "addition_time_embed_dim" in unet:
        unet["addition_time_embed_dim"] //= divisor
        unet["projection_class_embeddings_input_dim"] //= divisor
    vae["block_out_channels"] = [c // divisor for c in vae["block_out_channels"]]
    vae["norm_num_groups"] = _groups(vae["block_out_channels"], vae["norm_num_groups"])
    for encoder in config["text_encoders"]:
        for key in ("hidden_size", "intermediate_size", "projection_dim"):
            encoder[key] //= divisor
    return config


def _groups(channels: list[int], wanted: int) -> int:
    # GroupNorm needs every width divisible by the group count.
    common = math.gcd(*channels)
    return max(g for g in range(1, wanted + 1) if common % g == 0)


def build_pipeline(spec: ModelSpec, *, device: str = "cpu", dtype=None, seed: int = 0):
    """A diffusers pipeline of `spec` with seeded random weights on `device` ("meta": no memory)."""
    import torch
    import diffusers
    import transformers
    from transformers import CLIPTokenizer

    dtype = dtype or torch.float32
    torch.manual_seed(seed)
    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER_DIR)
    # Build on the target device directly: the real SDXL UNet is 2.6 G parameters and
    # would not fit twice in CPU memory on a small host.
    with torch.device(device):
        unet = diffusers.UNet2DConditionModel(**spec.config["unet"])
        vae = diffusers.AutoencoderKL(**spec.config["vae"])
        encoders = []
        for params in spec.config["text_encoders"]:
            params = dict(params)
            cls = getattr(transformers, params.pop("class"))
            encoders.append(cls(transformers.CLIPTextConfig(
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id, **params)))
    for module in (unet, vae, *encoders):
        module.to(dtype=dtype).eval()
    scheduler_params = dict(spec.config["scheduler"])
    scheduler = getattr(diffusers, scheduler_params.pop("class"))(**scheduler_params)
    if spec.is_sdxl:
        pipe = diffusers.StableDiffusionXLPipeline(
            vae=vae, text_encoder=encoders[0], text_encoder_2=encoders[1], tokenizer=tokenizer,
            tokenizer_2=tokenizer, unet=unet, scheduler=scheduler)
    else:
        pipe = diffusers.StableDiffusionPipeline(
            vae=vae, text_encoder=encoders[0], tokenizer=tokenizer, unet=unet, scheduler=scheduler,
            safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def parameter_count(pipe) -> dict[str, int]:
    """Parameters per component (works on meta pipelines)."""
    names = ("unet", "vae", "text_encoder", "text_encoder_2")
    return {name: sum(p.numel() for p in getattr(pipe, name).parameters())
            for name in names if getattr(pipe, name, None) is not None}
