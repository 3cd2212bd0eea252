"""Small stages on their own: resolve, prompt, encode/export, manifest."""

from __future__ import annotations

import csv
import io

import pytest
from PIL import Image

from adgen.export import export
from adgen.manifest import ManifestRow, write_manifest
from adgen.prompt import build_prompt
from adgen.request import AssetRequest, resolve


def resolved(product, **overrides):
    return resolve(AssetRequest(product=product, brand=overrides.pop("brand", "northwind"),
                                format=overrides.pop("format", "ig-square"), **overrides))


def test_resolve_fills_every_default(cold_brew):
    r = resolved(cold_brew)
    assert r.model == "adgen-tiny" and r.steps > 0 and r.guidance > 0
    assert r.template.name == "square" and r.file_type == "jpeg"
    assert r.seed != 0 and r.base_seed == 0


def test_prompt_carries_scene_style_words_and_framing(cold_brew):
    prompt = build_prompt(resolved(cold_brew, format="fb-link"))
    assert cold_brew.scene in prompt.text
    assert "navy blue" in prompt.text and "open space on the left" in prompt.text
    assert "text" in prompt.negative and prompt.family == "backdrop"


def test_prompt_asks_for_a_surface_only_where_a_product_stands_on_the_plate(cold_brew):
    grounding = "product standing on a surface, contact shadow"
    assert cold_brew.product_image is not None
    assert grounding in build_prompt(resolved(cold_brew, format="fb-link")).text
    without_photo = cold_brew.model_copy(update={"product_image": None})
    assert grounding not in build_prompt(resolved(without_photo, format="fb-link")).text
    assert grounding not in build_prompt(resolved(cold_brew, format="amazon-main")).text


def test_marketplace_prompt_family(cold_brew):
    assert build_prompt(resolved(cold_brew, format="amazon-main")).family == "marketplace"


def test_export_writes_image_then_report_and_no_temp_files(tmp_path):
    image = Image.new("RGB", (10, 10), "red")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    files = export(buffer.getvalue(), {"verdict": "pass"}, out_dir=tmp_path, sku="S1", stem="ig-square-v1",
                   file_type="png")
    assert files.image == tmp_path / "S1" / "ig-square-v1.png" and Image.open(files.image).size == (10, 10)
    assert files.report.read_text().strip().startswith("{")
    assert sorted(p.name for p in (tmp_path / "S1").iterdir()) == ["ig-square-v1.png", "ig-square-v1.report.json"]


def test_manifest_columns_follow_the_design(tmp_path):
    path = write_manifest([ManifestRow(1, "S1", "ig-square", 1, "ok", "pass", "S1/a.jpg", "S1/a.report.json"),
                           ManifestRow(2, "S2", "story", 1, "error", error="row 2, field 'price': bad")], tmp_path)
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["row", "sku", "format", "variant", "status", "verdict", "path", "report", "error"]
    assert rows[1]["status"] == "error" and "price" in rows[1]["error"]


@pytest.mark.parametrize("fmt, expected", [("png", "png"), ("jpeg", "jpeg")])
def test_encode_signs_and_labels_within_limit(fmt, expected):
    from adgen.encoding import encode
    from adgen.provenance import verify_provenance

    image = Image.new("RGB", (400, 300), (200, 120, 40))
    encoded = encode(image, file_type=fmt, max_kb=150, recipe={"seed": 1}, asset_id="abc", composite=True)
    assert encoded.file_type == expected and len(encoded.data) <= 150 * 1024
    check = verify_provenance(encoded.data, fmt)
    assert check.c2pa_valid and check.digital_source_type.endswith("compositeWithTrainedAlgorithmicMedia")
    assert check.recipe == {"seed": 1} and check.tc260_label is not None


def test_encoding_writes_the_cheap_baseline_jpeg_when_it_fits_and_compacts_before_losing_quality():
    import io

    import numpy as np

    from adgen.encoding import encode

    rows, cols = np.mgrid[0:600, 0:600]
    smooth = np.stack([rows * 0.3 + 40, cols * 0.25 + 60, (rows + cols) * 0.15 + 30], -1)
    image = Image.fromarray(np.clip(smooth + np.random.default_rng(1).normal(0, 9, smooth.shape), 0, 255)
                            .astype(np.uint8))
    roomy = encode(image, file_type="jpeg", max_kb=8000, recipe={}, asset_id="s", composite=False)
    assert [(a["quality"], a["compact"]) for a in roomy.attempts] == [(90, False)]
    with Image.open(io.BytesIO(roomy.data)) as im:
        assert not im.info.get("progressive")
    # A slot 1 KB under the baseline file: the progressive, optimised file at the same quality fits.
    tight = encode(image, file_type="jpeg", max_kb=int(roomy.attempts[0]["kb"]) - 1, recipe={}, asset_id="s",
                   composite=False)
    assert [(a["quality"], a["compact"], a["fits"]) for a in tight.attempts] == [(90, False, False), (90, True, True)]
    with Image.open(io.BytesIO(tight.data)) as im:
        assert im.info.get("progressive")


def test_jpeg_quality_steps_down_until_the_signed_file_fits():
    import numpy as np

    from adgen.encoding import encode

    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (600, 600, 3), dtype=np.uint8))
    encoded = encode(noise, file_type="jpeg", max_kb=150, recipe={}, asset_id="n", composite=False)
    assert len(encoded.attempts) > 1 and encoded.attempts[0]["kb"] > 150
    assert [a["quality"] for a in encoded.attempts] == sorted((a["quality"] for a in encoded.attempts), reverse=True)
