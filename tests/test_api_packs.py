"""POST /v1/packs in-process: keyed and brand-scoped, a PDF/X-4 back, bad dielines refused by field."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from api_helpers import product
from fastapi.testclient import TestClient

from adgen.apikeys import create_key
from adgen.service import ServiceSettings, create_app
from adgen.settings import adgen_home

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript renders the pack previews")


@pytest.fixture
def client():
    # steps=2: the plate is generated in the request with the service's model (adgen-tiny here).
    with TestClient(create_app(ServiceSettings(home=adgen_home(), run_worker=False, steps=2))) as test_client:
        yield test_client


@pytest.fixture
def northwind_key():
    _, plaintext = create_key(["northwind"], "shop-a")
    return {"Authorization": f"Bearer {plaintext}"}


def test_a_pack_comes_back_as_a_pdfx4_with_the_boxes(client, northwind_key):
    from pypdf import PdfReader

    import yaml

    label = yaml.safe_load((REPO / "examples" / "products" / "northwind-cold-brew.yaml").read_text())["label"]
    body = {"product": product(image=True, gtin="081234567897", label=label), "brand": "northwind",
            "box": "tuck:70x30x120"}
    response = client.post("/v1/packs", headers=northwind_key, json=body)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert "Nutrition Facts" in reader.pages[0].extract_text()  # the label block came through the JSON body
    assert reader.metadata["/GTS_PDFXVersion"] == "PDF/X-4"
    assert float(reader.pages[0].trimbox.width) == pytest.approx(215 * 72 / 25.4, abs=0.01)


def test_packs_are_keyed_and_scoped_to_the_keys_brands(client, northwind_key):
    body = {"product": product(), "brand": "sakura", "box": "pouch:120x180"}
    assert client.post("/v1/packs", json=body).status_code == 401
    refused = client.post("/v1/packs", headers=northwind_key, json=body)
    assert refused.status_code == 403, refused.text


@pytest.mark.parametrize("extra, gtin, field", [
    ({"box": "tuck:70x30x120", "dieline_svg": "<svg/>"}, None, None),
    ({"box": "cube:70x30x120"}, None, "box"),
    ({"box": "tuck:70x30x120"}, "0812345678910", "product.gtin"),  # check digit should be 7
    ({"dieline_svg": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>'}, None, "dieline"),
])
def test_a_bad_pack_request_is_a_4xx_naming_the_field(client, northwind_key, extra, gtin, field):
    spec = product(gtin=gtin) if gtin else product()
    response = client.post("/v1/packs", headers=northwind_key, json={"product": spec, "brand": "northwind", **extra})
    assert 400 <= response.status_code < 500, response.text
    if field:
        assert response.json()["error"]["field"] == field, response.json()


def test_a_product_image_url_is_fetched_under_the_hostile_url_rules(client, northwind_key):
    """Schemathesis found a 500: the pack route handed product_image_url to ProductSpec, which has no such field.
    It now goes through the jobs' fetcher: a non-https or private URL is a 422 naming the field."""
    body = {"brand": "northwind", "box": "label:90x60", "product": {**product(), "product_image_url": "§j"}}
    refused = client.post("/v1/packs", headers=northwind_key, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "product.product_image_url"
    body["product"]["product_image_url"] = "https://127.0.0.1/can.png"
    private = client.post("/v1/packs", headers=northwind_key, json=body)
    assert private.status_code == 422 and private.json()["error"]["field"] == "product.product_image_url", private.text
