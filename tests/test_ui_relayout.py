"""relayout(): edited copy on the same plate, through the same compose/check/encode/export stages."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from adgen.errors import InputError
from adgen.pipeline import run
from adgen.relayout import relayout
from adgen.request import AssetRequest


@pytest.fixture(scope="module")
def generated(tmp_path_factory, sd15_dir):
    from adgen.spec import load_product
    from conftest import EXAMPLES

    product = load_product(EXAMPLES / "products" / "northwind-cold-brew.yaml")
    out = tmp_path_factory.mktemp("relayout")
    start = time.perf_counter()
    result = run(AssetRequest(product=product, brand="northwind", format="iab-300x250", seed=5,
                              model=str(sd15_dir), steps=2), out)
    return result, out, time.perf_counter() - start


def test_same_copy_relays_out_to_the_same_pixels(generated):
    result, out, _ = generated
    again = relayout(result, result.request.product, None)
    assert np.array_equal(np.asarray(again.composition.image), np.asarray(result.composition.image))
    assert again.verdict == result.verdict and again.files is None


def test_edited_copy_keeps_the_plate_and_rewrites_the_files(generated, tmp_path):
    result, _, run_seconds = generated
    edited = result.request.product.model_copy(update={"headline": "Cold brew, now in cans", "cta": "Buy"})
    start = time.perf_counter()
    again = relayout(result, edited, tmp_path)
    relayout_seconds = time.perf_counter() - start
    assert again.composition.layer("headline").text == "Cold brew, now in cans"
    assert np.array_equal(np.asarray(again.composition.plate), np.asarray(result.composition.plate))
    assert not np.array_equal(np.asarray(again.composition.image), np.asarray(result.composition.image))
    document = json.loads(again.files.report.read_text())
    assert document["recipe"]["product"]["headline"] == "Cold brew, now in cans"
    assert document["recipe"]["seed"] == result.request.seed and document["recipe"]["prompt"] == result.prompt.text
    assert again.files.image == tmp_path / "NW-CB-001" / "iab-300x250-v1.jpg"
    assert "generate" not in again.timings_ms
    print(f"run {run_seconds:.1f} s, relayout {relayout_seconds:.2f} s")


@pytest.mark.parametrize("update, field", [({"sku": "OTHER-1"}, "sku"), ({"scene": "a beach at noon"}, "scene")])
def test_edits_that_would_change_the_plate_are_refused(generated, update, field):
    result, _, _ = generated
    with pytest.raises(InputError) as caught:
        relayout(result, result.request.product.model_copy(update=update), None)
    assert caught.value.field == field
