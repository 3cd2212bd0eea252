"""`adgen train base` and `adgen lora train|eval`: the embedded model and brand adapters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

train_app = typer.Typer(help="Train the embedded adgen-tiny model.", no_args_is_help=True)
lora_app = typer.Typer(help="Brand LoRA adapters: train on the kit's style images, evaluate palette fidelity.",
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
    brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id; trains on brand_kits/<id>/style/."),
    images: Optional[Path] = typer.Option(None, "--images", help="Style images folder (default the kit's style/)."),
    steps: int = typer.Option(300, "--steps", min=1, help="Optimiser steps."),
    rank: int = typer.Option(8, "--rank", min=1, help="LoRA rank (alpha is kept equal to it)."),
    base: Optional[str] = typer.Option(None, "--base", help="Base model (default adgen-tiny); SD 1.5-class."),
    out: Optional[Path] = typer.Option(None, "--out", help="Adapters root (default lora/)."),
) -> None:
    """Lint the brand's style images, then train its adapter into lora/<brand>/ with metadata."""
    from adgen.brand import load_brand
    from adgen.generation import load_pipeline, model_fingerprint
    from adgen.request import DEFAULT_MODEL
    from adgen.settings import lora_dir
    from adgen.training.lora import LoraTrainConfig, train_lora

    kit = load_brand(brand)
    model = base or DEFAULT_MODEL
    config = replace(LoraTrainConfig(), steps=steps, rank=rank, alpha=float(rank))
    trigger = kit.adapter.trigger if kit.adapter and kit.adapter.trigger else f"{kit.id} style"
    path = train_lora(load_pipeline(model), images or kit.kit_dir / "style", (out or lora_dir()) / kit.id,
                      name=kit.id, trigger=trigger, fallback_caption=", ".join([trigger, *kit.style.words]),
                      config=config, base_model_sha256=model_fingerprint(model))
    console.print(f"{kit.id} adapter → {path}")


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
