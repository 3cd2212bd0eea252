"""The request a caller makes, and resolve(): filling every default so the asset can be remade."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from adgen.brand import BrandKit, load_brand
from adgen.formats import Format, get_format
from adgen.layout_templates import Template, template_for
from adgen.model_family import DEFAULT_MODEL, model_family
from adgen.spec import ProductSpec

MAX_VARIANTS = 64  # per (product, format): the CLI's --variants and every request's cap


class AssetRequest(BaseModel):
    """One asset: a product, in a brand, in a format, as one numbered variant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product: ProductSpec
    brand: str = Field(max_length=64, description="Brand kit id (folder under brand_kits/).")
    format: str = Field(max_length=64, description="Format id from `adgen formats`.")
    variant: int = Field(1, ge=1, le=MAX_VARIANTS, description="Variant number, 1-based.")
    seed: int = Field(0, ge=0, lt=2**31, description="Base seed; each (sku, format, variant) derives its own.")
    model: str | None = Field(None, max_length=4096,
                              description="Local diffusers folder, .safetensors file, cached hub id, or adgen-tiny.")
    steps: int | None = Field(None, ge=1, le=150, description="Denoising steps; default per model.")
    guidance: float | None = Field(None, ge=0, le=30, description="Classifier-free guidance scale.")
    file_type: Literal["png", "jpeg"] | None = Field(None, description="png or jpeg; default per format.")
    use_adapter: bool = Field(True, description="Apply the brand's LoRA adapter when it has one.")
    cutout: bool = Field(True, description="Cut a product photo without alpha out of its plain background "
                                           "(else, or when the cut-out is not confident, place it framed).")


@dataclass(frozen=True)
class ResolvedRequest:
    """A request with every default filled: the recipe recorded beside the asset."""

    product: ProductSpec
    brand: BrandKit
    format: Format
    template: Template
    variant: int
    base_seed: int
    seed: int
    model: str
    steps: int
    guidance: float
    file_type: str
    adapter_path: Path | None
    adapter_weight: float
    adapter_trigger: str
    adapter_note: str = ""   # why the kit's adapter is not applied ("" when it is, or the kit has none)
    cutout: bool = True      # cut a product photo without alpha out (else framed)

    @property
    def asset_stem(self) -> str:
        return f"{self.format.id}-v{self.variant}"


def resolve(request: AssetRequest, *, brand: BrandKit | None = None) -> ResolvedRequest:
    """Fill defaults: derived seed, model and steps, file type, template, adapter."""
    kit = brand or load_brand(request.brand)
    fmt = get_format(request.format)
    model = request.model or DEFAULT_MODEL
    steps, guidance = model_defaults(model)
    adapter_path, adapter_note = None, ""
    if request.use_adapter and kit.adapter:
        adapter_path, adapter_note = adapter_for(kit, model)
    file_type = request.file_type or fmt.default_file_type
    return ResolvedRequest(
        product=request.product, brand=kit, format=fmt, template=template_for(fmt, kit),
        variant=request.variant, base_seed=request.seed,
        seed=derive_seed(request.seed, request.product.sku, fmt.id, request.variant),
        model=model, steps=request.steps or steps,
        guidance=request.guidance if request.guidance is not None else guidance,
        file_type=file_type, adapter_path=adapter_path,
        adapter_weight=kit.adapter.weight if kit.adapter else 0.0,
        adapter_trigger=kit.adapter.trigger if (kit.adapter and adapter_path) else "",
        adapter_note=adapter_note,
        cutout=request.cutout,
    )


def adapter_for(kit: BrandKit, model: str) -> tuple[Path | None, str]:
    """The kit's adapter file for this model, or None and why not (shown as a warning and a brand.adapter finding)."""
    path = kit.adapter_path
    if not path.is_file():
        return None, (f"brand {kit.id}'s adapter {kit.adapter.file} is not trained yet (adgen lora train --brand "
                      f"{kit.id}); the plate was generated without it")
    if not adapter_fits(path, model):
        return None, (f"brand {kit.id}'s adapter {kit.adapter.file} was trained on another base model than {model}; "
                      f"the plate was generated without it (train one for this model: adgen lora train --brand "
                      f"{kit.id} --base MODEL)")
    return path, ""


def adapter_fits(adapter_path: Path, model: str) -> bool:
    """A LoRA only applies to the base model it was trained on (adapter.json records its hash)."""
    if not adapter_path.is_file():
        return False
    from adgen.adapters import adapter_info
    from adgen.generation import model_fingerprint

    base = adapter_info(adapter_path).get("base_model_sha256")
    return base is None or base == model_fingerprint(model)


def derive_seed(base_seed: int, sku: str, format_id: str, variant: int) -> int:
    """A stable 31-bit seed for one (sku, format, variant): independent of batch order or worker."""
    digest = hashlib.sha256(f"{base_seed}:{sku}:{format_id}:{variant}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def model_defaults(model: str) -> tuple[int, float]:
    """Steps and guidance for a model's family, read from its config files (adgen.model_family), not its name."""
    family = model_family(model)
    return family.steps, family.guidance
