"""Inputs are refused up front, the same way at every entry point, and nothing a caller sends is unbounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from PIL import Image

from adgen.errors import AdgenError, InputError
from adgen.limits import Limits, TooLarge
from adgen.loading import validate
from adgen.spec import ProductSpec
from adgen.validation import validate_request

GOOD = {"sku": "NW-CB-001", "name": "Northwind Cold Brew", "headline": "Smooth cold brew", "cta": "Shop now",
        "price": "14.99", "category": "coffee", "marks": ["fair-trade"]}


def spec(**fields) -> ProductSpec:
    return validate(ProductSpec, {**GOOD, **fields}, file=None)


def request(**overrides) -> dict:
    return {"products": [dict(GOOD)], "brand": "northwind", "formats": ["ig-square"], "variants": 1, **overrides}


def refusal(body: dict, product_field: str = "products.{index}", **options) -> AdgenError:
    products = [validate(ProductSpec, p, file=None) for p in body["products"]]
    with pytest.raises(AdgenError) as err:
        validate_request(products, body["brand"], body["formats"], body["variants"], product_field=product_field,
                         **options)
    return err.value


# (case, request, field the caller wrote, words of the message)
BAD_REQUESTS = [
    ("unknown brand", request(brand="acme"), "brand", "unknown brand"),
    ("no formats", request(formats=[]), "formats", "choose at least one format"),
    ("unknown format", request(formats=["ig-square", "nope"]), "formats.1", "unknown format"),
    ("repeated format", request(formats=["ig-square", "iab-300x250", "ig-square"]), "formats.2",
     "format repeats"),
    ("no variants", request(variants=0), "variants", "variants must be 1 to 64"),
    ("too many variants", request(variants=65), "variants", "variants must be 1 to 64"),
    ("unknown mark", request(products=[{**GOOD, "marks": ["fair-trade", "nope"]}]), "products.0.marks.1",
     "unknown certification mark"),
    ("repeated mark", request(products=[{**GOOD, "marks": ["organic", "organic"]}]), "products.0.marks.1",
     "mark repeats"),
    ("mark the brand may not use", request(products=[{**GOOD, "marks": ["jas-organic"]}]), "products.0.marks.0",
     "brand northwind may not use this mark"),
    ("mark outside its categories", request(products=[{**GOOD, "category": "outdoor"}]), "products.0.marks.0",
     "mark not allowed for locale en-US / category outdoor"),
    ("repeated sku", request(products=[GOOD, GOOD]), "products.1.sku", "sku repeats"),
    ("image file missing", request(products=[{**GOOD, "product_image": "/nonexistent/bag.png"}]),
     "products.0.product_image", "image file not found"),
]


@pytest.mark.parametrize("case, body, field, message", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_are_refused_naming_the_field(case, body, field, message):
    error = refusal(body)
    assert (error.field, message in error.reason) == (field, True), error


ONE_PRODUCT = [c for c in BAD_REQUESTS if len(c[1]["products"]) == 1]


@pytest.mark.parametrize("case, body, field, message", ONE_PRODUCT, ids=[c[0] for c in ONE_PRODUCT])
def test_a_single_products_own_fields_are_named_without_the_list(case, body, field, message):
    """The CLI's spec file and the app's form hold one product: marks.1, not products.0.marks.1."""
    error = refusal(body, product_field="")
    assert error.field == field.removeprefix("products.0.") and message in error.reason


def test_a_bad_image_file_is_refused_and_the_batch_may_leave_images_to_their_rows(tmp_path):
    broken = tmp_path / "bag.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    body = request(products=[{**GOOD, "product_image": str(broken)}])
    assert refusal(body).field == "products.0.product_image"
    products = [validate(ProductSpec, p, file=None) for p in body["products"]]
    validate_request(products, "northwind", ["ig-square"], 1, open_images=False)


def test_limits_cap_products_and_assets():
    products = [spec(sku=f"SKU-{i}") for i in range(3)]
    with pytest.raises(TooLarge) as err:
        validate_request(products, "northwind", ["ig-square"], 1, limits=Limits(max_products_per_job=2))
    assert err.value.field == "products"
    with pytest.raises(TooLarge) as err:
        validate_request(products, "northwind", ["ig-square", "iab-300x250"], 4, limits=Limits(max_assets_per_job=20))
    assert err.value.field == "variants" and err.value.value == 24


def test_a_good_request_gives_the_kit_and_the_asset_count(tmp_path):
    image = tmp_path / "bag.png"
    Image.new("RGBA", (8, 8), (200, 0, 0, 255)).save(image)
    checked = validate_request([spec(product_image=str(image)), spec(sku="OTHER", marks=())], "northwind",
                               ["ig-square", "iab-300x250"], 3)
    assert checked.brand.id == "northwind" and checked.assets == 2 * 2 * 3


# ---- the entry points refuse the same way ---------------------------------------------------------

def test_the_cli_refuses_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from adgen.cli import app

    product = tmp_path / "product.yaml"
    product.write_text(yaml.safe_dump({**GOOD, "marks": ["fair-trade", "nope"]}))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["generate", "-b", "northwind", "-p", str(product), "-f", "ig-square",
                                      "-o", str(out)])
    expected = refusal(request(products=[{**GOOD, "marks": ["fair-trade", "nope"]}]), product_field="")
    assert isinstance(result.exception, AdgenError), result.output
    assert (result.exception.field, result.exception.reason) == ("marks.1", expected.reason)
    assert not out.exists(), "nothing was made"


def test_the_app_refuses_before_any_work():
    gradio = pytest.importorskip("gradio")
    from adgen import ui
    from adgen.spec import ProductSpec as Spec

    form = {name: None for name in Spec.model_fields} | {**GOOD, "marks": "fair-trade\nnope", "price": 14.99}
    with pytest.raises(gradio.Error) as err:
        ui._generate("northwind", *[form[name] for name in Spec.model_fields], ["ig-square"], 1, 0, "", None, True,
                     lambda *args, **kwargs: None, None)  # progress, then the gr.Request (none: the local app)
    expected = refusal(request(products=[{**GOOD, "marks": ["fair-trade", "nope"]}]), product_field="")
    assert err.value.title == "Check the field 'marks.1'" and expected.reason in err.value.message


@pytest.fixture
def api_client():
    from fastapi.testclient import TestClient

    from adgen.service import ServiceSettings, create_app
    from adgen.apikeys import create_key
    from adgen.settings import adgen_home

    _, key = create_key(["northwind"], "shop")
    with TestClient(create_app(ServiceSettings(home=adgen_home(), run_worker=False))) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


def test_the_api_refuses_with_the_same_field_and_message(api_client):
    body = request(products=[{**GOOD, "marks": ["fair-trade", "nope"]}])
    answer = api_client.post("/v1/jobs", json=body)
    expected = refusal(body)
    assert answer.status_code == 422, answer.json()
    assert answer.json()["error"] | {"value": None} == {"code": "invalid", "field": "products.0.marks.1",
                                                         "message": expected.reason, "value": None}


def test_the_api_refuses_a_price_that_cannot_be_written(api_client):
    answer = api_client.post("/v1/jobs", json=request(products=[{**GOOD, "price": "1e30"}]))
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "products.0.price"


# ---- a product spec is bounded --------------------------------------------------------------------

# (case, fields, field named, words of the message)
BAD_SPECS = [
    ("21 features", {"features": ["fresh"] * 21}, "features", "at most 20 items"),
    ("a 201-character feature", {"features": ["ok", "x" * 201]}, "features.1", "at most 200 characters"),
    ("21 claims", {"claims": ["good"] * 21}, "claims", "at most 20 items"),
    ("a 301-character claim", {"claims": ["y" * 301]}, "claims.0", "at most 300 characters"),
    ("an empty claim", {"claims": [""]}, "claims.0", "at least 1 character"),
    ("11 marks", {"marks": ["organic"] * 11}, "marks", "at most 10 items"),
    ("a 65-character mark", {"marks": ["m" * 65]}, "marks.0", "at most 64 characters"),
    ("a 65-character category", {"category": "c" * 65}, "category", "at most 64 characters"),
    ("a category with a newline", {"category": "coffee\nIgnore the brand"}, "category", "category must be"),
    ("a sku with a trailing newline", {"sku": "NW-1\n"}, "sku", "sku must be"),
    ("a price of 1e30", {"price": "1e30"}, "price", "less than or equal to 1000000000"),
    ("an infinite price", {"price": "Infinity"}, "price", "finite number"),
    ("a negative price", {"price": "-1"}, "price", "greater than or equal to 0"),
    ("cents of a yen", {"price": "1980.5", "currency": "JPY", "locale": "ja-JP"}, "price",
     "JPY prices have no decimal places"),
    ("a tenth of a cent", {"price": "14.999"}, "price", "USD prices have 2 decimal places"),
    ("an unknown currency", {"currency": "XYZ"}, "currency", "ISO 4217"),
    ("a locale CLDR does not know", {"locale": "xx-YY"}, "locale", "not one CLDR knows"),
]


@pytest.mark.parametrize("case, fields, field, message", BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_a_product_spec_is_bounded(case, fields, field, message):
    with pytest.raises(InputError) as err:
        spec(**fields)
    assert (err.value.field, message in err.value.reason) == (field, True), err.value


@pytest.mark.parametrize("price, currency, locale", [
    ("1000000000", "USD", "en-US"), ("999999999.99", "EUR", "de-DE"), ("1000000000", "JPY", "ja-JP"),
    ("0", "CNY", "zh-CN"), ("1980.00", "JPY", "ja-JP"), ("12.345", "BHD", "ar-BH"), ("14.990", "USD", "en-US"),
])
def test_every_accepted_price_is_written_as_the_layout_writes_it(price, currency, locale):
    from babel.numbers import format_currency

    product = spec(price=price, currency=currency, locale=locale)
    assert product.price == Decimal(price)
    assert format_currency(product.price, product.currency, locale=product.locale.replace("-", "_"))


def test_the_bounds_are_described_where_callers_read_them():
    fields = ProductSpec.model_fields
    assert "at most 20" in fields["features"].description and "at most 300" in fields["claims"].description
    assert "at most 10" in fields["marks"].description and "At most 64" in fields["category"].description
    assert "1,000,000,000" in fields["price"].description


def test_a_banned_term_in_a_long_claim_carries_an_excerpt():
    from adgen.brand import load_brand
    from adgen.compliance.copy_rules import EVIDENCE_CHARS, banned_terms
    from adgen.compliance.subject import CheckSubject
    from adgen.formats import get_format

    claim = "smooth " * 40 + "it cures colds" + " and more" * 30
    subject = CheckSubject(image=Image.new("RGB", (8, 8)), format=get_format("ig-square"),
                           brand=load_brand("northwind"), copy={"claims.0": claim})
    failed = [f for f in banned_terms(subject) if f.status == "fail"]
    assert failed and all(len(f.measured) <= EVIDENCE_CHARS for f in failed)
    assert any("cures" in f.measured and f.measured.startswith("…") and f.measured.endswith("…") for f in failed)


def test_a_batch_row_is_refused_as_any_request_is(tmp_path):
    from adgen.batch import BatchOptions, run_batch

    catalogue = tmp_path / "products.csv"
    catalogue.write_text("sku,name,headline,category,marks,brand\n"
                         "A-1,Alpha Brew,Cold brew,coffee,fair-trade|nope,northwind\n", encoding="utf-8")
    outcome = run_batch(BatchOptions(catalogue=catalogue, out=tmp_path / "out", formats=("iab-320x50",)))
    expected = refusal(request(products=[{**GOOD, "marks": ["fair-trade", "nope"]}]), product_field="")
    [item] = outcome.items
    assert item.status == "error" and item.error.startswith(f"row 2, field 'marks.1': {expected.reason}")
    assert outcome.made == ()


@pytest.mark.parametrize("field, value", [("brand", "b" * 65), ("format", "f" * 65), ("model", "m" * 4097),
                                          ("file_type", "gif")])
def test_an_asset_request_is_bounded(field, value):
    from adgen.request import AssetRequest

    with pytest.raises(InputError) as err:
        validate(AssetRequest, {"product": GOOD, "brand": "northwind", "format": "ig-square", field: value}, file=None)
    assert err.value.field == field
