"""Layout: every format x bundled brand x locale lays out without overlaps, overflow or cuts;
protected artwork (product, logo, marks) is placed from its own pixels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from adgen.brand import load_brand
from adgen.errors import InputError
from adgen.formats import all_formats, get_format
from adgen.geometry import Box
from adgen.layout import AI_LABEL_MIN_HEIGHT, compose
from adgen.layout_templates import TEXT_SLOTS, template_for
from adgen.marks import all_marks
from adgen.request import AssetRequest, resolve
from adgen.spec import load_product
from conftest import EXAMPLES

MIN_TEXT_PX = 9  # text.min-size's floor

# Copy per locale from the bundled examples, so each brand is laid out in each script.
COPY = {"en-US": "northwind-cold-brew.yaml", "ja-JP": "sakura-matcha.yaml", "zh-CN": "sakura-jasmine-zh.yaml"}


def gradient_plate(brand, size: tuple[int, int]) -> Image.Image:
    """A deterministic studio-like plate: the brand's lightest colour fading 14% darker downwards."""
    light = max(brand.colors.values(), key=lambda c: c.relative_luminance).as_tuple()
    dark = tuple(round(v * 0.86) for v in light)
    ramp = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, dark), Image.new("RGB", size, light), ramp)


def spec_for(brand, locale):
    """The example copy for locale, with the marks this brand may use there."""
    spec = load_product(EXAMPLES / "products" / COPY[locale])
    marks = tuple(m.id for m in all_marks().values()
                  if m.id in brand.marks and m.allowed_in(locale, spec.category))
    return spec.model_copy(update={"marks": marks})


def laid_out(brand_id, locale, format_id):
    brand = load_brand(brand_id)
    request = resolve(AssetRequest(product=spec_for(brand, locale), brand=brand_id, format=format_id), brand=brand)
    return request, compose(gradient_plate(brand, request.format.size.as_tuple()), request)


def footprint(layer):
    """What a layer takes up on the canvas: logo and marks with their clear space, a CTA's button."""
    if layer.kind == "image" and layer.name != "product":
        return layer.slot_box
    return layer.slot_box if layer.name == "cta" else layer.box


# Copy that cannot fit whatever the layout does, reported as overflow (and clipped to whole
# lines in its slot): the en-US coffee disclaimer needs ~300 px at the 9 px floor; the 320x50
# banner's small-print row has 240.
KNOWN_OVERFLOW = {("iab-320x50", "northwind", "en-US", "disclaimer")}

CASES = list(itertools.product(sorted(all_formats()), ("northwind", "sakura"), COPY))


@pytest.mark.parametrize("format_id,brand_id,locale", CASES)
def test_no_overlap_no_overflow_inside_safe_area(format_id, brand_id, locale):
    request, comp = laid_out(brand_id, locale, format_id)
    fmt = request.format
    safe = fmt.safe_area.box(fmt.size)
    canvas = Box(0, 0, fmt.width, fmt.height)
    assert comp.image.size == fmt.size.as_tuple()
    for layer in comp.layers:
        if layer.overflow:
            assert (format_id, brand_id, locale, layer.name) in KNOWN_OVERFLOW, f"{layer.name} overflows: {comp.notes}"
            assert any(note.startswith(f"{layer.name}: does not fit") for note in comp.notes)
        assert canvas.contains(layer.box), f"{layer.name} {layer.box} leaves the canvas"
        if layer.name != "product":
            assert safe.contains(footprint(layer)), f"{layer.name} {footprint(layer)} outside safe area {safe}"
        if layer.kind == "text":
            assert layer.font_size_px >= MIN_TEXT_PX, layer.name
            assert layer.slot_box.contains(layer.box), f"{layer.name} ink {layer.box} leaves its slot"
    # No layer's pixels inside another's footprint (two marks' clear spaces may share margin).
    for a, b in itertools.permutations(comp.layers, 2):
        assert not footprint(a).intersects(b.box), f"{b.name} {b.box} is inside {a.name}'s {footprint(a)}"
    if fmt.marketplace:
        assert [layer.name for layer in comp.layers] == ["product"]
        return
    label = comp.layer("ai_label")
    min_px = round(fmt.size.shortest_side * AI_LABEL_MIN_HEIGHT.get(locale, 0))
    assert label is not None and label.font_size_px >= max(MIN_TEXT_PX, min_px)
    placed = {layer.name for layer in comp.layers}
    for mark_id in spec_for(request.brand, locale).marks:
        if request.template.slot("marks") is not None:
            assert f"mark:{mark_id}" in placed or any(mark_id in note for note in comp.notes)


def test_every_template_slot_set_is_disjoint_and_inside_the_area():
    brand = load_brand("northwind")
    for fmt in all_formats().values():
        template = template_for(fmt, brand)
        for slot in template.slots:
            assert 0 <= slot.x and 0 <= slot.y and slot.x + slot.w <= 1.0001 and slot.y + slot.h <= 1.0001, slot
            if slot.name in TEXT_SLOTS:
                assert slot.min_px >= MIN_TEXT_PX, (template.name, slot.name)
        boxes = [(s.name, s.box_in(fmt.safe_area.box(fmt.size))) for s in template.slots]
        for (na, a), (nb, b) in itertools.combinations(boxes, 2):
            assert not a.intersects(b), f"{template.name}: {na} overlaps {nb}"


def test_small_banner_keeps_logo_label_and_button_apart():
    _, comp = laid_out("northwind", "en-US", "iab-320x50")
    logo, label, cta, headline = (comp.layer(n) for n in ("logo", "ai_label", "cta", "headline"))
    assert logo.box.width >= load_brand("northwind").logo.min_width_px
    assert not logo.slot_box.intersects(headline.slot_box)
    assert not label.box.intersects(cta.slot_box)


def test_product_pixels_are_only_resampled():
    request, comp = laid_out("northwind", "en-US", "ig-square")
    layer = comp.layer("product")
    source = Image.open(layer.source).convert("RGBA")
    assert layer.scale == pytest.approx(layer.box.width / source.width, rel=0.01)
    resized = source.resize((layer.box.width, layer.box.height), Image.Resampling.LANCZOS)
    alpha = np.asarray(resized.getchannel("A")) == 255
    placed = np.asarray(comp.image.crop(layer.box.as_tuple()), dtype=np.int16)
    expected = np.asarray(resized.convert("RGB"), dtype=np.int16)
    assert np.abs(placed - expected)[alpha].mean() < 0.5  # opaque product pixels are the source's


def test_photo_without_alpha_goes_in_framed_and_is_reported(cold_brew):
    spec = cold_brew.model_copy(update={"product_image": EXAMPLES / "images" / "mug-photo.jpg"})
    brand = load_brand("northwind")
    request = resolve(AssetRequest(product=spec, brand="northwind", format="ig-square"), brand=brand)
    comp = compose(gradient_plate(brand, (1080, 1080)), request)
    layer = comp.layer("product")
    assert any("framed photo" in note for note in comp.notes)
    # The frame is white; inside it the photo's own pixels.
    crop = np.asarray(comp.image.crop(layer.box.as_tuple()))
    assert crop[1, crop.shape[1] // 2].min() >= 250
    photo = Image.open(EXAMPLES / "images" / "mug-photo.jpg").convert("RGB")
    border = round(layer.box.width * 0.03 / 1.06)
    inner = comp.image.crop((layer.box.left + border + 2, layer.box.top + border + 2,
                             layer.box.right - border - 2, layer.box.bottom - border - 2))
    expected = photo.resize((inner.width, inner.height), Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(inner, dtype=np.int16) - np.asarray(expected, dtype=np.int16)).mean() < 6


@pytest.mark.parametrize("marks,message", [(("moon-certified",), "unknown certification mark"),
                                           (("jas-organic",), "may not use this mark"),
                                           (("recyclable",), "may not use this mark")])
def test_unknown_or_disallowed_mark_is_an_input_error(cold_brew, marks, message):
    spec = cold_brew.model_copy(update={"marks": marks})
    request = resolve(AssetRequest(product=spec, brand="northwind", format="ig-square"))
    with pytest.raises(InputError, match=message) as raised:
        compose(Image.new("RGB", (64, 64)), request)
    assert raised.value.field == "marks" and raised.value.value == marks[0]


def test_marks_are_placed_at_least_at_minimum_size_with_clear_space():
    _, comp = laid_out("northwind", "en-US", "ig-square")
    registry = all_marks()
    marks = [layer for layer in comp.layers if layer.name.startswith("mark:")]
    assert [m.name for m in marks] == ["mark:fair-trade", "mark:organic"]
    for layer in marks:
        mark = registry[layer.name.split(":", 1)[1]]
        assert layer.box.height >= mark.min_size_px and layer.source == mark.file
        assert layer.slot_box == layer.box.expand(mark.clear_space * layer.box.height)


def test_pack_front_is_sized_in_mm_at_300_ppi_with_bleed():
    fmt = get_format("pack-front")
    assert (fmt.width_mm, fmt.height_mm, fmt.bleed_mm, fmt.ppi) == (100, 150, 3.0, 300)
    assert fmt.size.as_tuple() == (round(106 / 25.4 * 300), round(156 / 25.4 * 300))
    safe = fmt.safe_area.box(fmt.size)
    assert abs(safe.left - 8 / 25.4 * 300) <= 1 and abs(safe.top - 8 / 25.4 * 300) <= 1  # bleed + 5 mm


def test_brand_kit_template_override(tmp_path, monkeypatch):
    import shutil

    kit = tmp_path / "northwind"
    shutil.copytree(EXAMPLES.parent / "brand_kits" / "northwind", kit)
    (kit / "templates.yaml").write_text("square:\n  logo: {box: [0.7, 0.0, 0.3, 0.1], align: right}\n"
                                        "  headline: {box: [0, 0.2, 1, 0.3], max_lines: 2, min_px: 20}\n")
    monkeypatch.setenv("ADGEN_BRAND_KITS", str(tmp_path))
    brand = load_brand("northwind")
    assert template_for(get_format("ig-square"), brand).slot("logo").align == "right"


def test_user_print_format_in_mm(tmp_path, monkeypatch):
    from adgen import formats as formats_module

    extra = tmp_path / "formats.yaml"
    extra.write_text("- {id: shelf-talker, channel: print, width_mm: 80, height_mm: 60, bleed_mm: 2, safe_mm: 4,"
                     " ppi: 300, template: landscape, max_kb: 20000, file_types: [png]}\n")
    monkeypatch.setenv("ADGEN_FORMATS", str(extra))
    formats_module._load_registry.cache_clear()
    fmt = get_format("shelf-talker")
    assert fmt.is_print and fmt.size.as_tuple() == (round(84 / 25.4 * 300), round(64 / 25.4 * 300))
    formats_module._load_registry.cache_clear()


def test_cli_rejects_a_disallowed_mark_before_any_work(tmp_path):
    from test_cli import adgen

    spec = tmp_path / "p.yaml"
    spec.write_text((EXAMPLES / "products" / "northwind-cold-brew.yaml").read_text().replace(
        "marks: [fair-trade, organic]", "marks: [jas-organic]").replace("../images/", str(EXAMPLES / "images") + "/"))
    result = adgen("generate", "--brand", "northwind", "--product", spec, "--out", tmp_path / "out")
    assert result.returncode == 2 and "marks" in result.stderr and "jas-organic" in result.stderr
    assert not (tmp_path / "out").exists()
