"""Packaging: make_pack(request) -> PackResult. A dieline in, a press-ready PDF/X-4 and panel previews out.

The CLI (`adgen pack`), the app's packaging tab and POST /v1/packs all call make_pack; none
has packaging logic of its own. Steps mirror pipeline.run: resolve, prompt, generate one plate
for the whole flat, lay the panels out, write the PDF, render it back for the previews.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from adgen.dielines import Dieline, dieline
from adgen.formats import MM_PER_INCH, Format, SafeArea
from adgen.layout_templates import template_for
from adgen.request import AssetRequest, resolve
from adgen.spec import ProductSpec
from adgen.step_timer import StepTimer

PACK_FORMAT = "pack-front"  # the front panel's template and print settings come from this format
PREVIEW_DPI = 60


class PackRequest(BaseModel):
    """One pack: a product in a brand on a dieline (a file or a box by its sizes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product: ProductSpec
    brand: str = Field(max_length=64, description="Brand kit id (folder under brand_kits/).")
    dieline: str = Field(max_length=4096, description=(
        "An SVG or PDF dieline file (layers cut, crease, bleed, panels: docs/packaging.md) or a box by its "
        "sizes in mm: tuck:WxDxH, rsc:WxDxH, pouch:WxH, label:WxH."))
    seed: int = Field(0, ge=0, lt=2**31, description="Base seed for the plate.")
    model: str | None = Field(None, max_length=4096, description="Diffusers model; default adgen-tiny.")
    steps: int | None = Field(None, ge=1, le=150, description="Denoising steps; default per model.")
    magnification: float = Field(1.0, ge=0.4, le=2.0, description=(
        "Barcode size as a fraction of its nominal size (EAN/UPC: 0.8-2.0; ITF-14: 0.49-1.0)."))


@dataclass(frozen=True)
class PackResult:
    """What make_pack made: the PDF bytes and where it and the previews were written."""

    request: PackRequest
    flat: Dieline
    pdf: bytes
    preview: Image.Image
    panels: dict[str, Image.Image]
    notes: tuple[str, ...]
    files: dict[str, Path]
    timings_ms: dict[str, float]


def make_pack(request: PackRequest, out_dir: Path | None, *, plate: Image.Image | None = None,
              brand=None) -> PackResult:
    """Generate, lay out and write one pack; plate: bring the flat's background (tests, re-layout)."""
    from adgen.generation import generate
    from adgen.pack_art import PPI, pack_art
    from adgen.pack_pdf import press_pdf
    from adgen.pdf_render import render_pdf
    from adgen.prompt import build_prompt

    timer = StepTimer()
    lap, timings = timer.lap, timer.timings

    # 1. resolve: the dieline, and the request as the front panel's asset (template, seed, model)
    flat = dieline(request.dieline)
    resolved = resolve(AssetRequest(product=request.product, brand=request.brand, format=PACK_FORMAT,
                                    seed=request.seed, model=request.model, steps=request.steps), brand=brand)
    whole = _flat_format(flat, resolved.format, PPI)
    resolved_flat = replace(resolved, format=whole, template=template_for(whole, resolved.brand))
    lap("resolve")
    # 2. prompt, 3. generate one continuous plate at the flat's aspect
    if plate is None:
        plate = generate(build_prompt(resolved_flat), resolved_flat, None)
        lap("generate")
    # 4. panels: front composition, back label, barcode side; glue flap bare
    art = pack_art(plate, flat, resolved, magnification=request.magnification, ppi=PPI)
    lap("panels")
    # 5. press PDF (PDF/X-4)
    title = f"{resolved.product.name} - {flat.name}"
    pdf = press_pdf(art, title=title)
    lap("pdf")
    # 6. previews: the PDF as Ghostscript renders it, and each printable panel cut out of that
    preview = render_pdf(pdf, dpi=PREVIEW_DPI)[0]
    panels = _panel_crops(preview, flat, PREVIEW_DPI)
    lap("preview")
    files: dict[str, Path] = {}
    if out_dir is not None:
        files = _write(out_dir, request, resolved.product.sku, flat, pdf, preview, panels, art.notes)
    lap("export")
    return PackResult(request, flat, pdf, preview, panels, art.notes, files, timings)


def _flat_format(flat: Dieline, front: Format, ppi: int) -> Format:
    """A print format the size of the whole flat plus bleed: what the plate is generated for."""
    w_mm, h_mm = flat.width_mm + 2 * flat.bleed_mm, flat.height_mm + 2 * flat.bleed_mm
    return Format(id=f"pack-flat-{flat.name}", channel="print", width=round(w_mm / MM_PER_INCH * ppi),
                  height=round(h_mm / MM_PER_INCH * ppi), template=front.template, max_kb=front.max_kb,
                  file_types=("png",), safe_area=SafeArea(0, 0, 0, 0), width_mm=flat.width_mm,
                  height_mm=flat.height_mm, bleed_mm=flat.bleed_mm, safe_mm=0.0, ppi=ppi)


def _panel_crops(preview: Image.Image, flat: Dieline, dpi: int) -> dict[str, Image.Image]:
    from adgen.pack_pdf import SLUG_MM

    offset = SLUG_MM + flat.bleed_mm
    px = lambda mm: round((mm + offset) / MM_PER_INCH * dpi)
    return {p.name: preview.crop((px(p.x), px(p.y), px(p.x + p.w), px(p.y + p.h)))
            for p in flat.panels if p.role in ("front", "back", "side")}


def _write(out_dir: Path, request: PackRequest, sku: str, flat: Dieline, pdf: bytes, preview: Image.Image,
           panels: dict[str, Image.Image], notes: tuple[str, ...]) -> dict[str, Path]:
    """OUT/<sku>/pack-<flat>.pdf, .preview.png, one PNG per panel, .report.json (written last)."""
    import io

    from adgen.dieline_svg import dieline_svg
    from adgen.export import write_atomic

    folder = out_dir / sku
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"pack-{flat.name.replace(':', '-')}"
    files = {"pdf": folder / f"{stem}.pdf", "preview": folder / f"{stem}.preview.png",
             "dieline": folder / f"{stem}.dieline.svg"}
    write_atomic(files["pdf"], pdf)
    write_atomic(files["dieline"], dieline_svg(flat).encode("utf-8"))
    for name, image in {"preview": preview, **{f"panel-{n}": im for n, im in panels.items()}}.items():
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        path = files["preview"] if name == "preview" else folder / f"{stem}.{name}.png"
        write_atomic(path, buffer.getvalue())
        files[name] = path
    report = {"request": request.model_dump(mode="json"), "dieline": flat.name,
              "flat_mm": [flat.width_mm, flat.height_mm], "bleed_mm": flat.bleed_mm,
              "panels": [{"name": p.name, "role": p.role, "rect_mm": [p.x, p.y, p.w, p.h], "rotation": p.rotation,
                          "safe_mm": list(p.safe)} for p in flat.panels],
              "pdf_sha256": hashlib.sha256(pdf).hexdigest(), "notes": list(notes),
              "files": {k: v.name for k, v in files.items()}}
    files["report"] = folder / f"{stem}.report.json"
    write_atomic(files["report"], json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8"))
    return files
