"""Generation speed-ups applied once to a loaded pipeline: accelerate(pipe, options) -> pipe.

Every optimisation is a switch in `Acceleration` (or an ADGEN_ACCEL_* variable). Defaults
are per device and come from `python -m bench` (docs/BENCHMARKS.md):
- CPU: nothing beyond diffusers' own SDPA attention. On the 2-core AVX2 host (no bf16
  instructions) bf16 ran ~2x slower than fp32, channels_last and fused QKV did not beat
  plain, and torch.compile costs minutes of compile for a small gain.
- CUDA: bf16 + SDPA + channels_last + fused QKV + torch.compile (CUDA graphs for one-step,
  Turbo-class models). Chosen from diffusers' published SDXL speed-up recipe; bench/gpu.sh
  measures each on the real sizes.
None of them changes the recipe: seeds still decide the noise (CPU generator), and the
bench reports PSNR of every optimised image against plain diffusers at the same seed.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, fields, replace

DTYPES = ("float32", "float16", "bfloat16")
COMPILE_MODES = ("auto", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class Acceleration:
    """Which optimisations to apply; `for_device` gives the measured defaults."""

    dtype: str | None = None          # cast the pipeline (None: keep the loaded dtype)
    sdpa: bool = True                 # PyTorch fused attention (AttnProcessor2_0) everywhere
    channels_last: bool = False       # NHWC memory format for the UNet and VAE convolutions
    fuse_qkv: bool = False            # one matmul for q, k and v (self-attention)
    compile: bool = False             # torch.compile the UNet and the VAE decoder
    compile_mode: str = "auto"        # auto: reduce-overhead (CUDA graphs) for one-step models
    lora_hotswap_rank: int = 0        # > 0: brand LoRAs up to this rank swap without a recompile
    # No CFG cut-off here: it changes pixels, so it would belong in the request and its recipe,
    # not in a process-wide switch. `stop_guidance_after` stays for the bench's cfg-cut arm.

    @classmethod
    def for_device(cls, device: str) -> "Acceleration":
        """Measured defaults for a device ("cpu", "cuda", "cuda:1", "mps")."""
        if device.startswith("cuda"):
            return cls(dtype="bfloat16", channels_last=True, fuse_qkv=True, compile=True,
                       lora_hotswap_rank=64)
        return cls()

    @classmethod
    def from_env(cls, device: str, environ: dict | None = None) -> "Acceleration":
        """Device defaults, overridden by ADGEN_ACCEL_<FIELD> (e.g. ADGEN_ACCEL_COMPILE=0)."""
        environ = os.environ if environ is None else environ
        options = cls.for_device(device)
        if environ.get("ADGEN_ACCEL", "1") == "0":
            return cls.off()
        changes = {}
        names = {f"ADGEN_ACCEL_{item.name.upper()}": item.name for item in fields(cls)}
        for variable, name in names.items():
            raw = environ.get(variable)
            if raw is not None:
                changes[name] = _parse(name, raw, getattr(options, name))
        unknown = sorted(v for v in environ if v.startswith("ADGEN_ACCEL_") and v not in names)
        if unknown:  # e.g. ADGEN_ACCEL_GUIDANCE_CUTOFF, which older docs named: say it does nothing
            warnings.warn(f"ignored: {', '.join(unknown)} (known: {', '.join(names)})", stacklevel=2)
        return replace(options, **changes)

    @classmethod
    def off(cls) -> "Acceleration":
        """Plain diffusers: nothing applied."""
        return cls(sdpa=False)

    def __post_init__(self):
        if self.dtype is not None and self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, not {self.dtype!r}")
        if self.compile_mode not in COMPILE_MODES:
            raise ValueError(f"compile_mode must be one of {COMPILE_MODES}, not {self.compile_mode!r}")


def accelerate(pipe, options: Acceleration, *, one_step: bool = False):
    """Apply `options` to a loaded SD/SDXL pipeline in place and return it.

    one_step: the model is Turbo-class (1-4 steps, no CFG); compile mode "auto" then uses
    CUDA graphs, which pay off when a step is too short to hide Python launch overhead.
    """
    import torch

    if options.dtype is not None:
        pipe.to(dtype=getattr(torch, options.dtype))
    if options.sdpa:
        _use_sdpa(pipe)
    if options.fuse_qkv:
        # Fused projections replace the attention processors; must come after _use_sdpa.
        pipe.fuse_qkv_projections(unet=True, vae=True)
    if options.channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if options.lora_hotswap_rank and hasattr(pipe, "enable_lora_hotswap"):
        # Must precede the first adapter load; later brands then replace weights in place
        # (load_lora_weights(..., hotswap=True)) and the compiled graph stays valid.
        pipe.enable_lora_hotswap(target_rank=options.lora_hotswap_rank, check_compiled="ignore")
    if options.compile:
        _compile(pipe, _compile_mode(options.compile_mode, one_step))
    return pipe


def stop_guidance_after(fraction: float, num_steps: int, *, sdxl: bool):
    """A callback_on_step_end that drops classifier-free guidance after `fraction` of the steps.

    Measured by `python -m bench` (the cfg-cut arm); adgen's own generation does not apply it.

    Late steps refine detail that the conditional branch alone carries; dropping the
    unconditional half halves their UNet batch. Pass the returned tensor inputs as
    callback_on_step_end_tensor_inputs.
    """
    cutoff = max(1, int(round(num_steps * fraction)))
    inputs = ["prompt_embeds", "add_text_embeds", "add_time_ids"] if sdxl else ["prompt_embeds"]

    def callback(pipe, step: int, timestep, tensors: dict) -> dict:
        if step + 1 == cutoff and pipe.do_classifier_free_guidance:
            # The pipelines stack [unconditional, conditional]; keep the conditional half.
            for name in inputs:
                tensors[name] = tensors[name].chunk(2)[-1]
            pipe._guidance_scale = 0.0
        return tensors

    return callback, inputs


def _use_sdpa(pipe) -> None:
    from diffusers.models.attention_processor import AttnProcessor2_0

    for name in ("unet", "vae"):
        module = getattr(pipe, name, None)
        if module is not None and hasattr(module, "set_attn_processor"):
            module.set_attn_processor(AttnProcessor2_0())


def _compile_mode(mode: str, one_step: bool) -> str:
    if mode != "auto":
        return mode
    return "reduce-overhead" if one_step else "max-autotune-no-cudagraphs"


def _compile(pipe, mode: str) -> None:
    import torch
    import torch._inductor.config as inductor

    # diffusers' SDXL speed-up guide: 1x1 convs as matmuls, coordinate-descent tuning, no
    # epilogue fusion (it blocks the matmul templates).
    inductor.conv_1x1_as_mm = True
    inductor.coordinate_descent_tuning = True
    inductor.epilogue_fusion = False
    inductor.coordinate_descent_check_all_directions = True
    # One graph per resolution bucket (fixed shapes); allow as many as the formats need.
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 32)
    pipe.unet = torch.compile(pipe.unet, mode=mode, fullgraph=True)
    pipe.vae.decode = torch.compile(pipe.vae.decode, mode=mode, fullgraph=True)


def _parse(name: str, raw: str, current):
    if name == "dtype":
        return None if raw.strip().lower() in ("", "none", "keep") else raw.strip()
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return type(current)(raw)
