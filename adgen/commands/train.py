"""`adgen train base` and `adgen lora train|eval`: the embedded model and brand adapters."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

train_app = typer.Typer(help="Train the embedded adgen-tiny model.", no_args_is_help=True)
lora_app = typer.Typer(help="Brand LoRA adapters: train on the kit's style images, evaluate palette fidelity.",
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
    brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id; trains on brand_kits/<id>/style/."),
    images: Optional[Path] = typer.Option(None, "--images", help="Style images folder (default the kit's style/)."),
    steps: int = typer.Option(300, "--steps", min=1, help="Optimiser steps."),
    rank: int = typer.Option(8, "--rank", min=1, help="LoRA rank (alpha is kept equal to it)."),
    base: Optional[str] = typer.Option(None, "--base", help="Base model (default adgen-tiny); SD 1.5-class."),
    out: Optional[Path] = typer.Option(None, "--out", help="Adapters root to write <brand>/ into, outside the "
                                       "registry (default: the next registry version under ADGEN_HOME/lora/)."),
    from_approved: bool = typer.Option(False, "--from-approved", help="Train on the service's approved plates "
                                       "(their prompts as captions); off-brand-colour rejects become eval negatives."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="A service tenant (its API key name): its approved "
                                         "plates and its registry. Default: every tenant's plates, the CLI's registry."),
) -> None:
    """Lint the brand's images, then train its adapter as the next registry version (adgen lora list)."""
    from adgen.brand import load_brand
    from adgen.generation import load_pipeline, model_fingerprint
    from adgen.request import DEFAULT_MODEL
    from adgen.settings import lora_dir
    from adgen.training.lora import LoraTrainConfig, train_lora

    kit = load_brand(brand)
    model = base or DEFAULT_MODEL
    config = replace(LoraTrainConfig(), steps=steps, rank=rank, alpha=float(rank))
    if from_approved and out is not None:
        from adgen.errors import InputError

        raise InputError("--from-approved trains a registry version; leave out --out", field="--out", value=str(out))
    if out is None:
        from adgen.commands.lora_registry import train_into_registry

        return train_into_registry(kit, model, images, config, tenant, from_approved)
    trigger = kit.adapter.trigger if kit.adapter and kit.adapter.trigger else f"{kit.id} style"
    path = train_lora(load_pipeline(model), images or kit.kit_dir / "style", (out or lora_dir()) / kit.id,
                      name=kit.id, trigger=trigger, fallback_caption=", ".join([trigger, *kit.style.words]),
                      config=config, base_model_sha256=model_fingerprint(model))
    console.print(f"{kit.id} adapter → {path}")
