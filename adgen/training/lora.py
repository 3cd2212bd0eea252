"""Train a brand LoRA adapter (peft) on the UNet of an SD 1.5-class pipeline.

`train_lora(pipe, style_dir, out_dir, ...)` lints the style set (count, size, near
duplicates, captions), trains rank-r LoRA on the UNet's attention and feed-forward layers
with the text encoder and VAE frozen, and writes `out_dir/<name>.safetensors` (diffusers
LoRA format, with the peft adapter config embedded so alpha/rank survive a reload) plus
`out_dir/adapter.json` (base model hash, rank, alpha, steps, data hashes, trigger words).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from adgen.adapters import ADAPTER_INFO_FILE, file_sha256
from adgen.errors import InputError, NotFoundError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class LoraTrainConfig:
    """Rank, steps and data limits of one adapter training run."""

    rank: int = 8
    alpha: float = 8.0  # alpha == rank: scale 1, and loaders that ignore alpha agree
    steps: int = 300
    batch: int = 8
    lr: float = 1e-3
    seed: int = 0
    target_modules: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2")
    min_images: int = 12
    min_side_px: int = 64
    # Mean absolute difference (0-255) of 32x32 thumbnails under which two images count as
    # the same picture: duplicates over-weight one look and hide how small the set is.
    near_duplicate_mad: float = 2.0
    threads: int = 2


@dataclass(frozen=True)
class StyleExample:
    """One linted training image and the caption it trains with."""

    path: Path
    caption: str
    sha256: str


def lint_style_set(style_dir: Path, *, fallback_caption: str, config: LoraTrainConfig = LoraTrainConfig()
                   ) -> tuple[list[StyleExample], list[str]]:
    """Check a style folder; return its examples and warnings. Raises InputError naming the
    file for a set that cannot train: too few images, an image too small or unreadable,
    near-duplicates. A missing .txt caption is a warning and uses `fallback_caption`."""
    style_dir = Path(style_dir)
    if not style_dir.is_dir():
        raise NotFoundError("style image folder not found", file=str(style_dir))
    paths = sorted(p for p in style_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(paths) < config.min_images:
        raise InputError(f"too few style images: {len(paths)}, need at least {config.min_images}",
                         file=str(style_dir), value=len(paths))
    examples, warnings, thumbs = [], [], []
    for path in paths:
        try:
            with Image.open(path) as img:
                img.load()
                size = img.size
                thumbs.append(np.asarray(img.convert("RGB").resize((32, 32), Image.BILINEAR), np.float32))
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(f"cannot read style image: {exc}", file=str(path)) from None
        if min(size) < config.min_side_px:
            raise InputError(f"style image too small: {size[0]}x{size[1]} px, need at least "
                             f"{config.min_side_px} px on the short side", file=str(path), value=size)
        caption_path = path.with_suffix(".txt")
        if caption_path.is_file() and caption_path.read_text().strip():
            caption = caption_path.read_text().strip()
        else:
            caption = fallback_caption
            warnings.append(f"{path}: no caption file {caption_path.name}; using the brand caption "
                            f"{fallback_caption!r}")
        examples.append(StyleExample(path, caption, file_sha256(path)))
    _check_near_duplicates(paths, np.stack(thumbs), config.near_duplicate_mad)
    return examples, warnings


def train_lora(pipe, style_dir: Path, out_dir: Path, *, name: str, trigger: str, fallback_caption: str = "",
               config: LoraTrainConfig = LoraTrainConfig(), base_model_sha256: str = "unknown") -> Path:
    """Train adapter `name` on the images in `style_dir` for `pipe` (SD 1.5-class: UNet +
    one text encoder); write it to `out_dir` and return the .safetensors path. The pipeline
    keeps any adapters it had loaded, with none active: call activate_adapter next."""
    import torch
    from diffusers import DDPMScheduler, StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    if getattr(pipe, "text_encoder_2", None) is not None:
        raise InputError("LoRA training supports SD 1.5-class pipelines (one text encoder); "
                         "SDXL adapters load and switch but are trained elsewhere", field="model")
    examples, warnings = lint_style_set(style_dir, fallback_caption=fallback_caption or trigger, config=config)
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    started = time.time()
    latents, embeddings = _encode_examples(pipe, examples)
    unet = pipe.unet
    lora_config = LoraConfig(r=config.rank, lora_alpha=config.alpha, init_lora_weights="gaussian",
                             target_modules=list(config.target_modules))
    unet.add_adapter(lora_config, adapter_name=name)
    # Only the new adapter may be active while it trains: other brands may be loaded, and a
    # pipeline left with LoRA disabled (activate_adapter(pipe, None)) would train nothing.
    unet.set_adapter(name)
    unet.enable_adapters()
    try:
        losses = _fit(unet, DDPMScheduler.from_config(pipe.scheduler.config), latents, embeddings, config)
        layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet, adapter_name=name))
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        weight_name = f"{name}.safetensors"
        StableDiffusionPipeline.save_lora_weights(
            out_dir, unet_lora_layers=layers, weight_name=weight_name,
            unet_lora_adapter_metadata=lora_config.to_dict())
    finally:
        unet.delete_adapters(name)
    info = {
        "name": name, "trigger": trigger, "base_model_sha256": base_model_sha256,
        "rank": config.rank, "alpha": config.alpha, "steps": config.steps, "batch": config.batch,
        "lr": config.lr, "seed": config.seed, "target_modules": list(config.target_modules),
        "final_loss": round(float(np.mean(losses[-20:])), 5), "train_seconds": round(time.time() - started, 1),
        "weights_sha256": file_sha256(out_dir / weight_name),
        "data": [{"file": e.path.name, "sha256": e.sha256, "caption": e.caption} for e in examples],
        "lint_warnings": warnings, "config": {k: list(v) if isinstance(v, tuple) else v
                                              for k, v in asdict(config).items()},
    }
    (out_dir / ADAPTER_INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return out_dir / weight_name


def train_brand_adapter(kit, pipe, out_root: Path, *, config: LoraTrainConfig = LoraTrainConfig(),
                        base_model_sha256: str = "unknown") -> Path:
    """Train a brand kit's adapter on brand_kits/<id>/style/ into out_root/<id>/<id>.safetensors,
    with the kit's trigger words; images without a caption use trigger + style words."""
    trigger = kit.adapter.trigger if kit.adapter and kit.adapter.trigger else f"{kit.id} style"
    fallback = ", ".join([trigger, *kit.style.words])
    return train_lora(pipe, Path(kit.kit_dir) / "style", Path(out_root) / kit.id, name=kit.id, trigger=trigger,
                      fallback_caption=fallback, config=config, base_model_sha256=base_model_sha256)


def _check_near_duplicates(paths: list[Path], thumbs: np.ndarray, threshold: float) -> None:
    flat = thumbs.reshape(len(thumbs), -1)
    for i in range(len(flat)):
        mad = np.abs(flat[i + 1:] - flat[i]).mean(axis=1)
        close = np.flatnonzero(mad < threshold)
        if close.size:
            j = i + 1 + int(close[0])
            raise InputError(f"near-duplicate style images (mean difference {mad[close[0]]:.2f}/255): "
                             f"remove one of {paths[i].name} and {paths[j].name}", file=str(paths[j]))


def _encode_examples(pipe, examples: list[StyleExample]):
    """Latent mean/std of each image at the model's native size (+ its mirror), and the
    caption embeddings, computed once with the frozen VAE and text encoder."""
    import torch

    side = int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)
    pixels = []
    for e in examples:
        img = Image.open(e.path).convert("RGB").resize((side, side), Image.LANCZOS)
        arr = np.asarray(img, np.float32) / 127.5 - 1.0
        pixels += [arr, arr[:, ::-1]]  # a mirrored backdrop is the same style
    x = torch.from_numpy(np.stack(pixels).transpose(0, 3, 1, 2).copy()).to(pipe.vae.dtype)
    with torch.no_grad():
        dist = pipe.vae.encode(x).latent_dist
        prompts = [e.caption for e in examples for _ in range(2)]
        embeddings, _ = pipe.encode_prompt(prompts, "cpu", 1, False)
    scale = pipe.vae.config.scaling_factor
    return (dist.mean * scale, dist.std * scale), embeddings


def _fit(unet, scheduler, latents, embeddings, config: LoraTrainConfig) -> list[float]:
    import torch

    from adgen.training.base import _progress

    mean, std = latents
    params = [p for p in unet.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=1e-4)
    rng = np.random.default_rng(config.seed)
    losses = []
    unet.train()
    for _ in _progress(range(config.steps), "LoRA"):
        idx = torch.from_numpy(rng.integers(0, len(mean), config.batch))
        x0 = mean[idx] + std[idx] * torch.randn_like(mean[idx])
        noise = torch.randn_like(x0)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (config.batch,))
        target = noise if scheduler.config.prediction_type == "epsilon" else scheduler.get_velocity(x0, noise, t)
        pred = unet(scheduler.add_noise(x0, noise, t), t, embeddings[idx]).sample
        loss = (pred.float() - target.float()).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    unet.eval()
    return losses
