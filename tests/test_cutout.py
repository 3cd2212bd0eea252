"""Automatic cut-out of product photos: against built ground truth, cached, recorded, placed or framed."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adgen.cutout import cut_out  # noqa: E402
from bench.cutout import corpus, make_case, product_art, score  # noqa: E402
from conftest import EXAMPLES  # noqa: E402

SIZE = 384


def case(product, kind, quality=85):
    return make_case(product_art(product), product, kind, quality, np.random.default_rng(0), size=SIZE)


def packshot(path: Path, product="two-bottles", kind="white", quality=90) -> Path:
    """A JPEG packshot as a shop has it: the product on a plain background, no alpha."""
    case(product, kind, quality).photo.save(path, "JPEG", quality=quality)
    return path


def test_corpus_smoke_three_images_cut_out_close_to_the_truth():
    cases = list(corpus(products=("mug-handle",), kinds=("white", "gradient", "floor-shadow"), qualities=(85,),
                        size=SIZE))
    for item in cases:
        result = cut_out(item.photo)
        figures = score(item, np.asarray(result.alpha, np.float64) / 255)
        assert figures["iou"] >= 0.96, (item.name, figures)
        assert result.confidence >= 0.6, (item.name, result.reason)


def test_the_handle_hole_stays_background_and_the_gap_between_bottles_too():
    for product, probe in (("mug-handle", None), ("two-bottles", None)):
        item = case(product, "light-grey")
        alpha = np.asarray(cut_out(item.photo).alpha) / 255
        # Background pixels enclosed by the product (the hole in the handle) or between its parts (the
        # gap between the bottles): inside the truth's convex hull, far from any product pixel.
        import cv2

        truth = (item.alpha > 0).astype(np.uint8)
        hull = np.zeros_like(truth)
        cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(truth)), 1)
        far = cv2.distanceTransform(1 - truth, cv2.DIST_L2, 3) > 4
        openings = (hull > 0) & far
        assert openings.sum() > 200, product
        assert alpha[openings].max() < 0.1, (product, "an opening was filled")


def test_the_floor_shadow_is_a_layer_of_its_own_never_in_the_matte():
    item = case("cold-brew-bag", "floor-shadow")
    result = cut_out(item.photo)
    alpha = np.asarray(result.alpha) / 255
    shadow = np.asarray(result.shadow) / 255
    import cv2

    off_product = cv2.distanceTransform((item.alpha == 0).astype(np.uint8), cv2.DIST_L2, 3) > 3
    under = off_product & (np.asarray(item.photo.convert("L")) < 200)   # the darkest floor shadow
    assert under.sum() > 100
    assert alpha[under].max() < 0.1 and shadow[under].mean() > 0.15


def test_opaque_pixels_are_the_photos_own_and_edges_carry_no_background_fringe():
    item = case("trail-flask", "white", quality=None)
    result = cut_out(item.photo)
    rgba = np.asarray(result.rgba, np.float64)
    photo = np.asarray(item.photo, np.float64)
    opaque = rgba[..., 3] == 255
    assert np.array_equal(rgba[opaque][:, :3], photo[opaque])
    # The flask is dark navy on white: a soft edge pixel keeps the product's colour, not the white.
    soft = (rgba[..., 3] > 40) & (rgba[..., 3] < 215)
    assert soft.sum() > 50
    assert rgba[soft][:, :3].mean() < 110, "edge pixels still hold the white background"


def test_a_photo_that_is_not_a_packshot_has_low_confidence_and_says_why():
    result = cut_out(Image.open(EXAMPLES / "images" / "mug-photo.jpg"))
    assert result.confidence < 0.6 and "frame" in result.reason


def test_cutouts_are_cached_by_digest_and_recorded_in_the_recipe(tmp_path, cold_brew, monkeypatch):
    from adgen.pipeline import run
    from adgen.product_photo import cutout_cache_dir
    from adgen.request import AssetRequest

    photo = packshot(tmp_path / "bottles.jpg")
    spec = cold_brew.model_copy(update={"product_image": photo})
    request = AssetRequest(product=spec, brand="northwind", format="ig-square")
    plate = Image.new("RGB", (512, 512), (230, 200, 170))
    first = run(request, tmp_path / "out", plate=plate)
    cached = sorted(p.name for p in cutout_cache_dir().iterdir())
    assert any(name.endswith("-v1.png") for name in cached) and any(name.endswith(".json") for name in cached)
    layer = first.composition.layer("product")
    assert layer.cutout["applied"] and layer.source.parent == cutout_cache_dir()
    report = json.loads(first.files.report.read_text())
    recorded = report["recipe"]["product_cutout"]
    assert recorded["applied"] and len(recorded["image_sha256"]) == 64 and recorded["confidence"] >= 0.6
    assert any(f["rule"] == "product.cutout" and f["status"] == "pass" for f in report["findings"])
    # The second asset of the same photo reads the cache: cutting again would fail here.
    import adgen.cutout

    monkeypatch.setattr(adgen.cutout, "cut_out", lambda *a, **k: pytest.fail("cut out again"))
    second = run(request.model_copy(update={"variant": 2}), None, plate=plate)
    assert second.composition.layer("product").cutout["image_sha256"] == recorded["image_sha256"]


def test_placed_cut_out_shows_the_plate_through_the_gap_and_keeps_the_product_pixels(tmp_path, cold_brew):
    from adgen.brand import load_brand
    from adgen.layout import compose
    from adgen.request import AssetRequest, resolve

    spec = cold_brew.model_copy(update={"product_image": packshot(tmp_path / "bottles.jpg")})
    resolved = resolve(AssetRequest(product=spec, brand="northwind", format="ig-square"), brand=load_brand("northwind"))
    plate = Image.new("RGB", (1080, 1080), (40, 90, 160))
    comp = compose(plate, resolved)
    layer = comp.layer("product")
    assert any("cut out automatically" in note for note in comp.notes)
    # No white frame and no white background box: the box's corners are the plate (or its shadow).
    crop = np.asarray(comp.image.crop(layer.box.as_tuple()), np.int16)
    for corner in (crop[2, 2], crop[2, -3]):
        assert corner[2] > corner[0] + 40, corner   # blue plate, not white


# (case, photo, rule, status): the rule's table for the registry's meta-test.
RULE_CASES = [
    ("a JPEG packshot is cut out", "packshot", "product.cutout", "pass"),
    ("a photo on a table is framed, saying why", "table photo", "product.cutout", "warn"),
    ("framed as the caller asked", "asked framed", "product.cutout", "skip"),
]


def test_framed_when_asked_or_not_confident_with_a_product_cutout_finding(tmp_path, cold_brew):
    from adgen.compliance import RULES, CheckSubject, check
    from adgen.layout import compose
    from adgen.request import AssetRequest, resolve

    plate = Image.new("RGB", (1080, 1080), (230, 200, 170))
    statuses = {}
    for name, image, cutout in (("table photo", EXAMPLES / "images" / "mug-photo.jpg", True),
                                ("asked framed", packshot(tmp_path / "b.jpg"), False),
                                ("packshot", packshot(tmp_path / "c.jpg"), True)):
        spec = cold_brew.model_copy(update={"product_image": image})
        resolved = resolve(AssetRequest(product=spec, brand="northwind", format="ig-square", cutout=cutout))
        comp = compose(plate, resolved)
        subject = CheckSubject(image=comp.image, format=resolved.format, brand=resolved.brand, composition=comp)
        findings = check(subject, tuple(r for r in RULES if r.id == "product.cutout")).findings
        statuses[name] = [(f.status, f.message) for f in findings]
    assert "touches the frame" in statuses["table photo"][0][1]
    for _, photo, _, expected in RULE_CASES:
        assert [status for status, _ in statuses[photo]] == [expected], (photo, statuses[photo])


def test_jpeg_bytes_round_trip_keeps_the_cut_out_deterministic():
    item = case("matcha-can", "gradient")
    buffer = io.BytesIO()
    item.photo.save(buffer, "PNG")
    again = Image.open(io.BytesIO(buffer.getvalue()))
    assert np.array_equal(np.asarray(cut_out(item.photo).rgba), np.asarray(cut_out(again).rgba))


def test_a_shopify_export_of_jpeg_packshots_makes_cut_out_products_in_the_batch(tmp_path, sd15_dir):
    """Image Src columns pointing at JPEG packshots (local files): every asset places the cut-out."""
    from adgen.batch import BatchOptions, run_batch

    packshot(tmp_path / "bottles.jpg", "two-bottles", "white")
    packshot(tmp_path / "mug.jpg", "mug-handle", "gradient")
    (tmp_path / "shopify.csv").write_text(
        "Handle,Title,Body (HTML),Vendor,Type,Variant SKU,Variant Price,Image Src\n"
        "bottles,Amber Pair,<p>Two bottles.</p>,Northwind,coffee,NW-B2,12.00,bottles.jpg\n"
        "mug,Clay Mug,<p>A glazed mug.</p>,Northwind,coffee,NW-MUG,9.00,mug.jpg\n", encoding="utf-8")
    out = tmp_path / "out"
    outcome = run_batch(BatchOptions(catalogue=tmp_path / "shopify.csv", out=out, formats=("iab-300x250",),
                                     model=str(sd15_dir), steps=1, workers=0))
    assert len(outcome.made) == 2 and not any(r.error for r in outcome.made), outcome.made
    for result in outcome.made:
        report = json.loads((out / result.report).read_text())
        cutout = report["recipe"]["product_cutout"]
        assert cutout["applied"] and cutout["confidence"] >= 0.6, cutout
        product = next(layer for layer in report["layers"] if layer["name"] == "product")
        assert any("cut out automatically" in note for note in product["notes"])
        assert Path(product["source"]).suffix == ".png"   # the cached RGBA cut-out, not the JPEG


def test_the_app_shows_the_matte_of_a_cut_out_photo_and_nothing_for_a_cut_out_given(tmp_path, cold_brew):
    pytest.importorskip("gradio")
    from adgen import ui, ui_render
    from adgen.pipeline import run
    from adgen.request import AssetRequest
    from adgen.ui_session import DesignSession

    photo = packshot(tmp_path / "bottles.jpg")
    plate = Image.new("RGB", (512, 512), (230, 200, 170))
    for spec, shown in ((cold_brew.model_copy(update={"product_image": photo}), True), (cold_brew, False)):
        result = run(AssetRequest(product=spec, brand="northwind", format="ig-square"), tmp_path / "out", plate=plate)
        session = DesignSession(tmp_path / "out", assets={("ig-square", 1): result})
        views = ui._views([], session, ("ig-square", 1))
        cutout = views[4]  # summary, (no galleries), detail, title, image, cutout
        assert cutout.visible is shown
        if shown:
            assert "confidence" in cutout.label and cutout.value is not None
    record = run(AssetRequest(product=cold_brew.model_copy(update={"product_image": photo}), brand="northwind",
                              format="ig-square"), None, plate=plate).composition.layer("product").cutout
    sheet, caption = ui_render.cutout_preview(record, height=120)
    left = sheet.crop((0, 0, (sheet.width - 8) // 2, 120)).convert("L")
    assert left.getextrema() == (0, 255) and "placed" in caption  # a matte: clear background, opaque product
