"""The designer app's parts without a server: form <-> ProductSpec, brand card, findings drawn, build."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from adgen.compliance import Finding, Report
from adgen.errors import InputError
from adgen.geometry import Box
from adgen.spec import ProductSpec, load_product
from adgen.ui_render import draw_findings
from adgen.ui_session import form_from_product, product_from_form
from conftest import EXAMPLES


@pytest.mark.parametrize("example", sorted((EXAMPLES / "products").glob("*.yaml")), ids=lambda p: p.stem)
def test_form_round_trips_every_example(example):
    product = load_product(example)
    assert product_from_form(form_from_product(product)) == product


def test_blank_form_values_are_unset_and_lists_are_lines():
    product = product_from_form({"sku": " A-1 ", "name": "Tea", "headline": "Hi", "subhead": "  ", "price": None,
                                 "features": "one\n\n  two \n", "product_image": None})
    assert (product.sku, product.subhead, product.price, product.features) == ("A-1", None, None, ("one", "two"))


@pytest.mark.parametrize("values, field", [({"sku": "bad sku!", "name": "n", "headline": "h"}, "sku"),
                                           ({"sku": "A", "name": "n"}, "headline"),
                                           ({"sku": "A", "name": "n", "headline": "h", "locale": "english"}, "locale")])
def test_form_errors_name_the_field(values, field):
    with pytest.raises(InputError) as caught:
        product_from_form(values)
    assert caught.value.field == field


def test_findings_are_drawn_by_status_on_a_scaled_copy():
    image = Image.new("RGB", (100, 50), "white")
    report = Report(findings=(Finding("text.contrast", "fail", "error", "low", box=Box(10, 10, 40, 30)),
                              Finding("format.size", "pass", "error", "ok")))
    drawn = np.asarray(draw_findings(image, report, ((60, 5, 90, 45),)))
    assert drawn.shape == (350, 700, 3)  # small formats are scaled up for inspection
    assert tuple(drawn[200, 70]) == (0xCF, 0x22, 0x2E)       # the failing box's left edge, in red
    assert tuple(drawn[100, 420]) != (255, 255, 255)         # the layer's outline, in grey
    assert tuple(drawn[150, 300]) == (255, 255, 255)         # the image itself untouched
    assert np.asarray(image).min() == 255                    # and the input is not modified


def test_brand_card_shows_palette_logo_and_fonts():
    from adgen.brand import load_brand
    from adgen.ui_render import brand_card_html

    kit = load_brand("northwind")
    card = brand_card_html(kit)
    assert all(hex_value.upper() in card for hex_value in kit.palette.values())
    assert "data:image/png;base64," in card and kit.fonts.headline.family in card and kit.name in card


def test_app_builds_a_form_input_for_every_spec_field_with_its_description():
    from adgen.ui import build_ui

    blocks = build_ui(model="some/model")
    by_id = {block.elem_id: block for block in blocks.blocks.values() if getattr(block, "elem_id", None)}
    for name, field in ProductSpec.model_fields.items():
        component = by_id[f"field-{name}"]
        info = getattr(component, "info", None) or by_id[f"field-{name}-info"].value  # images: a caption below
        assert info == field.description, name
    assert by_id["model"].value == "some/model"
    names = {dep.get("api_name") for dep in blocks.config["dependencies"] if dep.get("api_visibility") == "public"}
    assert {"generate", "check", "regenerate", "relayout"} <= names
    generate = blocks.get_api_info()["named_endpoints"]["/generate"]
    assert [p["parameter_name"] for p in generate["parameters"]] == [
        "brand", *ProductSpec.model_fields, "formats", "variants", "seed", "model", "steps", "cutout"]


def test_cli_help_does_not_import_gradio():
    code = ("import sys; from typer.testing import CliRunner; from adgen.cli import app; "
            "r = CliRunner().invoke(app, ['ui', '--help']); assert r.exit_code == 0, r.output; "
            "assert '--port' in r.output; print('gradio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_served_app_offers_only_the_servers_models_and_its_api(tmp_path):
    """Under `adgen serve --ui` the model is a choice among the configured ones, never a free-text path."""
    from fastapi.testclient import TestClient

    from adgen.apikeys import create_key
    from adgen.service import ServiceSettings, create_app
    from adgen.settings import adgen_home

    _, key = create_key(["northwind"], "designers")
    app = create_app(ServiceSettings(home=adgen_home(), run_worker=False, ui=True, model="/models/house-sdxl"))
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {key}"}
        assert "/generate" in client.get("/ui/gradio_api/info", headers=auth).json()["named_endpoints"]
        config = client.get("/ui/config", headers=auth).json()
    model = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "model")
    assert model["type"] == "dropdown"
    assert [choice[1] for choice in model["props"]["choices"]] == ["/models/house-sdxl"]
