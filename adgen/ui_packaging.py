"""The app's Packaging tab: the Design tab's brand and product on a dieline -> panel previews and the press PDF.

build_packaging_tab(...) adds the tab to the Blocks being built; its one handler calls
adgen.pack.make_pack (the same call as `adgen pack` and POST /v1/packs) and shows the result.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr

from adgen.settings import examples_dir

BOX_HELP = "A box by its sizes in mm: tuck:WxDxH, rsc:WxDxH, pouch:WxH or label:WxH; or pick an example dieline."


def build_packaging_tab(brand, product_fields: dict, model_box, steps) -> None:
    """The tab's inputs, outputs and its `pack` API endpoint, wired to the Design tab's brand and product form."""
    from adgen.ui import _edge, _spec_parameters

    dielines = _example_dielines()
    with gr.Tab("Packaging", id="packaging"):
        gr.Markdown("Lay the product out on a carton, pouch or label dieline: the front is the ad layout, the back "
                    "the label text from the spec's `label`, the side the `gtin` barcode. The PDF is PDF/X-4 "
                    "(docs/packaging.md).")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320):
                example = gr.Dropdown(["", *dielines], value=next(iter(dielines), ""), label="Example dieline",
                                      elem_id="pack-example")
                box = gr.Textbox("", label="…or a box", placeholder="tuck:70x30x120", info=BOX_HELP, elem_id="pack-box")
                upload = gr.File(label="…or your SVG dieline", file_types=[".svg"], type="filepath",
                                 elem_id="pack-svg")
                seed = gr.Number(0, precision=0, minimum=0, label="Seed", elem_id="pack-seed")
                magnification = gr.Slider(0.8, 2.0, value=1.0, step=0.05, label="Barcode magnification",
                                          info="EAN/UPC: 80-200 % of nominal (ITF-14 is capped at 100 %).",
                                          elem_id="pack-magnification")
                button = gr.Button("Make pack", variant="primary", elem_id="pack-make")
            with gr.Column(scale=3, min_width=480):
                preview = gr.Image(label="Flat (as Ghostscript renders the PDF; dieline in magenta)", type="pil",
                                   format="png", interactive=False, elem_id="pack-preview")
                panels = gr.Gallery(label="Panels", columns=4, height="auto", object_fit="contain",
                                    allow_preview=True, elem_id="pack-panels")
                pdf = gr.File(label="Press PDF (PDF/X-4)", interactive=False, elem_id="pack-pdf")
                notes = gr.JSON(label="Notes and panels")

    handler = _spec_parameters(("brand",), ("example", "box", "svg", "seed", "magnification", "model", "steps"),
                               progress=True)(_edge(make_pack_for_form))
    button.click(handler, [brand, *product_fields.values(), example, box, upload, seed, magnification, model_box,
                           steps], [preview, panels, pdf, notes], api_name="pack")


def make_pack_for_form(*values):
    """Form values -> make_pack -> (preview, panel gallery, PDF path, notes)."""
    from adgen.pack import PackRequest, make_pack
    from adgen.spec import ProductSpec
    from adgen.ui import _authorize
    from adgen.ui_session import product_from_form

    names = list(ProductSpec.model_fields)
    brand, values = values[0], values[1:]
    product = product_from_form(dict(zip(names, values[:len(names)])))
    example, box, svg, seed, magnification, model, steps, progress, request = values[len(names):]
    model = (model or "").strip() or None
    _authorize(request, brand=brand, model=model, files=[product.product_image, svg])
    source = svg or (box or "").strip() or (str(_example_dielines()[example]) if example else "")
    if not source:
        raise gr.Error("Pick an example dieline, type a box (tuck:70x30x120) or upload an SVG.",
                       title="Check the field 'dieline'")
    progress(0.1, desc="generating the plate for the flat")
    out = Path(tempfile.mkdtemp(prefix="adgen-pack-"))
    result = make_pack(PackRequest(product=product, brand=brand, dieline=source, seed=int(seed or 0), model=model,
                                   steps=int(steps) if steps else None, magnification=float(magnification or 1.0)),
                       out)
    gallery = [(image, name) for name, image in result.panels.items()]
    report = json.loads(result.files["report"].read_text(encoding="utf-8"))
    return result.preview, gallery, str(result.files["pdf"]), {"notes": report["notes"], "panels": report["panels"]}


def _example_dielines() -> dict[str, Path]:
    folder = examples_dir() / "dielines"
    return {path.stem: path for path in sorted(folder.glob("*.svg"))} if folder.is_dir() else {}
