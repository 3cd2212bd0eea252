"""`adgen train base` and `adgen lora train|eval`: the embedded model and brand adapters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

train_app = typer.Typer(help="Train the embedded adgen-tiny model.", no_args_is_help=True)
lora_app = typer.Typer(help="Brand LoRA adapters: train on the brand's pictures, evaluate palette fidelity.",
                       no_args_is_help=True)
console = Console()


@train_app.command("base")
def train_base_command(
    config: Path = typer.Option(None, "--config", "-c", help="Training YAML (default adgen/tiny/train.yaml)."),
    out: Path = typer.Option(Path("out/adgen-tiny"), "--out", "-o", help="Folder for the diffusers pipeline."),
) -> None:
    """Reproduce adgen-tiny's training from the repo (procedural data, fixed data seed)."""
    from adgen.tiny import TINY_TRAIN_CONFIG
    from adgen.training.base import BaseTrainConfig, train_base

    path = train_base(BaseTrainConfig.from_yaml(config or TINY_TRAIN_CONFIG), out)
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
    out: Optional[Path] = typer.Option(None, "--out", help="Adapters root (default lora/); writes <out>/<brand>/."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in the adapter folder."),
    checkpoint_every: int = typer.Option(50, "--checkpoint-every", min=0, help="Steps between checkpoints (0: none)."),
    strict: bool = typer.Option(False, "--strict", help="Refuse images with text or logos instead of masking them."),
    min_images: int = typer.Option(12, "--min-images", min=1, help="Fewest usable images the linter accepts."),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing",
                                                help="Recompute activations in the backward pass: less memory."),
    train_text_encoder: bool = typer.Option(False, "--train-text-encoder",
                                            help="Also train LoRA on the text encoder(s); frozen by default."),
) -> None:
    """Lint the brand's pictures, then train its LoRA adapter into lora/<brand>/ (weights, adapter.json, lint report)."""
    from adgen.brand import load_brand
    from adgen.generation import load_pipeline, model_fingerprint
    from adgen.request import DEFAULT_MODEL
    from adgen.settings import lora_dir
    from adgen.training.lora import LoraTrainConfig, train_brand_adapter

    kit = load_brand(brand)
    model = base or DEFAULT_MODEL
    config = replace(LoraTrainConfig(), steps=steps, rank=rank, alpha=float(rank), batch=batch, lr=lr,
                     checkpoint_every=checkpoint_every, strict=strict, min_images=min_images,
                     gradient_checkpointing=gradient_checkpointing, train_text_encoder=train_text_encoder)
    folder = train_brand_adapter(kit, load_pipeline(model), (out or lora_dir()) / kit.id, images_dir=images,
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


@lora_app.command("eval")
def lora_eval_command(
    brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id."),
    base: Optional[str] = typer.Option(None, "--base", help="Base model (default adgen-tiny)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Denoising steps per plate."),
) -> None:
    """Palette distance (CIEDE2000) of held-out plates without and with the brand's adapter."""
    from adgen.adapters import AdapterRef
    from adgen.brand import load_brand
    from adgen.errors import NotFoundError
    from adgen.generation import load_pipeline
    from adgen.request import DEFAULT_MODEL, model_defaults
    from adgen.training.lora_eval import evaluate_adapter

    kit = load_brand(brand)
    if not (kit.adapter and kit.adapter_path.is_file()):
        raise NotFoundError("brand has no trained adapter; run `adgen lora train` first", field="brand", value=brand)
    model = base or DEFAULT_MODEL
    default_steps, guidance = model_defaults(model)
    ref = AdapterRef(name=kit.id, path=kit.adapter_path, weight=kit.adapter.weight, trigger=kit.adapter.trigger)
    result = evaluate_adapter(load_pipeline(model), ref, kit.palette, steps=steps or default_steps, guidance=guidance)
    table = Table("prompt", "seed", "ΔE00 without", "ΔE00 with", title=f"{kit.id}: palette distance, lower is closer")
    for row in result.plates:
        table.add_row(row.prompt, str(row.seed), f"{row.delta_e00_without:.2f}", f"{row.delta_e00_with:.2f}")
    console.print(table)
    console.print(f"mean ΔE00 {result.delta_e00_without:.2f} → {result.delta_e00_with:.2f} "
                  f"(improvement {result.improvement:+.2f}); plates text-free: {result.text_free}")
