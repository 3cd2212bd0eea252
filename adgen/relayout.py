"""Re-lay out an asset with edited copy, reusing its generated plate: steps 4-6 of run() only.

The plate a Composition keeps is already cover-fit to the format, so compose() fits it again
at the same size without resampling. The copy may change; anything that would change the
plate (the derived seed, the prompt) may not, so the recorded recipe still remakes the asset.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adgen.errors import InputError
from adgen.pipeline import AssetResult, run
from adgen.prompt import build_prompt
from adgen.request import AssetRequest, derive_seed
from adgen.spec import ProductSpec


def relayout(result: AssetResult, product: ProductSpec, out_dir: Path | None, *,
             tenant: str | None = None) -> AssetResult:
    """Compose, check and (when out_dir is given) export result's plate with product's copy.
    tenant: whose brand knowledge base backs the edited claims (see pipeline.run)."""
    resolved = replace(result.request, product=product)
    _require_same_plate(result, resolved)
    request = AssetRequest(product=product, brand=resolved.brand.id, format=resolved.format.id,
                           variant=resolved.variant, seed=resolved.base_seed, model=resolved.model,
                           steps=resolved.steps, guidance=resolved.guidance, file_type=resolved.file_type,
                           use_adapter=resolved.adapter_path is not None, cutout=resolved.cutout)
    # The same run() as every entry point, from step 4 on: the plate is already made.
    return run(request, out_dir, brand=resolved.brand, plate=result.composition.plate, tenant=tenant)


def _require_same_plate(result: AssetResult, resolved) -> None:
    """Refuse edits that would make a different plate: the recipe must still remake this asset."""
    old = result.request
    if derive_seed(old.base_seed, resolved.product.sku, old.format.id, old.variant) != old.seed:
        raise InputError("changing the sku changes the plate's seed; generate again instead",
                         field="sku", value=resolved.product.sku)
    if build_prompt(resolved) != result.prompt:
        raise InputError("changing the scene changes the plate's prompt; generate again instead",
                         field="scene", value=resolved.product.scene)

