"""The fix loop: each fix on a real composition, real encoding and signing, real re-check."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from adgen.composition import Composition
from adgen.fixes import MAX_ROUNDS, Draft, _next_seed, check_and_fix
from adgen.layout import compose
from adgen.pipeline import _encode_draft
from adgen.prompt import build_prompt
from adgen.request import AssetRequest, resolve


@pytest.fixture
def model(sd15_dir):
    """Recipes fingerprint the model; the fixes here never run it except for the next-seed case."""
    return str(sd15_dir)


def draft_for(product, model, fmt="ig-square", plate=None, brand=None, **request):
    resolved = resolve(AssetRequest(product=product, brand="northwind", format=fmt, model=model, steps=2, **request),
                       brand=brand)
    plate = plate or Image.new("RGB", resolved.format.size.as_tuple(), (247, 243, 233))
    return Draft(resolved, build_prompt(resolved), plate, compose(plate, resolved))


def failing(report, rule):
    return [f for f in report.findings if f.rule == rule and f.status == "fail"]


def faded(draft: Draft, name: str) -> Draft:
    """Set one layer's glyphs a shade off their background: the contrast failure the scrim mends."""
    from adgen.color import Color

    layer = draft.composition.layer(name)
    image = draft.composition.plate.copy()  # this test's plate is flat: the layer's background
    under = np.asarray(image.crop(layer.box.expand(4).as_tuple())).reshape(-1, 3)
    shade = Color(*(int(v) - 40 for v in np.median(under, axis=0)))
    image = draft.composition.image.copy()
    image.paste(draft.composition.plate.crop(layer.box.expand(2).as_tuple()), layer.box.expand(2).as_tuple()[:2])
    image.paste(Image.new("RGB", layer.glyph_mask.size, shade.as_tuple()), layer.box.as_tuple()[:2], layer.glyph_mask)
    layers = tuple(replace(l, color=shade.hex) if l.name == name else l for l in draft.composition.layers)
    return replace(draft, composition=replace(draft.composition, image=image, layers=layers))


def test_low_contrast_text_is_recoloured_from_the_palette(cold_brew, model):
    draft = faded(draft_for(cold_brew, model), "subhead")
    checked = check_and_fix(draft, _encode_draft)
    assert not failing(checked.report, "text.contrast"), [f.message for f in failing(checked.report, "text.contrast")]
    fixes = [a for a in checked.report.attempts if a.get("fix") == "recolour-or-scrim"]
    assert fixes and fixes[0]["elements"] == ["subhead"] and fixes[0]["outcome"] == "fixed"
    subhead = checked.draft.composition.layer("subhead")
    assert subhead.color in checked.draft.resolved.brand.palette.values() and subhead.scrim is None
    assert checked.recipe["fixes"] == [{"fix": "recolour-or-scrim", "round": 1}]


def test_text_no_colour_can_carry_gets_a_palette_scrim(cold_brew, model):
    """Half black, half white behind the subhead: every text colour fails somewhere, so a scrim goes under it."""
    draft = draft_for(cold_brew, model)
    layer = draft.composition.layer("subhead")
    image = draft.composition.image.copy()
    stripes = Image.new("RGB", (layer.box.width + 8, layer.box.height + 8), (0, 0, 0))
    stripes.paste((255, 255, 255), (0, 0, stripes.width // 2, stripes.height))
    image.paste(stripes, layer.box.expand(4).as_tuple()[:2])
    image.paste(Image.new("RGB", layer.glyph_mask.size, (208, 208, 208)), layer.box.as_tuple()[:2], layer.glyph_mask)
    layers = tuple(replace(l, color="#D0D0D0") if l.name == "subhead" else l for l in draft.composition.layers)
    draft = replace(draft, composition=replace(draft.composition, image=image, layers=layers))
    checked = check_and_fix(draft, _encode_draft)
    subhead = checked.draft.composition.layer("subhead")
    assert subhead.scrim in checked.draft.resolved.brand.palette.values()
    assert not failing(checked.report, "text.contrast")


def test_overflow_is_relaid_out_with_a_smaller_floor_never_shorter_copy(cold_brew, model):
    long = ("Smooth cold brew, slow-steeped for eighteen hours from ethically sourced dark roast beans, "
            "ready when you are, at home, at work, on the trail and everywhere in between, all year")
    draft = draft_for(cold_brew.model_copy(update={"headline": long}), model)
    assert draft.composition.layer("headline").overflow, "the case must start overflowing"
    checked = check_and_fix(draft, _encode_draft)
    headline = checked.draft.composition.layer("headline")
    assert headline.text == long and not headline.overflow
    assert headline.font_size_px >= 9  # text.min-size still holds
    assert any(a.get("fix") == "relayout" and a["outcome"] == "fixed" for a in checked.report.attempts)


def test_png_over_the_limit_switches_to_jpeg(cold_brew, model):
    # Smooth noise: far over 150 KB as PNG, well under it as JPEG.
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (150, 75, 3), dtype=np.uint8)).resize(
        (300, 600), Image.Resampling.BICUBIC)
    draft = draft_for(cold_brew, model, fmt="iab-300x600", plate=noise, file_type="png")
    checked = check_and_fix(draft, _encode_draft)
    assert checked.encoded.file_type == "jpeg" and not failing(checked.report, "format.file-size")
    first = checked.report.attempts[0]
    assert first["file_type"] == "png" and not first["fits"]
    assert any(a.get("fix") == "smaller-file" and a["outcome"] == "fixed" for a in checked.report.attempts)


def test_an_unfixable_failure_stops_after_the_bounded_rounds(cold_brew, model):
    from adgen.brand import load_brand

    impossible = load_brand("northwind").model_copy(update={"thresholds": {"text.contrast.normal": 22,
                                                                            "text.contrast.large": 22}})
    checked = check_and_fix(draft_for(cold_brew, model, brand=impossible), _encode_draft)
    assert failing(checked.report, "text.contrast")
    rounds = {a["round"] for a in checked.report.attempts if "round" in a}
    assert rounds and max(rounds) <= MAX_ROUNDS


def test_next_seed_regenerates_plate_and_layout(cold_brew, model):
    draft = draft_for(cold_brew, model)
    from adgen.generation import generate

    draft = replace(draft, plate=generate(draft.prompt, draft.resolved))
    again = _next_seed(draft, [], 1)
    assert again.resolved.seed == draft.resolved.seed + 1
    assert not np.array_equal(np.asarray(again.plate), np.asarray(draft.plate))
    assert isinstance(again.composition, Composition) and again.composition.layer("headline") is not None
