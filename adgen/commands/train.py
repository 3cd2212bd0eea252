"""`adgen train base` and `adgen lora train|eval`: the embedded model and brand adapters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

train_app = typer.Typer(help="Train the embedded adgen-tiny model.", no_args_is_help=True)
lora_app = typer.Typer(help="Brand LoRA adapters: train on the brand's pictures, evaluate palette fidelity.",
                       no_args_is_help=True)
console = Console()


@train_app.command("base")
def train_base_command(
    config: Path = typer.Option(None, "--config", "-c", help="Training YAML (default adgen/tiny/train.yaml)."),
    out: Path = typer.Option(Path("out/adgen-tiny"), "--out", "-o", help="Folder for the diffusers pipeline."),
    init_from: Optional[Path] = typer.Option(
        None, "--init-from", help="Fine-tune: start from this trained adgen-tiny folder (its UNet and VAE)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Torch CPU threads (default the config's)."),
) -> None:
    """Reproduce adgen-tiny's training from the repo (procedural data, fixed data seed)."""
    from adgen.tiny import TINY_TRAIN_CONFIG
    from adgen.training.base import BaseTrainConfig, train_base

    settings = BaseTrainConfig.from_yaml(config or TINY_TRAIN_CONFIG)
    if init_from is not None:
        settings = replace(settings, init_from=str(init_from))
    if threads is not None:
        settings = replace(settings, threads=threads)
    path = train_base(settings, out)
    console.print(f"adgen-tiny → {path}  (use it with --model {path})")


@lora_app.command("train")
def lora_train_command(
    brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id: name, trigger and style words of the adapter."),
    images: Optional[Path] = typer.Option(None, "--images", help="Folder of the brand's pictures, any size; a .txt "
                                          "next to an image is its caption (default the kit's photos/, else style/)."),
    steps: int = typer.Option(300, "--steps", min=1, help="Optimiser steps."),
    rank: int = typer.Option(8, "--rank", min=1, help="LoRA rank (alpha is kept equal to it)."),
    batch: int = typer.Option(8, "--batch", min=1, help="Images per step (one aspect-ratio bucket per batch)."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate."),
    base: Optional[str] = typer.Option(None, "--base", help="Base model (default adgen-tiny); SD 1.5- or SDXL-class."),
    out: Optional[Path] = typer.Option(None, "--out", help="Adapters root to write <brand>/ into, outside the "
                                       "registry (default: the next registry version under ADGEN_HOME/lora/)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the last run from its checkpoint (the unfinished "
                                "registry version, or the folder under --out)."),
    checkpoint_every: int = typer.Option(50, "--checkpoint-every", min=0, help="Steps between checkpoints (0: none)."),
    strict: bool = typer.Option(False, "--strict", help="Refuse images with text or logos instead of masking them."),
    min_images: int = typer.Option(12, "--min-images", min=1, help="Fewest usable images the linter accepts."),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing",
                                                help="Recompute activations in the backward pass: less memory."),
    train_text_encoder: bool = typer.Option(False, "--train-text-encoder",
                                            help="Also train LoRA on the text encoder(s); frozen by default."),
    from_approved: bool = typer.Option(False, "--from-approved", help="Train on the service's approved plates "
                                       "(their prompts as captions); off-brand-colour rejects become eval negatives."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="A service tenant (its API key name): its approved "
                                         "plates and its registry. Default: every tenant's plates, the CLI's registry."),
) -> None:
    """Lint the brand's pictures, then train its LoRA adapter as the next registry version (adgen lora list):
    weights, adapter.json, lint report."""
    from adgen.brand import load_brand
    from adgen.generation import load_pipeline, model_fingerprint
    from adgen.request import DEFAULT_MODEL
    from adgen.training.lora import LoraTrainConfig, train_brand_adapter

    kit = load_brand(brand)
    model = base or DEFAULT_MODEL
    config = replace(LoraTrainConfig(), steps=steps, rank=rank, alpha=float(rank), batch=batch, lr=lr,
                     checkpoint_every=checkpoint_every, strict=strict, min_images=min_images,
                     gradient_checkpointing=gradient_checkpointing, train_text_encoder=train_text_encoder)
    if from_approved and out is not None:
        from adgen.errors import InputError

        raise InputError("--from-approved trains a registry version; leave out --out", field="--out", value=str(out))
    if out is None:
        from adgen.commands.lora_registry import train_into_registry

        return train_into_registry(kit, model, images, config, tenant, from_approved, resume=resume)
    folder = train_brand_adapter(kit, load_pipeline(model), out / kit.id, images_dir=images,
                                 config=config, base_model_sha256=model_fingerprint(model), resume=resume)
    console.print((folder / "lint-report.txt").read_text(encoding="utf-8"), markup=False, highlight=False)
    console.print(f"{kit.id} adapter → {folder}")


@lora_app.command("style-set")
def lora_style_set_command(
    brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id: the palette and trigger words."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder to write (default brand_kits/<id>/photos/)."),
    count: int = typer.Option(24, "--count", min=1, help="Images to render."),
    seed: int = typer.Option(0, "--seed", help="Scene seed: the same seed writes the same files."),
) -> None:
    """Render the brand's photo-like style set (still lifes in its palette, mixed sizes, half captioned)."""
    from adgen.brand import load_brand
    from adgen.training.style_photos import render_photo_set

    kit = load_brand(brand)
    trigger = kit.adapter.trigger if kit.adapter and kit.adapter.trigger else f"{kit.id} style"
    paths = render_photo_set(kit.palette, out or kit.kit_dir / "photos", trigger=trigger, count=count, seed=seed)
    console.print(f"{len(paths)} images → {paths[0].parent}")
