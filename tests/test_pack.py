"""Packaging: dielines as data, GTIN barcodes that scan, a PDF/X-4 an independent reader accepts.

The PDF is read back with pypdf (structure) and rendered by Ghostscript (pixels); barcodes are
decoded from that rendering by zxing-cpp, at print resolution and the smallest allowed size.
Plates here are a synthetic gradient (the pack is about layout and the file, not the model),
except the CLI test, which runs adgen-tiny end to end.
"""

from __future__ import annotations

import io
import re
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from adgen.barcodes import SYMBOLOGIES, barcode, validate_gtin
from adgen.cli import app
from adgen.dieline_svg import dieline_svg
from adgen.dielines import dieline
from adgen.errors import InputError, NotFoundError
from adgen.loading import validate
from adgen.pack import PackRequest, make_pack
from adgen.pack_label import label_rules
from adgen.pdf_render import render_pdf
from adgen.spec import ProductSpec, load_product

REPO = Path(__file__).resolve().parents[1]
PRODUCTS = REPO / "examples" / "products"
DIELINES = REPO / "examples" / "dielines"
MM_PER_INCH = 25.4
PT = 72 / 25.4
needs_gs = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript (apt-get install ghostscript)")


def gradient(width=480, height=320) -> Image.Image:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(40, 220, width)[None]
    pixels[..., 1] = np.linspace(90, 200, height)[:, None]
    pixels[..., 2] = 140
    return Image.fromarray(pixels)


@pytest.fixture(scope="module")
def cold_brew_pack(tmp_path_factory):
    product = load_product(PRODUCTS / "northwind-cold-brew.yaml")
    request = PackRequest(product=product, brand="northwind", dieline="tuck:70x30x120")
    return make_pack(request, tmp_path_factory.mktemp("pack"), plate=gradient())


# --- dielines ---

@pytest.mark.parametrize("box, names", [
    ("tuck:70x30x120", {"glue", "side-left", "front", "side-right", "back", "top", "bottom"}),
    ("rsc:300x200x150", {"glue", "front", "side-left", "back", "side-right", "flap-top-front"}),
    ("pouch:120x180", {"front", "back"}),
    ("label:90x60", {"front"}),
])
def test_a_box_by_its_sizes_gives_named_panels_and_reads_back_from_its_svg(box, names, tmp_path):
    flat = dieline(box)
    assert names <= {p.name for p in flat.panels}
    sizes = [float(v) for v in box.split(":")[1].split("x")]
    front = flat.panel("front")
    assert (front.w, front.h) == (sizes[0], sizes[-1])  # W by H, whatever the depth
    svg = tmp_path / "flat.svg"
    svg.write_text(dieline_svg(flat), encoding="utf-8")
    again = dieline(svg)
    key = lambda p: (p.name, round(p.x, 2), round(p.y, 2), round(p.w, 2), round(p.h, 2), p.role, p.rotation, p.safe)
    assert sorted(map(key, again.panels)) == sorted(map(key, flat.panels))
    assert (again.width_mm, again.height_mm, again.bleed_mm) == (flat.width_mm, flat.height_mm, flat.bleed_mm)
    assert len(again.cut) == len(flat.cut) and len(again.crease) == len(flat.crease)


def test_the_tuck_box_glue_flap_meets_the_body_at_a_crease_and_takes_no_art():
    flat = dieline("tuck:70x30x120")
    glue, side = flat.panel("glue"), flat.panel("side-left")
    assert not glue.printable and side.printable
    seam = ((glue.x + glue.w, glue.y), (glue.x + glue.w, glue.y + glue.h))
    assert seam in flat.crease


@pytest.mark.parametrize("source, field", [
    ("tuck:70x30", "box"), ("cube:70x30x120", "box"), ("tuck:1x30x120", "box"), ("carton.ai", "dieline"),
])
def test_a_bad_box_or_dieline_is_an_input_error_naming_it(source, field):
    with pytest.raises(InputError) as caught:
        dieline(source)
    assert caught.value.field == field and caught.value.value == source


def test_an_svg_without_the_cut_layer_is_refused_by_name(tmp_path):
    svg = tmp_path / "no-cut.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="100mm" viewBox="0 0 100 100">'
                   '<g id="panels"><rect id="front" x="0" y="0" width="100" height="100"/></g></svg>')
    with pytest.raises(InputError) as caught:
        dieline(svg)
    assert caught.value.field == "dieline.cut"
    with pytest.raises(NotFoundError):
        dieline(tmp_path / "missing.svg")


def test_the_example_dielines_load():
    carton = dieline(DIELINES / "northwind-carton.svg")
    pouch = dieline(DIELINES / "sakura-pouch.svg")
    assert carton.panel("glue") is not None and carton.panel("back") is not None
    assert {p.name for p in pouch.panels} == {"front", "back"}
    assert pouch.panel("front").safe[0] == 12.0  # the top seal stays out of the safe area


# --- GTIN and barcodes ---

@pytest.mark.parametrize("gtin", ["4512345678906", "081234567897", "96385074", "15400141288763"])
def test_a_valid_gtin_is_kept(gtin):
    assert validate_gtin(gtin) == gtin
    product = validate(ProductSpec, {"sku": "A", "name": "n", "headline": "h", "gtin": gtin}, file="p.yaml")
    assert product.gtin == gtin


@pytest.mark.parametrize("gtin", ["4512345678900", "08123456789", "45123456789O6", "123"])
def test_a_bad_gtin_is_an_input_error_naming_field_and_value(gtin):
    with pytest.raises(InputError) as caught:
        validate(ProductSpec, {"sku": "A", "name": "n", "headline": "h", "gtin": gtin}, file="p.yaml")
    assert (caught.value.field, caught.value.value) == ("gtin", gtin)


def test_barcode_sizes_follow_the_nominal_dimensions_and_the_magnification_range():
    ean = barcode("4512345678906")
    assert ean.width_mm == pytest.approx(113 * 0.330, abs=0.01)  # 37.29 mm with both quiet zones
    assert barcode("4512345678906", magnification=0.8).width_mm == pytest.approx(0.8 * ean.width_mm, abs=0.01)
    for bad in (0.79, 2.01):
        with pytest.raises(InputError) as caught:
            barcode("4512345678906", magnification=bad)
        assert caught.value.field == "magnification"
    bars = sorted(ean.bars, key=lambda r: r.x)
    assert bars[0].x == pytest.approx(11 * 0.330)  # the left quiet zone is 11 modules, kept clear


# The smallest each symbology allows, on a carton whose back has room for it.
SMALLEST = [("4512345678906", "EAN-13"), ("081234567897", "UPC-A"), ("15400141288763", "ITF-14")]


@needs_gs
@pytest.mark.parametrize("gtin, kind", SMALLEST)
def test_the_printed_barcode_decodes_to_the_gtin_at_its_smallest_size(gtin, kind, tmp_path):
    """Ghostscript renders the press PDF at 300 dpi; zxing-cpp (an independent decoder) reads it."""
    import zxingcpp

    smallest = SYMBOLOGIES[len(gtin)].magnification[0]
    base = load_product(PRODUCTS / "northwind-cold-brew.yaml")
    product = base.model_copy(update={"gtin": gtin, "label": base.label.model_copy(update={"qr_url": None})})
    result = make_pack(PackRequest(product=product, brand="northwind", dieline="tuck:90x30x120",
                                   magnification=smallest), None, plate=gradient())
    [page] = render_pdf(result.pdf, dpi=300)
    decoded = [r for r in zxingcpp.read_barcodes(page) if r.format.name not in ("QRCode",)]
    assert [r.text.zfill(14) for r in decoded] == [gtin.zfill(14)], (kind, [(r.format, r.text) for r in decoded])


@needs_gs
def test_a_barcode_turned_up_a_narrow_side_panel_still_decodes():
    """A 40 mm side is too narrow for an upright EAN-13 with its QR: both run up the side (ladder) and scan."""
    import zxingcpp

    product = load_product(PRODUCTS / "sakura-matcha.yaml")
    result = make_pack(PackRequest(product=product, brand="sakura", dieline="tuck:70x40x120"), None, plate=gradient())
    [page] = render_pdf(result.pdf, dpi=300)
    found = {(r.format.name, r.text, r.orientation % 180) for r in zxingcpp.read_barcodes(page)}
    assert ("EAN13", "4512345678906", 90) in found and ("QRCode", "https://example.com/sakura/matcha", 90) in found


@needs_gs
def test_the_qr_code_carries_the_label_url(cold_brew_pack):
    import zxingcpp

    [page] = render_pdf(cold_brew_pack.pdf, dpi=300)
    texts = {r.text for r in zxingcpp.read_barcodes(page)}
    assert "https://example.com/northwind/cold-brew" in texts


# --- the press PDF, read by an independent reader ---

def test_the_pdf_has_trim_bleed_and_media_boxes_that_nest(cold_brew_pack):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(cold_brew_pack.pdf))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    flat = cold_brew_pack.flat
    trim, bleed, media = (page.trimbox, page.bleedbox, page.mediabox)
    assert float(trim.width) == pytest.approx(flat.width_mm * PT, abs=0.01)
    assert float(trim.height) == pytest.approx(flat.height_mm * PT, abs=0.01)
    for side in ("left", "bottom"):
        assert float(getattr(trim, side)) - float(getattr(bleed, side)) == pytest.approx(3 * PT, abs=0.01)
        assert float(getattr(bleed, side)) >= float(getattr(media, side))
    for side in ("right", "top"):
        assert float(getattr(bleed, side)) - float(getattr(trim, side)) == pytest.approx(3 * PT, abs=0.01)
        assert float(getattr(media, side)) >= float(getattr(bleed, side))


def test_the_pdf_declares_pdfx4_with_a_cmyk_output_intent(cold_brew_pack):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(cold_brew_pack.pdf))
    assert reader.pdf_header.endswith(("1.6", "1.7"))
    assert reader.metadata["/GTS_PDFXVersion"] == "PDF/X-4"
    [intent] = reader.trailer["/Root"]["/OutputIntents"]
    intent = intent.get_object()
    assert intent["/S"] == "/GTS_PDFX"
    profile = intent["/DestOutputProfile"].get_object()
    icc = profile.get_data()
    assert profile["/N"] == 4 and icc[16:20] == b"CMYK" and icc[12:16] == b"prtr"  # ICC header: CMYK output profile
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert "PDF/X-4" in xmp and "pdfxid" in xmp


def test_every_font_is_embedded_as_a_subset(cold_brew_pack):
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(cold_brew_pack.pdf)).pages[0]
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    assert fonts
    for font in fonts:
        descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)[
            "/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile2", "/FontFile3", "/FontFile")), font["/BaseFont"]
        assert re.fullmatch(r"/[A-Z]{6}\+.+", font["/BaseFont"]), font["/BaseFont"]


def test_the_plate_is_cmyk_at_300_ppi_or_more_at_its_placed_size(cold_brew_pack):
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(cold_brew_pack.pdf)).pages[0]
    images = [x.get_object() for x in page["/Resources"]["/XObject"].values() if x.get_object()["/Subtype"] == "/Image"]
    bleed = page.bleedbox
    [plate] = images
    assert plate["/ColorSpace"] == "/DeviceCMYK"
    assert plate["/Width"] / (float(bleed.width) / 72) >= 300
    assert plate["/Height"] / (float(bleed.height) / 72) >= 300


def test_the_dieline_is_an_overprinting_spot_colour_on_its_own_layer(cold_brew_pack):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(cold_brew_pack.pdf))
    resources = reader.pages[0]["/Resources"]
    spaces = [cs.get_object() for cs in resources["/ColorSpace"].values()]
    assert any(cs[0] == "/Separation" and cs[1] == "/Dieline" for cs in spaces)
    states = [gs.get_object() for gs in resources["/ExtGState"].values()]
    assert any(bool(gs.get("/OP", False)) and bool(gs.get("/op", False)) for gs in states)  # pypdf BooleanObject
    groups = reader.trailer["/Root"]["/OCProperties"]["/OCGs"]
    assert [g.get_object()["/Name"] for g in groups] == ["Dieline"]


@needs_gs
def test_ghostscript_renders_the_page_and_the_glue_flap_takes_no_ink(cold_brew_pack):
    """Artwork never crosses the crease into the glue flap: its inside is paper white, its neighbour is not."""
    from adgen.pack_pdf import SLUG_MM

    [page] = render_pdf(cold_brew_pack.pdf, dpi=100)
    flat = cold_brew_pack.flat
    offset = SLUG_MM + flat.bleed_mm
    px = lambda mm: round((mm + offset) / MM_PER_INCH * 100)

    def inside(panel):
        return np.asarray(page.crop((px(panel.x + 2), px(panel.y + 2), px(panel.x + panel.w - 2),
                                     px(panel.y + panel.h - 2))), dtype=np.int16)

    assert inside(flat.panel("glue")).min() >= 250
    assert inside(flat.panel("side-left")).mean() < 230


def test_back_label_text_is_at_or_above_the_locales_legal_minimum(tmp_path):
    for name, brand in (("northwind-cold-brew.yaml", "northwind"), ("sakura-matcha.yaml", "sakura")):
        product = load_product(PRODUCTS / name)
        result = make_pack(PackRequest(product=product, brand=brand, dieline="pouch:120x180"), None, plate=gradient())
        rules = label_rules(product.locale)
        floor_pt = rules.min_size_pt or rules.min_x_height_mm / 0.536 * 72 / 25.4
        back = next(art for art in _art(result) if art.panel.name == "back")
        assert back.body_size_pt >= floor_pt - 1e-6
        assert all(run.size_mm * PT >= floor_pt - 1e-6 for run in back.texts), name
        assert not [n for n in result.notes if "legal minimum" in n]


def test_label_text_too_long_for_its_panel_and_a_barcode_without_room_say_so():
    product = load_product(PRODUCTS / "northwind-cold-brew.yaml")
    label = product.label.model_copy(update={"ingredients": "Coffee, water. " * 120})
    long_text = make_pack(PackRequest(product=product.model_copy(update={"label": label}), brand="northwind",
                                      dieline="pouch:100x120"), None, plate=gradient())
    assert any("legal minimum" in n for n in long_text.notes), long_text.notes
    no_room = make_pack(PackRequest(product=product, brand="northwind", dieline="label:60x40"), None, plate=gradient())
    assert any("no side or back panel" in n for n in no_room.notes)  # a label has no back: no room for a barcode


def _art(result):
    """The panel art of a pack, laid out again from the same inputs (make_pack keeps only files)."""
    from adgen.pack import PACK_FORMAT
    from adgen.pack_art import pack_art
    from adgen.request import AssetRequest, resolve

    request = result.request
    resolved = resolve(AssetRequest(product=request.product, brand=request.brand, format=PACK_FORMAT))
    return pack_art(gradient(), result.flat, resolved).panels


def test_nutrition_amounts_are_decimals_not_floats():
    product = load_product(PRODUCTS / "sakura-matcha.yaml")
    assert product.label.nutrition[1].amount == Decimal("29.6")


# --- CLI ---

@pytest.mark.slow
@needs_gs
def test_pack_needs_only_brand_product_and_a_dieline(tmp_path, monkeypatch):
    """adgen-tiny makes the plate at its default steps; the PDF and previews land in ./out."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["pack", "--brand", "sakura", "--product", str(PRODUCTS / "sakura-matcha.yaml"),
                                      "--dieline", str(DIELINES / "sakura-pouch.svg")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "SK-MT-100"
    assert (folder / "pack-sakura-pouch.pdf").read_bytes().startswith(b"%PDF-1.6")
    assert Image.open(folder / "pack-sakura-pouch.panel-front.png").size[0] > 100
    both = CliRunner().invoke(app, ["pack", "--brand", "sakura", "--product", str(PRODUCTS / "sakura-matcha.yaml")])
    assert both.exit_code != 0 and "--dieline" in str(both.exception)


def test_an_svg_dieline_gives_plain_numbers():
    """svgelements can hand numpy floats; the PDF writer (qpdf) cannot encode them."""
    flat = dieline(DIELINES / "northwind-carton.svg")
    values = [flat.width_mm, flat.height_mm, flat.bleed_mm, *(v for line in flat.cut for pt in line for v in pt),
              *(v for p in flat.panels for v in (p.x, p.y, p.w, p.h))]
    assert all(type(v) is float for v in values)


def test_the_app_form_round_trips_a_spec_with_a_label_block():
    """The label block is a nested record: the app's form edits it as YAML and reads it back whole."""
    from adgen import ui_session

    product = load_product(PRODUCTS / "sakura-matcha.yaml")
    form = ui_session.form_from_product(product)
    assert ui_session.field_kind("label") == "yaml" and "nutrient: エネルギー" in form["label"]
    assert ui_session.product_from_form(form) == product
    with pytest.raises(InputError) as caught:
        ui_session.product_from_form({**form, "label": "- just a list"})
    assert caught.value.field == "label"


@pytest.mark.parametrize("panels, why", [
    ('<rect id="front" x="0" y="0" width="5" height="100"/>', "front"),
    ('<rect id="front" x="0" y="0" width="100" height="100"/><rect id="back" x="90" y="0" width="100" height="100"/>',
     "overlap"),
    ('<rect id="front" x="0" y="0" width="100" height="100" data-safe="60"/>', "safe"),
])
def test_an_svg_with_unusable_panels_is_refused(panels, why, tmp_path):
    svg = tmp_path / "bad.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="200mm" height="100mm" viewBox="0 0 200 100">'
                   '<g id="cut"><path d="M0,0 L200,0 L200,100 L0,100 Z"/></g>'
                   f'<g id="panels">{panels}</g></svg>', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        dieline(svg)
    assert caught.value.field == "dieline.panels", why


@needs_gs
def test_the_app_packaging_tab_makes_a_pack_from_the_design_form(tmp_path):
    """The tab's endpoint is public as `pack`; its handler (called as Gradio would) returns the preview and PDF."""
    from adgen import ui_session
    from adgen.spec import ProductSpec
    from adgen.ui import build_ui
    from adgen.ui_packaging import make_pack_for_form

    blocks = build_ui()
    assert "/pack" in blocks.get_api_info()["named_endpoints"]
    form = ui_session.form_from_product(load_product(PRODUCTS / "sakura-matcha.yaml"))
    values = [form[name] for name in ProductSpec.model_fields]
    preview, gallery, pdf, notes = make_pack_for_form(
        "sakura", *values, "", "pouch:120x180", None, 0, 1.0, "", 2, lambda *a, **k: None, None)
    assert preview.size[0] > 200 and {name for _, name in gallery} == {"front", "back"}
    assert Path(pdf).read_bytes().startswith(b"%PDF-1.6")
    assert [p["name"] for p in notes["panels"]] == ["front", "back"]


def _pdf_dieline(flat, path: Path, *, spots=("CutContour", "Crease")) -> Path:
    """Draw a dieline as a converter's PDF would: cut and crease in spot colours, panels named by text inside."""
    from reportlab.lib.colors import CMYKColorSep
    from reportlab.pdfgen import canvas

    mm = 72 / 25.4
    b = flat.bleed_mm
    height = (flat.height_mm + 2 * b) * mm
    page = canvas.Canvas(str(path), pagesize=((flat.width_mm + 2 * b) * mm, height))
    X, Y = (lambda v: (v + b) * mm), (lambda v: height - (v + b) * mm)
    for lines, spot, dash in ((flat.cut, spots[0], ()), (flat.crease, spots[1], (3, 2))):
        page.setStrokeColor(CMYKColorSep(0, 1, 0, 0, spotName=spot))
        page.setDash(*dash) if dash else page.setDash()
        for line in lines:
            drawn = page.beginPath()
            drawn.moveTo(X(line[0][0]), Y(line[0][1]))
            for x, y in line[1:]:
                drawn.lineTo(X(x), Y(y))
            page.drawPath(drawn, stroke=1, fill=0)
    page.setDash()
    page.setStrokeColor(CMYKColorSep(0, 0, 1, 0, spotName="Panels"))
    page.setFillColor(CMYKColorSep(0, 0, 1, 0, spotName="Panels"))
    for p in flat.panels:
        page.rect(X(p.x), Y(p.y + p.h), p.w * mm, p.h * mm, stroke=1, fill=0)
        page.setFont("Helvetica", 5)
        page.drawCentredString(X(p.x + p.w / 2), Y(p.y + p.h / 2), p.name.upper())
    page.save()
    return path


def test_a_pdf_dieline_reads_like_its_svg(tmp_path):
    """Spot colours CutContour and Crease, panels named by the text inside them: the same flat comes back."""
    flat = dieline(DIELINES / "northwind-carton.svg")
    again = dieline(_pdf_dieline(flat, tmp_path / "carton.pdf"))
    key = lambda p: (p.name, round(p.x, 1), round(p.y, 1), round(p.w, 1), round(p.h, 1), p.role)  # noqa: E731
    assert sorted(map(key, again.panels)) == sorted(map(key, flat.panels))
    assert (round(again.width_mm, 1), round(again.height_mm, 1)) == (flat.width_mm, flat.height_mm)
    assert len(again.crease) == len(flat.crease) and again.cut


def test_a_pdf_dieline_in_one_spot_tells_creases_by_their_dashes(tmp_path):
    flat = dieline("tuck:70x30x120")
    again = dieline(_pdf_dieline(flat, tmp_path / "one-spot.pdf", spots=("Dieline", "Dieline")))
    assert len(again.crease) == len(flat.crease) and len(again.cut) == len(flat.cut)
    with pytest.raises(InputError) as caught:
        dieline(_pdf_dieline(flat, tmp_path / "unnamed.pdf", spots=("Spot1", "Spot2")))
    assert caught.value.field == "dieline.cut"


def test_a_pack_leaves_no_fonts_in_reportlabs_registry(cold_brew_pack):
    """A service makes packs all day: each pack's subset fonts are dropped once its PDF is written."""
    from reportlab.pdfbase import pdfmetrics

    assert not [name for name in pdfmetrics.getRegisteredFontNames() if name.startswith("adgen-")]


def test_legal_text_and_the_dieline_are_tagged_for_a_preflight(cold_brew_pack):
    """Label text sits in /Mandatory marked content, the dieline in /Dieline inside its layer, innermost."""
    import pikepdf

    pdf = pikepdf.open(io.BytesIO(cold_brew_pack.pdf))
    ops = [(list(operands), str(op)) for operands, op in pikepdf.parse_content_stream(pdf.pages[0])]
    tags, shown = [], {}
    for operands, op in ops:
        if op in ("BMC", "BDC"):
            tags.append(str(operands[0]))
        elif op == "EMC":
            tags.pop()
        elif op == "Tj":
            shown.setdefault(tags[-1] if tags else None, []).append(bytes(operands[0]))
        elif op in ("S", "s") and tags:
            assert tags[-1] in ("/Dieline", "/Mandatory"), tags
    assert len(shown.get("/Mandatory", [])) >= 10  # every label line, table cell and the net quantity
    assert shown.get(None)  # barcode digits and the spine's brand name are not mandatory text
    assert ["/OC", "/Dieline"] == [str(o[0]) for o, op in ops if op in ("BMC", "BDC")][-2:]


def test_our_pack_passes_our_own_preflight(cold_brew_pack, tmp_path):
    """The writer and the preflight were built apart; a pack must clear every preflight rule of its locale."""
    from adgen.compliance.preflight import open_pdf, preflight

    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(cold_brew_pack.pdf)
    report = preflight(open_pdf(pdf, locale="en-US"))
    failing = [(f.rule, f.message) for f in report.findings if f.status not in ("pass", "skip")]
    assert not failing, failing
    assert {"pdf.boxes", "pdf.output-intent", "ink.total-coverage", "barcode.size"} <= {f.rule for f in report.findings}
