"""Re-lay out an asset with edited copy, reusing its generated plate: steps 4-6 of run() only.

The plate a Composition keeps is already cover-fit to the format, so compose() fits it again
at the same size without resampling. The copy may change; anything that would change the
plate (the derived seed, the prompt) may not, so the recorded recipe still remakes the asset.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from adgen.compliance import CheckSubject, Report, check
from adgen.encoding import encode
from adgen.errors import InputError
from adgen.export import export
from adgen.layout import compose
from adgen.pipeline import AssetResult, _report_document, asset_id, recipe
from adgen.prompt import build_prompt
from adgen.request import derive_seed
from adgen.spec import ProductSpec


def relayout(result: AssetResult, product: ProductSpec, out_dir: Path | None) -> AssetResult:
    """Compose, check and (when out_dir is given) export result's plate with product's copy."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    resolved = replace(result.request, product=product)
    _require_same_plate(result, resolved)
    # 4. compose
    composition = compose(result.composition.plate, resolved)
    timings["compose"] = _lap(clock)
    clock = time.perf_counter()
    # 5. check (on the bytes that will ship)
    asset_recipe = recipe(resolved, result.prompt)
    encoded = encode(composition.image, file_type=resolved.file_type, max_kb=resolved.format.max_kb,
                     recipe=asset_recipe, asset_id=asset_id(asset_recipe),
                     composite=any(layer.kind == "image" for layer in composition.layers))
    subject = CheckSubject(image=composition.image, format=resolved.format, brand=resolved.brand,
                           locale=product.locale, category=product.category,
                           composition=composition, encoded=encoded.data, file_type=encoded.file_type)
    report = Report(findings=check(subject).findings, attempts=encoded.attempts)
    timings["check"] = _lap(clock)
    clock = time.perf_counter()
    # 6. export
    files = None
    if out_dir is not None:
        files = export(encoded.data, _report_document(asset_recipe, composition, report, encoded.quality),
                       out_dir=out_dir, sku=product.sku, stem=resolved.asset_stem, file_type=encoded.file_type)
    timings["export"] = _lap(clock)
    return AssetResult(resolved, result.prompt, composition, report, files, timings)


def _require_same_plate(result: AssetResult, resolved) -> None:
    """Refuse edits that would make a different plate: the recipe must still remake this asset."""
    old = result.request
    if derive_seed(old.base_seed, resolved.product.sku, old.format.id, old.variant) != old.seed:
        raise InputError("changing the sku changes the plate's seed; generate again instead",
                         field="sku", value=resolved.product.sku)
    if build_prompt(resolved) != result.prompt:
        raise InputError("changing the scene changes the plate's prompt; generate again instead",
                         field="scene", value=resolved.product.scene)


def _lap(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
