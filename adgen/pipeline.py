"""The one way to make an asset: run(request) -> AssetResult. Every entry point calls it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from adgen import __version__
from adgen.brand import BrandKit
from adgen.compliance import Report
from adgen.composition import Composition
from adgen.encoding import Encoded, encode
from adgen.export import ExportedFiles, export
from adgen.fixes import Draft, check_and_fix
from adgen.generation import calms_without_product, generate, model_fingerprint
from adgen.layout import compose
from adgen.lora_registry import version_of
from adgen.plan import plan
from adgen.plate_guide import guide_record
from adgen.prompt import Prompt, build_prompt
from adgen.request import AssetRequest, ResolvedRequest, resolve
from adgen.step_timer import StepTimer


@dataclass(frozen=True)
class AssetResult:
    request: ResolvedRequest
    prompt: Prompt
    composition: Composition
    report: Report
    files: ExportedFiles | None
    timings_ms: dict[str, float]

    @property
    def verdict(self) -> str:
        return self.report.verdict


def run(request: AssetRequest, out_dir: Path | None, *, brand: BrandKit | None = None,
        plate: Image.Image | None = None, make_plate: Callable | None = None,
        tenant: str | None = None) -> AssetResult:
    """Make, check and (when out_dir is given) export one asset.

    plate: the request's background, already generated (the CSV batch renders plates in
    micro-batches with generation.generate_many and finishes each asset in a worker process).
    make_plate: (prompt, resolved, plan) -> plate for step 4 and for a fix that regenerates; default
    generation.generate here (a batch worker hands in one that asks the driver process).
    tenant: whose brand knowledge base backs copy.claim-substantiated ("local" for the CLI and
    the batch); None skips that rule.
    """
    timer = StepTimer()
    lap, timings = timer.lap, timer.timings

    # 1. resolve
    resolved = resolve(request, brand=brand)
    lap("resolve")
    # 2. prompt
    prompt = build_prompt(resolved)
    lap("prompt")
    # 3. plan: the layout as data (product box and silhouette, copy, logo, marks), no pixels yet
    layout = plan(resolved)
    lap("plan")
    # 4. generate around the plan (unless the caller brings the plate: batch workers, re-layout)
    if plate is None:
        plate = (make_plate or generate)(prompt, resolved, layout)
        lap("generate")
    # 5. compose (the product lands at layout.product_box: tests/test_plan.py)
    composition = compose(plate, resolved)
    lap("compose")
    # 6. check (on the bytes that will ship); a failing rule's fix is tried, each attempt recorded
    checked = check_and_fix(Draft(resolved, prompt, plate, composition, make_plate=make_plate, plan=layout),
                            _encode_draft, tenant=tenant)
    resolved, prompt, composition = checked.draft.resolved, checked.draft.prompt, checked.draft.composition
    encoded, report, asset_recipe = checked.encoded, checked.report, checked.recipe
    lap("check")
    # 7. export
    files = None
    if out_dir is not None:
        files = export(encoded.data, _report_document(asset_recipe, composition, report, encoded.quality),
                       out_dir=out_dir, sku=resolved.product.sku, stem=resolved.asset_stem,
                       file_type=encoded.file_type)
    lap("export")
    return AssetResult(resolved, prompt, composition, report, files, timings)


def recipe(resolved: ResolvedRequest, prompt: Prompt) -> dict:
    """Everything needed to remake the asset exactly."""
    from importlib.metadata import version

    # The installed versions, read without importing torch and diffusers: batch workers that only
    # finish assets would otherwise spend ~6 s of start-up importing them for two strings.
    return {
        "adgen_version": __version__, "diffusers_version": version("diffusers"),
        "torch_version": version("torch"),
        "model": resolved.model, "model_sha256": model_fingerprint(resolved.model),
        "adapter": str(resolved.adapter_path) if resolved.adapter_path else None,
        "adapter_sha256": model_fingerprint(str(resolved.adapter_path)) if resolved.adapter_path else None,
        "adapter_weight": resolved.adapter_weight if resolved.adapter_path else None,
        "adapter_version": version_of(resolved.adapter_path),  # <brand>/v<n> from the registry, or None
        "prompt": prompt.text, "negative_prompt": prompt.negative, "prompt_family": prompt.family,
        "seed": resolved.seed, "base_seed": resolved.base_seed, "steps": resolved.steps,
        "guidance": resolved.guidance, "template": resolved.template.name, "format": resolved.format.id,
        "variant": resolved.variant, "brand": resolved.brand.id, "file_type": resolved.file_type,
        "product": resolved.product.model_dump(mode="json"),
        **({"conditioners": [ref.model_dump(mode="json") for ref in resolved.brand.conditioners]}
           if resolved.brand.conditioners else {}),
    }


def _encode_draft(draft: Draft) -> tuple[dict, Encoded]:
    """The recipe (with any fixes applied) and the signed bytes for one draft of the asset."""
    asset_recipe = recipe(draft.resolved, draft.prompt)
    product = draft.composition.layer("product")
    if product is not None and product.cutout is not None:
        # What became of a product photo without alpha: its digest, the matte's confidence, placed or framed.
        asset_recipe["product_cutout"] = {k: v for k, v in product.cutout.items() if k not in ("path", "shadow_path")}
    guide = guide_record(draft.plan, calm_only=calms_without_product(draft.plan, draft.resolved.model))
    if guide is not None:
        # What the generator was given from the plan (the plan itself follows from the request).
        asset_recipe["plate_guide"] = guide
    if draft.applied:
        asset_recipe["fixes"] = list(draft.applied)
    encoded = encode(draft.pixels, file_type=draft.resolved.file_type, max_kb=draft.resolved.format.max_kb,
                     recipe=asset_recipe, asset_id=asset_id(asset_recipe),
                     composite=any(layer.kind == "image" for layer in draft.composition.layers))
    return asset_recipe, encoded


def asset_id(asset_recipe: dict) -> str:
    """A stable id from the recipe: the same recipe always names (and watermarks) the same asset."""
    canonical = json.dumps(asset_recipe, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


def _report_document(asset_recipe, composition, report, quality) -> dict:
    return {
        **report.as_dict(),
        "asset_id": asset_id(asset_recipe),
        "recipe": asset_recipe,
        "encoding": {"file_type": asset_recipe["file_type"], "quality": quality},
        "layers": [{"name": layer.name, "kind": layer.kind, "box": list(layer.box.as_tuple()),
                    "slot_box": list(layer.slot_box.as_tuple()), "text": layer.text,
                    "font_size_px": layer.font_size_px, "color": layer.color, "scrim": layer.scrim,
                    "lines": list(layer.lines), "source": str(layer.source) if layer.source else None,
                    "notes": list(layer.notes)} for layer in composition.layers],
        "notes": list(composition.notes),
    }
