"""Inputs are refused up front, the same way at every entry point, and nothing a caller sends is unbounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PIL import Image

from adgen.errors import InputError
from adgen.loading import validate
from adgen.spec import ProductSpec

GOOD = {"sku": "NW-CB-001", "name": "Northwind Cold Brew", "headline": "Smooth cold brew", "cta": "Shop now",
        "price": "14.99", "category": "coffee", "marks": ["fair-trade"]}


def spec(**fields) -> ProductSpec:
    return validate(ProductSpec, {**GOOD, **fields}, file=None)


@pytest.fixture
def api_client():
    from fastapi.testclient import TestClient

    from adgen.api import ServiceSettings, create_app
    from adgen.apikeys import create_key
    from adgen.settings import adgen_home

    _, key = create_key(["northwind"], "shop")
    with TestClient(create_app(ServiceSettings(home=adgen_home(), run_worker=False))) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


def test_the_api_refuses_a_price_that_cannot_be_written(api_client):
    body = {"products": [{**GOOD, "price": "1e30"}], "brand": "northwind", "formats": ["ig-square"]}
    answer = api_client.post("/v1/jobs", json=body)
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

