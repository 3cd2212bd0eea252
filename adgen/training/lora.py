"""Train a brand LoRA adapter (peft, as diffusers does) on the UNet of an SD 1.5- or SDXL-class pipeline.

`train_lora(pipe, images_dir, out_dir, name=, trigger=, ...)` lints the brand's own pictures
(adgen.training.lora_lint), puts them in aspect-ratio buckets at the base's resolution
(adgen.training.lora_data), trains rank-r LoRA on the UNet's attention and feed-forward layers
with the VAE and text encoders frozen, and writes a complete adapter folder: `<name>.safetensors`
(diffusers LoRA format with the peft config embedded so alpha/rank survive a reload),
`adapter.json` (base model fingerprint, rank, alpha, steps, data hashes, trigger words) and the
lint report. SDXL-class pipelines train with both text encoders' embeddings, the pooled
embedding and the size/crop conditioning (add_time_ids) of each image.

Resuming: every `checkpoint_every` steps the LoRA weights, optimiser state, losses, step and the
linted data list are written atomically to `out_dir/checkpoints/latest.pt`. The data order and
every random draw of step s come from (seed, s) alone, so `resume=True` after a kill continues
with exactly what an uninterrupted run would have done.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from adgen.adapters import ADAPTER_INFO_FILE, file_sha256
from adgen.errors import InputError
from adgen.training.lora_data import (
    Example,
    bucket_sizes,
    latent_stride,
    native_resolution,
    nearest_bucket,
    step_batch,
)
from adgen.training.lora_lint import LintReport, lint_images

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_FILE = "latest.pt"


@dataclass(frozen=True)
class LoraTrainConfig:
    """Rank, steps, data and run settings of one adapter training run."""

    rank: int = 8
    alpha: float = 8.0  # alpha == rank: scale 1, and loaders that ignore alpha agree
    steps: int = 300
    batch: int = 8
    lr: float = 1e-3
    seed: int = 0
    target_modules: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2")
    resolution: int | None = None  # px; None: the base's native resolution
    mirror: bool = True            # each image also trains mirrored (a mirrored style is the same style)
    min_images: int = 12
    strict: bool = False           # refuse images with text/logos instead of masking them out
    ocr: bool = True               # look for text with OCR (the linter's slowest check)
    product_check: bool = True     # warn about product shots (cut-out segmentation)
    gradient_checkpointing: bool = False
    train_text_encoder: bool = False  # also LoRA on the text encoder(s) (attention); frozen by default
    checkpoint_every: int = 50     # steps; 0: never
    threads: int = 2               # CPU threads (ignored on CUDA)


def train_lora(pipe, images_dir: Path, out_dir: Path, *, name: str, trigger: str,
               style_words: tuple[str, ...] = (), config: LoraTrainConfig = LoraTrainConfig(),
               base_model_sha256: str | None = None, resume: bool = False,
               on_step: Callable[[int, int, float], None] | None = None, progress: bool = True) -> Path:
    """Train adapter `name` for `pipe` on the images in `images_dir`; write the adapter folder
    `out_dir` (weights, adapter.json, lint report) and return it. Images without a `.txt` caption
    train with trigger + style words + file name. The pipeline keeps any adapters it had loaded,
    with none active: call activate_adapter next. `on_step(step, steps, loss)` after each step."""
    import torch
    from diffusers import DDPMScheduler
    from peft import LoraConfig

    out_dir = Path(out_dir)
    started = time.time()
    sdxl = getattr(pipe, "text_encoder_2", None) is not None
    device = pipe.unet.device
    if device.type == "cpu":
        torch.set_num_threads(config.threads)
    resolution = config.resolution or native_resolution(pipe)
    base_sha = base_model_sha256 or _pipeline_fingerprint(pipe)
    # 1. the data: linted now, or the checkpoint's list when resuming (the same files, same order)
    checkpoint = _load_checkpoint(out_dir) if resume else None
    if checkpoint is not None:
        report = LintReport.from_json(checkpoint["lint"])
    else:
        report = lint_images(images_dir, resolution=resolution, trigger=trigger, style_words=style_words,
                             strict=config.strict, min_images=config.min_images, ocr=config.ocr,
                             products=config.product_check)
    buckets = bucket_sizes(resolution, latent_stride(pipe))
    examples = [Example(Path(report.folder) / e.file, e.caption, nearest_bucket(e.size, buckets), e.text_boxes)
                for e in report.used]
    key = _run_key(config, report, base_sha, name, trigger)
    if checkpoint is not None and checkpoint["key"] != key:
        raise InputError("the checkpoint was written by a run with other settings, data or base model; "
                         "train without --resume to start over", file=str(out_dir / CHECKPOINT_DIR))
    # 2. latents, masks and caption embeddings, computed once with the frozen VAE and text encoders
    from adgen.training.lora_encode import encode_examples

    cache = encode_examples(pipe, examples, mirror=config.mirror, sdxl=sdxl)
    # 3. the adapter, the optimiser, and where a checkpoint left them
    unet = pipe.unet
    lora_config = LoraConfig(r=config.rank, lora_alpha=config.alpha, init_lora_weights="gaussian",
                             target_modules=list(config.target_modules))
    torch.manual_seed(config.seed)  # the gaussian init of lora_A
    # Trained under its own name: the resident pipeline may already hold this brand's current
    # adapter under `name` (the saved keys carry no adapter name).
    training_name = f"adgen-training-{name}"
    unet.add_adapter(lora_config, adapter_name=training_name)
    # Only the new adapter may be active while it trains: other brands may be loaded, and a
    # pipeline left with LoRA disabled (activate_adapter(pipe, None)) would train nothing.
    unet.set_adapter(training_name)
    unet.enable_adapters()
    trainable = {n: p for n, p in unet.named_parameters() if p.requires_grad}
    encoders = _add_text_encoder_adapters(pipe, training_name, config) if config.train_text_encoder else {}
    for attr, (encoder, _) in encoders.items():
        trainable.update({f"{attr}.{n}": p for n, p in encoder.named_parameters() if p.requires_grad})
    if encoders:
        cache.live_pipe = pipe
    for param in trainable.values():
        param.data = param.data.float()  # LoRA weights train in fp32 whatever the base's dtype
    optimizer, optimizer_name = _optimizer(list(trainable.values()), config.lr, device)
    losses: list[float] = []
    if checkpoint is not None:
        with torch.no_grad():
            for n, value in checkpoint["lora"].items():
                trainable[n].copy_(value)
        optimizer.load_state_dict(checkpoint["optimizer"])
        losses = list(checkpoint["losses"])
    try:
        if config.gradient_checkpointing:
            unet.enable_gradient_checkpointing()
        scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        _fit(unet, scheduler, cache, optimizer, trainable, losses, config, out_dir,
             key=key, report=report, on_step=on_step, progress=progress)
        # 4. the adapter folder: weights, metadata, lint report
        weights = _save_weights(pipe, unet, training_name, lora_config, out_dir, weight_name=f"{name}.safetensors",
                                encoders=encoders)
    finally:
        if config.gradient_checkpointing:
            unet.disable_gradient_checkpointing()
        unet.eval()
        unet.delete_adapters(training_name)
        for encoder, _ in encoders.values():
            _remove_text_encoder_adapter(encoder, training_name)
    report.write(out_dir)
    info = {
        "name": name, "trigger": trigger, "base_model_sha256": base_sha,
        "base_family": "sdxl" if sdxl else "sd15", "resolution": resolution,
        "rank": config.rank, "alpha": config.alpha, "steps": config.steps, "batch": config.batch,
        "lr": config.lr, "seed": config.seed, "target_modules": list(config.target_modules),
        "optimizer": optimizer_name, "precision": "bf16 autocast" if device.type == "cuda" else "fp32",
        "final_loss": round(sum(losses[-20:]) / max(1, len(losses[-20:])), 5),
        "train_seconds": round(time.time() - started, 1), "resumed": checkpoint is not None,
        "weights_sha256": file_sha256(weights),
        "buckets": sorted({f"{e.bucket.width}x{e.bucket.height}" for e in examples}),
        "data": [{"file": e.file, "sha256": e.sha256, "caption": e.caption, "caption_source": e.caption_source,
                  "findings": list(e.findings)} for e in report.used],
        "lint": report.counts(), "lint_report": "lint-report.json",
        "lint_warnings": [f"{e.file}: {n}" for e in report.entries for n in e.notes],
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
    }
    (out_dir / ADAPTER_INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    _remove_checkpoint(out_dir)
    return out_dir


def train_brand_adapter(kit, pipe, out_dir: Path, *, images_dir: Path | None = None,
                        config: LoraTrainConfig = LoraTrainConfig(), base_model_sha256: str | None = None,
                        resume: bool = False, on_step=None, progress: bool = True) -> Path:
    """Train a brand kit's adapter (kit id as name, the kit's trigger and style words) on
    `images_dir` (default the kit's photos/, else its style/) into the adapter folder `out_dir`."""
    trigger = kit.adapter.trigger if kit.adapter and kit.adapter.trigger else f"{kit.id} style"
    return train_lora(pipe, images_dir or default_images_dir(kit), out_dir, name=kit.id, trigger=trigger,
                      style_words=tuple(kit.style.words), config=config, base_model_sha256=base_model_sha256,
                      resume=resume, on_step=on_step, progress=progress)


def default_images_dir(kit) -> Path:
    """The kit's own training pictures: brand_kits/<id>/photos/ when present, else style/."""
    photos = Path(kit.kit_dir) / "photos"
    return photos if photos.is_dir() else Path(kit.kit_dir) / "style"


def _fit(unet, scheduler, cache, optimizer, trainable, losses, config, out_dir, *, key, report, on_step,
         progress) -> None:
    import torch

    device = unet.device
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else torch.autocast("cpu", enabled=False))
    unet.train()
    with _ProgressBar(config.steps, len(losses), enabled=progress) as advance:
        for step in range(len(losses), config.steps):
            idx = step_batch(cache.bucket_of, config.batch, config.seed, step)
            generator = torch.Generator("cpu").manual_seed(_step_seed(config.seed, step))
            x0, keep = cache.sample(idx, generator)
            noise = torch.randn(x0.shape, generator=generator)
            t = torch.randint(0, scheduler.config.num_train_timesteps, (len(idx),), generator=generator)
            noisy = scheduler.add_noise(x0, noise, t)
            target = noise if scheduler.config.prediction_type == "epsilon" else scheduler.get_velocity(x0, noise, t)
            dtype = unet.dtype
            with autocast:
                pred = unet(cache.unet_input(noisy, idx).to(device, dtype), t.to(device),
                            **cache.conditioning(idx, device, dtype)).sample
            keep = keep.to(device)
            # Mean squared error over the latent cells the linter did not mask (text, logos).
            error = (pred.float() - target.to(device).float()).pow(2) * keep
            loss = error.sum() / (keep.sum() * pred.shape[1]).clamp_min(1.0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            done = step + 1
            if config.checkpoint_every and done % config.checkpoint_every == 0 and done < config.steps:
                _save_checkpoint(out_dir, {"step": done, "key": key, "losses": losses, "lint": report.to_json(),
                                           "lora": {n: p.detach().cpu().clone() for n, p in trainable.items()},
                                           "optimizer": optimizer.state_dict()})
            advance(losses[-1])
            if on_step is not None:
                on_step(done, config.steps, losses[-1])


def _step_seed(seed: int, step: int) -> int:
    digest = hashlib.sha256(f"adgen-lora:{seed}:{step}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def _optimizer(params, lr: float, device):
    """8-bit AdamW (bitsandbytes) on CUDA when it is installed, else torch's AdamW."""
    import torch

    if device.type == "cuda":
        try:
            import bitsandbytes as bnb

            return bnb.optim.AdamW8bit(params, lr=lr, weight_decay=1e-4), "bitsandbytes AdamW8bit"
        except ImportError:
            pass
    return torch.optim.AdamW(params, lr=lr, weight_decay=1e-4), "torch AdamW"


def _add_text_encoder_adapters(pipe, training_name: str, config: LoraTrainConfig) -> dict:
    """LoRA on each text encoder's attention projections (CLIP q/k/v/out_proj, BERT query/key/value);
    the encoders stay in eval mode so dropout does not break resuming. {attr: (encoder, config)}."""
    from peft import LoraConfig, inject_adapter_in_model
    from peft.tuners.tuners_utils import BaseTunerLayer

    encoders = {}
    for attr in ("text_encoder", "text_encoder_2"):
        encoder = getattr(pipe, attr, None)
        if encoder is None:
            continue
        names = {n.rsplit(".", 1)[-1] for n, _ in encoder.named_modules()}
        targets = ["q_proj", "k_proj", "v_proj", "out_proj"] if "q_proj" in names else ["query", "key", "value"]
        te_config = LoraConfig(r=config.rank, lora_alpha=config.alpha, init_lora_weights="gaussian",
                               target_modules=targets)
        # peft's injection, as diffusers does for text encoders (transformers' add_adapter wants peft >= 0.22).
        inject_adapter_in_model(te_config, encoder, adapter_name=training_name)
        for module in encoder.modules():
            if isinstance(module, BaseTunerLayer):
                module.set_adapter(training_name)
        for n, param in encoder.named_parameters():
            param.requires_grad_(f".{training_name}." in n)
            if param.requires_grad:
                param.data = param.data.float()
        encoders[attr] = (encoder, te_config)
    return encoders


def _remove_text_encoder_adapter(encoder, training_name: str) -> None:
    """Undo _add_text_encoder_adapters: the layers drop the adapter (others loaded stay active)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for module in encoder.modules():
        if isinstance(module, BaseTunerLayer) and training_name in module.lora_A:
            module.delete_adapter(training_name)
    config = getattr(encoder, "peft_config", None)
    if isinstance(config, dict):
        config.pop(training_name, None)
    encoder.requires_grad_(False)


def _save_weights(pipe, unet, name: str, lora_config, out_dir: Path, *, weight_name: str,
                  encoders: dict) -> Path:
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet, adapter_name=name))
    extra = {}
    for attr, (encoder, te_config) in encoders.items():
        extra[f"{attr}_lora_layers"] = convert_state_dict_to_diffusers(
            get_peft_model_state_dict(encoder, adapter_name=name))
        extra[f"{attr}_lora_adapter_metadata"] = te_config.to_dict()
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.safetensors"):  # the folder holds exactly one adapter (adapters.adapter_file)
        old.unlink()
    saver = type(pipe) if hasattr(type(pipe), "save_lora_weights") else StableDiffusionPipeline
    saver.save_lora_weights(out_dir, unet_lora_layers=layers, weight_name=weight_name,
                            unet_lora_adapter_metadata=lora_config.to_dict(), **extra)
    return out_dir / weight_name


def _pipeline_fingerprint(pipe) -> str:
    """The base's fingerprint (generation.model_fingerprint) from the folder it was loaded from."""
    source = getattr(pipe, "name_or_path", None) or pipe.config.get("_name_or_path")
    if not source:
        return "unknown"
    from adgen.generation import model_fingerprint

    return model_fingerprint(str(source))


def _run_key(config: LoraTrainConfig, report: LintReport, base_sha: str, name: str, trigger: str) -> str:
    """What a checkpoint must match to be resumed: settings (but steps), data, base, name."""
    settings = {k: v for k, v in asdict(config).items()
                if k not in ("steps", "checkpoint_every", "threads", "ocr", "product_check")}
    data = [(e.file, e.sha256, e.caption, e.text_boxes) for e in report.used]
    blob = json.dumps([settings, data, base_sha, name, trigger], sort_keys=True, default=list)
    return hashlib.sha256(blob.encode()).hexdigest()


def _save_checkpoint(out_dir: Path, state: dict) -> None:
    import torch

    folder = out_dir / CHECKPOINT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{CHECKPOINT_FILE}.partial"
    torch.save(state, partial)
    os.replace(partial, folder / CHECKPOINT_FILE)  # atomic: a kill leaves the old or the new one


def _load_checkpoint(out_dir: Path) -> dict | None:
    import torch

    path = out_dir / CHECKPOINT_DIR / CHECKPOINT_FILE
    return torch.load(path, weights_only=False) if path.is_file() else None


def _remove_checkpoint(out_dir: Path) -> None:
    folder = out_dir / CHECKPOINT_DIR
    for path in folder.glob("*"):
        path.unlink()
    if folder.is_dir():
        folder.rmdir()


class _ProgressBar:
    """A rich progress bar with the mean loss of the last 20 steps and the ETA."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled, self.recent = total, done, enabled, []

    def __enter__(self):
        if not self.enabled:
            return lambda loss: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress("[bold]LoRA", BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                            TimeRemainingColumn(), TextColumn("{task.fields[rate]}"))
        self.bar.__enter__()
        self.task = self.bar.add_task("LoRA", total=self.total, completed=self.done, loss="-", rate="")
        self.started, self.first = time.time(), self.done
        return self._advance

    def _advance(self, loss: float) -> None:
        self.recent = [*self.recent[-19:], loss]
        steps = self.bar.tasks[0].completed + 1 - self.first
        rate = f"{steps / max(1e-9, time.time() - self.started):.2f} steps/s"
        self.bar.update(self.task, advance=1, loss=f"{sum(self.recent) / len(self.recent):.4f}", rate=rate)

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.__exit__(*exc)
        return False
