"""Designer and press exports: layered SVG, CMYK TIFF / PDF, and the CLI options that write them."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adgen.errors import InputError
from adgen.fonts import FontSpec, load_font, script_for
from adgen.formats import get_format
from adgen.print_export import page_size_mm, print_file, to_cmyk
from adgen.svg_export import to_svg
from test_cli import PRODUCT, adgen
from test_layout import laid_out

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("brand_id,locale,format_id", [("northwind", "en-US", "ig-square"),
                                                       ("sakura", "ja-JP", "pack-front"),
                                                       ("sakura", "zh-CN", "iab-300x250")])
def test_svg_has_one_group_per_layer_and_real_text_on_the_raster_baselines(brand_id, locale, format_id):
    request, comp = laid_out(brand_id, locale, format_id)
    root = ET.fromstring(to_svg(comp, request))
    groups = [g.get("id") for g in root.findall(f"{SVG}g")]
    assert groups == ["plate"] + [layer.name.replace(":", "-") for layer in comp.layers]
    for layer in comp.text_layers:
        texts = root.find(f"{SVG}g[@id='{layer.name}']").findall(f"{SVG}text")
        assert [t.text for t in texts] == list(layer.lines)
        for element, line, box in zip(texts, layer.lines, layer.line_boxes):
            assert element.get("fill") == layer.color and int(element.get("font-size")) == layer.font_size_px
            # Drawn where the SVG says, the line's ink lands where the raster put it (+-2 px).
            weight = int(element.get("font-weight"))
            face = load_font(FontSpec(weight=weight, file=Path(layer.font_path)),
                             script_for(layer.text, locale), layer.font_size_px)
            probe = Image.new("L", comp.image.size, 0)
            ImageDraw.Draw(probe).text((float(element.get("x")), float(element.get("y"))), line, font=face, fill=255,
                                       anchor="ls", language=locale)
            ink = probe.getbbox()
            assert max(abs(a - b) for a, b in zip(ink, box.as_tuple())) <= 2, (layer.name, ink, box)
    images = root.findall(f".//{SVG}image")
    assert all(i.get("href").startswith("data:image/png;base64,") for i in images)
    assert len(images) == 1 + sum(layer.kind == "image" for layer in comp.layers)
    if comp.layer("cta"):
        assert root.find(f"{SVG}g[@id='cta']/{SVG}rect") is not None  # the button


def test_cmyk_conversion_keeps_black_on_the_k_plate():
    rgb = Image.fromarray(np.array([[(0, 0, 0), (255, 255, 255), (27, 42, 65)]], dtype=np.uint8), "RGB")
    cmyk = [tuple(int(v) for v in px) for px in np.asarray(to_cmyk(rgb))[0]]
    assert cmyk[0] == (0, 0, 0, 255) and cmyk[1] == (0, 0, 0, 0)
    assert min(cmyk[2][:3]) == 0 and sum(cmyk[2]) <= 3 * 255  # full GCR: total ink <= 300%


def test_print_files_are_cmyk_at_300_ppi_with_bleed():
    fmt = get_format("pack-front")
    _, comp = laid_out("northwind", "en-US", "pack-front")
    tiff = Image.open(io.BytesIO(print_file(comp.image, fmt, "tiff")))
    assert tiff.mode == "CMYK" and tiff.size == fmt.size.as_tuple() and tiff.info["dpi"] == (300, 300)
    pdf = print_file(comp.image, fmt, "pdf")
    assert b"/DeviceCMYK" in pdf
    media = [float(v) for v in re.search(rb"/MediaBox \[ ?([\d. ]+)\]", pdf).group(1).split()]
    width_mm, height_mm = (v / 72 * 25.4 for v in media[2:])
    assert width_mm == pytest.approx(106, abs=0.2) and height_mm == pytest.approx(156, abs=0.2)
    assert page_size_mm(fmt) == pytest.approx((width_mm, height_mm), abs=0.2)
    with pytest.raises(InputError, match="sized in mm"):
        print_file(Image.new("RGB", (1080, 1080)), get_format("ig-square"))


def test_marks_command_prints_the_registry():
    result = adgen("marks")
    assert result.returncode == 0 and "jas-organic" in result.stdout and "fair-trade" in result.stdout


def test_generate_pack_front_writes_svg_and_cmyk_beside_the_asset(tmp_path, sd15_dir):
    out = tmp_path / "out"
    result = adgen("generate", "--brand", "northwind", "--product", PRODUCT, "--format", "pack-front",
                   "--model", sd15_dir, "--steps", "1", "--svg", "--cmyk", "--out", out)
    assert result.returncode in (0, 1), result.stderr
    folder = out / "NW-CB-001"
    names = sorted(p.name for p in folder.iterdir())
    assert {"pack-front-v1.png", "pack-front-v1.svg", "pack-front-v1.cmyk.tif", "pack-front-v1.cmyk.pdf"} <= set(names)
    assert Image.open(folder / "pack-front-v1.cmyk.tif").mode == "CMYK"
    root = ET.parse(folder / "pack-front-v1.svg").getroot()
    assert root.get("width") == "1252" and any(t.text for t in root.iter(f"{SVG}text"))
    shipped = np.asarray(Image.open(folder / "pack-front-v1.png").convert("RGB"), dtype=np.int16)
    assert shipped.shape == (1843, 1252, 3)
