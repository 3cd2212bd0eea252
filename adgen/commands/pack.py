"""`adgen pack`: a product on a dieline (a file, or a box by its sizes) -> a press-ready PDF/X-4 and previews."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from adgen.errors import InputError

console = Console()


def pack_command(
    brand: str = typer.Option(..., "--brand", "-b", help="Brand kit id (see `adgen brands`)."),
    product: Path = typer.Option(..., "--product", "-p", help="Product spec file (YAML or JSON); its gtin becomes the barcode."),
    dieline: Optional[Path] = typer.Option(None, "--dieline", "-d", help="SVG or PDF dieline: layers (or spots) cut, crease, bleed, panels (docs/packaging.md)."),
    box: Optional[str] = typer.Option(None, "--box", help="A box by its sizes in mm instead of a file: tuck:WxDxH, rsc:WxDxH, pouch:WxH, label:WxH."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder: OUT/<sku>/pack-<dieline>.pdf and previews."),
    seed: int = typer.Option(0, "--seed", "-s", min=0, help="Base seed for the plate."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Diffusers folder, .safetensors file or cached hub id; default adgen-tiny."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, max=150, help="Denoising steps (default per model)."),
    magnification: float = typer.Option(1.0, "--magnification", min=0.4, max=2.0, help="Barcode size, fraction of nominal (EAN/UPC 0.8-2.0)."),
) -> None:
    """Lay a product out on a carton, pouch or label dieline and write a PDF/X-4 for press."""
    from adgen.pack import PackRequest, make_pack
    from adgen.spec import load_product

    if (dieline is None) == (box is None):
        raise InputError("give one of --dieline FILE or --box STYLE:WxDxH", field="dieline",
                         value=str(dieline) if dieline else box)
    request = PackRequest(product=load_product(product), brand=brand, dieline=str(dieline) if dieline else box,
                          seed=seed, model=model, steps=steps, magnification=magnification)
    result = make_pack(request, out)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(f"wrote {result.files['pdf']} ({len(result.pdf) // 1024} KB, {len(result.flat.panels)} panels) "
                  f"and previews in {result.files['pdf'].parent}", highlight=False)
