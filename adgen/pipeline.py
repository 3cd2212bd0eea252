"""The one way to make an asset: run(request) -> AssetResult. Every entry point calls it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from adgen import __version__
from adgen.brand import BrandKit
from adgen.compliance import CheckSubject, Report, check
from adgen.composition import Composition
from adgen.encoding import encode
from adgen.export import ExportedFiles, export
from adgen.generation import generate, model_fingerprint
from adgen.layout import compose
from adgen.prompt import Prompt, build_prompt
from adgen.request import AssetRequest, ResolvedRequest, resolve


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


def run(request: AssetRequest, out_dir: Path | None, *, brand: BrandKit | None = None) -> AssetResult:
    """Make, check and (when out_dir is given) export one asset."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round((now - clock) * 1000, 1)
        clock = now

    # 1. resolve
    resolved = resolve(request, brand=brand)
    lap("resolve")
    # 2. prompt
    prompt = build_prompt(resolved)
    lap("prompt")
    # 3. generate
    plate = generate(prompt, resolved)
    lap("generate")
    # 4. compose
    composition = compose(plate, resolved)
    lap("compose")
    # 5. check (on the bytes that will ship)
    encoded = encode(composition.image, file_type=resolved.file_type, max_kb=resolved.format.max_kb)
    subject = CheckSubject(image=composition.image, format=resolved.format, brand=resolved.brand,
                           locale=resolved.product.locale, category=resolved.product.category,
                           composition=composition, encoded=encoded.data, file_type=encoded.file_type)
    report = check(subject)
    report = Report(findings=report.findings, attempts=encoded.attempts)
    lap("check")
    # 6. export
    files = None
    if out_dir is not None:
        files = export(encoded.data, _report_document(resolved, prompt, composition, report, encoded.quality),
                       out_dir=out_dir, sku=resolved.product.sku, stem=resolved.asset_stem,
                       file_type=encoded.file_type)
    lap("export")
    return AssetResult(resolved, prompt, composition, report, files, timings)


def recipe(resolved: ResolvedRequest, prompt: Prompt) -> dict:
    """Everything needed to remake the asset exactly."""
    import diffusers
    import torch

    return {
        "adgen_version": __version__, "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__,
        "model": resolved.model, "model_sha256": model_fingerprint(resolved.model),
        "adapter": str(resolved.adapter_path) if resolved.adapter_path else None,
        "adapter_sha256": model_fingerprint(str(resolved.adapter_path)) if resolved.adapter_path else None,
        "adapter_weight": resolved.adapter_weight if resolved.adapter_path else None,
        "prompt": prompt.text, "negative_prompt": prompt.negative, "prompt_family": prompt.family,
        "seed": resolved.seed, "base_seed": resolved.base_seed, "steps": resolved.steps,
        "guidance": resolved.guidance, "template": resolved.template.name, "format": resolved.format.id,
        "variant": resolved.variant, "brand": resolved.brand.id, "file_type": resolved.file_type,
        "product": resolved.product.model_dump(mode="json"),
    }


def _report_document(resolved, prompt, composition, report, quality) -> dict:
    return {
        **report.as_dict(),
        "recipe": recipe(resolved, prompt),
        "encoding": {"file_type": resolved.file_type, "quality": quality},
        "layers": [{"name": layer.name, "kind": layer.kind, "box": list(layer.box.as_tuple()),
                    "slot_box": list(layer.slot_box.as_tuple()), "text": layer.text,
                    "font_size_px": layer.font_size_px, "color": layer.color, "scrim": layer.scrim,
                    "lines": list(layer.lines), "source": str(layer.source) if layer.source else None,
                    "notes": list(layer.notes)} for layer in composition.layers],
        "notes": list(composition.notes),
    }
