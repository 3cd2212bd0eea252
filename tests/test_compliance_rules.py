"""Table-driven cases for the rules that look at artwork, OCR, colour, safety and provenance.

Every case builds its image in the test: a plate, placed artwork (the real example files and
brand logos, placed by adgen.placement), typeset-like text layers, and then, for failing cases,
the defect itself (a painted-over logo, a blurred product, stray text in the plate...).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from adgen.brand import load_brand
from adgen.compliance import RULES, CheckSubject, check
from adgen.compliance.thresholds import threshold
from adgen.composition import Composition, PlacedLayer
from adgen.formats import get_format
from adgen.geometry import Box
from adgen.placement import load_artwork, place_artwork
from test_compliance import CASES as BASIC_CASES
from test_compliance import text_layer

REPO = Path(__file__).resolve().parents[1]
BAG = REPO / "examples/images/cold-brew-bag.png"


def mark_file(tmp_dir: Path) -> Path:
    """A certification-mark-like roundel drawn here (the kits ship none yet)."""
    path = tmp_dir / "organic.png"
    if not path.exists():
        mark = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
        draw = ImageDraw.Draw(mark)
        draw.ellipse((4, 4, 116, 116), fill=(40, 120, 60, 255))
        draw.ellipse((24, 24, 96, 96), fill=(250, 250, 240, 255))
        draw.polygon([(60, 30), (88, 84), (32, 84)], fill=(40, 120, 60, 255))
        mark.save(path)
    return path


def build(tmp_path, fmt="ig-square", *, brand="northwind", locale="en-US", plate=(255, 255, 255),
          texts=None, fg=(0, 0, 0), size=40, logo_width=200, logo_at=(60, 60), product=True,
          product_slot=None, stray=None, mark=None, tamper=None, thresholds=None, encode=False,
          plate_image=None, headline_at=None, adapter_note=None, grounded=True):
    """Lay out a subject the way compose does, then apply `tamper(image, layers)` to the final pixels."""
    kit = load_brand(brand)
    if thresholds:
        kit = kit.model_copy(update={"thresholds": thresholds})
    fmt_record = get_format(fmt)
    size_px = fmt_record.size.as_tuple()
    canvas = plate_image.resize(size_px) if plate_image is not None else Image.new("RGB", size_px, plate)
    if stray:
        from adgen.fonts import FontSpec, load_font

        ImageDraw.Draw(canvas).text((500, 120), stray, font=load_font(FontSpec(weight=800), "latin", 64), fill=(20, 20, 20))
    fitted = canvas.copy()
    layers = []
    if product:
        slot = product_slot or (Box(560, 300, 1000, 900) if not fmt_record.marketplace else Box(50, 50, 1950, 1950))
        placed = place_artwork(canvas, load_artwork(BAG, "product"), slot,
                               shadow=grounded and not fmt_record.marketplace)
        canvas = placed.image
        layers.append(PlacedLayer("product", "image", placed.box, slot, source=BAG, scale=placed.scale))
    if not fmt_record.marketplace:
        logo = load_artwork(kit.logo_path, "logo")
        slot = Box(logo_at[0], logo_at[1], logo_at[0] + logo_width, logo_at[1] + round(logo_width * logo.height / logo.width))
        placed = place_artwork(canvas, logo, slot, halign="left")
        canvas = placed.image
        layers.append(PlacedLayer("logo", "image", placed.box, slot, source=kit.logo_path, scale=placed.scale))
        if mark:
            source = mark_file(tmp_path)
            placed = place_artwork(canvas, load_artwork(source, "mark"), Box(880, 60, 980, 160))
            canvas = placed.image
            layers.append(PlacedLayer(f"mark:{mark}", "image", placed.box, Box(880, 60, 980, 160), source=source,
                                      scale=placed.scale))
        for i, (name, text) in enumerate((texts or {"headline": "Fresh coffee"}).items()):
            xy = headline_at if (headline_at and i == 0) else (80, 330 + 80 * i)
            layers.append(text_layer(canvas, name, text, xy, fg=fg, size=size))
        layers.append(text_layer(canvas, "ai_label", "AI-generated", (800, 1000), fg=(0, 0, 0), size=24))
    if tamper:
        tamper(canvas, {layer.name: layer for layer in layers})
    comp = Composition(image=canvas, plate=fitted, layers=tuple(layers))
    data, file_type = (signed(canvas) if encode == "signed" else plain(canvas)) if encode else (None, "png")
    return CheckSubject(image=canvas, format=fmt_record, brand=kit, locale=locale, composition=comp,
                        encoded=data, file_type=file_type, adapter_note=adapter_note)


def signed(image):
    from adgen.provenance import TRAINED_ALGORITHMIC_MEDIA, apply_provenance
    from adgen.signing import load_or_init_signer

    data = apply_provenance(image, fmt="png", quality=None, source_type=TRAINED_ALGORITHMIC_MEDIA,
                            recipe={"test": True}, asset_id="test-asset", signer=load_or_init_signer(), thumbnail=False)
    return data, "png"


def plain(image):
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), "png"


# Defects, applied to the final pixels after layout.
def cover_logo(image, layers):
    ImageDraw.Draw(image).rectangle(layers["logo"].box.as_tuple(), fill=(255, 255, 255))


def redraw_logo(image, layers):
    """A look-alike: the logo's own pixels mirrored, as a model redrawing it might."""
    box = layers["logo"].box
    image.paste(ImageOps.mirror(image.crop(box.as_tuple())), box.as_tuple()[:2])


def cover_mark(image, layers):
    ImageDraw.Draw(image).ellipse(layers["mark:organic"].box.as_tuple(), fill=(200, 60, 60))


def blur_product(image, layers):
    box = layers["product"].box.as_tuple()
    image.paste(image.crop(box).filter(ImageFilter.GaussianBlur(2)), box[:2])


def lighten_under_product(image, layers):
    """A plate lighter just under the base than beside it: the product floats over a glow."""
    box = layers["product"].box
    ImageDraw.Draw(image).rectangle((box.left, box.bottom, box.right, box.bottom + 40), fill=(255, 255, 255))


def white_fringe(image, layers):
    """A 2 px white ring around the cut-out: the matte's edge kept its old white background."""
    import numpy as np

    from adgen.compliance.artwork_rules import placed_artwork

    box = layers["product"].box
    _, alpha = placed_artwork(layers["product"])
    body = Image.fromarray(((alpha > 0) * 255).astype("uint8"))
    ring = np.asarray(body.filter(ImageFilter.MaxFilter(5))) & ~np.asarray(body.filter(ImageFilter.MinFilter(3)))
    white = Image.new("RGB", body.size, (255, 255, 255))
    image.paste(white, box.as_tuple()[:2], Image.fromarray(ring))


def grey_corner(image, layers):
    ImageDraw.Draw(image).rectangle((0, 0, 120, 120), fill=(250, 250, 250))


def overlay_text(image, layers):
    from adgen.fonts import FontSpec, load_font

    ImageDraw.Draw(image).text((120, 40), "FREE SHIPPING", font=load_font(FontSpec(weight=800), "latin", 80), fill=(200, 0, 0))


def astronaut():
    import skimage.data

    return Image.fromarray(skimage.data.astronaut())  # bundled in the scikit-image wheel: a real face


NAVY = (0x1B, 0x2A, 0x41)
CASES = [
    # (case, build kwargs, rule id, expected worst status)
    ("copy reads back", {}, "text.legible", "pass"),
    ("missing glyphs (CJK in a Latin-only font) do not read back",
     {"brand": "sakura", "locale": "ja-JP", "texts": {"headline": "抹茶ラテ"}}, "text.legible", "fail"),
    ("Korean is unverifiable, not guessed", {"locale": "ko-KR"}, "text.legible", "skip"),
    ("clean plate", {}, "background.stray-text", "pass"),
    ("model painted text into the plate", {"stray": "SALE 50% OFF"}, "background.stray-text", "fail"),
    ("brand adapter applied", {}, "brand.adapter", "pass"),
    ("brand adapter trained on another base: said, not silent",
     {"adapter_note": "brand northwind's adapter was trained on another base model"}, "brand.adapter", "warn"),
    ("text in the brand navy", {"fg": NAVY}, "brand.palette", "pass"),
    ("navy off by dE00 1.38 warns", {"fg": (0x1B, 0x2A, 0x44)}, "brand.palette", "warn"),
    ("red text is off-brand", {"fg": (200, 30, 30)}, "brand.palette", "fail"),
    ("logo pixels at the logo box", {}, "brand.logo-present", "pass"),
    ("logo painted over", {"tamper": cover_logo}, "brand.logo-present", "fail"),
    ("logo redrawn (mirrored)", {"tamper": redraw_logo}, "brand.logo-present", "fail"),
    ("logo wide enough", {}, "brand.logo-size", "pass"),
    ("logo under the kit's 60 px", {"logo_width": 40}, "brand.logo-size", "fail"),
    ("clear space kept", {}, "brand.logo-clearspace", "pass"),
    ("headline crowds the logo", {"headline_at": (80, 100)}, "brand.logo-clearspace", "fail"),
    ("allowed mark, own pixels", {"mark": "organic"}, "brand.mark-present", "pass"),
    ("mark painted over", {"mark": "organic", "tamper": cover_mark}, "brand.mark-present", "fail"),
    ("mark the brand may not use", {"mark": "halal"}, "brand.mark-present", "fail"),
    ("product pixels untouched", {}, "product.fidelity", "pass"),
    ("product blurred", {"tamper": blur_product}, "product.fidelity", "fail"),
    ("product grounded by its contact shadow", {"plate": (150, 140, 120)}, "product.grounded", "pass"),
    ("product pasted with no shadow floats", {"plate": (150, 140, 120), "grounded": False}, "product.grounded", "fail"),
    ("a glow under the base", {"plate": (150, 140, 120), "tamper": lighten_under_product}, "product.grounded", "fail"),
    ("clean matte edge on a dark plate", {"plate": (40, 70, 60)}, "product.halo", "pass"),
    ("white fringe from the matte", {"plate": (40, 70, 60), "tamper": white_fringe}, "product.halo", "fail"),
    ("product plate", {}, "safety.nsfw", "pass"),
    ("a listed class detected (brand lists faces)", {"plate_image": astronaut(), "product": False,
     "thresholds": {"safety.nsfw.FACE_FEMALE": 0.5}}, "safety.nsfw", "fail"),
    ("signed: C2PA valid, IPTC + TC260 in XMP", {"encode": "signed"}, "label.ai-metadata", "pass"),
    ("plain PNG: no labels", {"encode": "plain"}, "label.ai-metadata", "fail"),
    ("pure white around the product", {"fmt": "amazon-main"}, "marketplace.white-background", "pass"),
    ("off-white corner", {"fmt": "amazon-main", "tamper": grey_corner}, "marketplace.white-background", "fail"),
    ("product fills 85%", {"fmt": "amazon-main"}, "marketplace.product-fill", "pass"),
    ("product too small", {"fmt": "amazon-main", "product_slot": Box(600, 600, 1400, 1400)},
     "marketplace.product-fill", "fail"),
    ("only the product's own label reads", {"fmt": "amazon-main"}, "marketplace.no-text", "pass"),
    ("overlay text on the white", {"fmt": "amazon-main", "tamper": overlay_text}, "marketplace.no-text", "fail"),
]


def statuses(subj, rule_id):
    report = check(subj, tuple(r for r in RULES if r.id == rule_id))
    return report.findings


@pytest.mark.parametrize("case, kwargs, rule_id, expected", CASES, ids=[c[0] for c in CASES])
def test_rule(tmp_path, case, kwargs, rule_id, expected):
    findings = statuses(build(tmp_path, **kwargs), rule_id)
    worst = max((f.status for f in findings), key=["skip", "pass", "warn", "fail"].index)
    assert worst == expected, (case, [(f.status, f.message) for f in findings])
    for finding in findings:
        if finding.status in ("pass", "warn", "fail") and finding.severity != "info":
            assert finding.measured is not None, (case, finding)


def test_every_rule_of_design_section_5_is_registered_and_has_a_passing_and_a_failing_case():
    design = {"format.size", "format.file-size", "format.file-type", "layout.safe-zone", "text.contrast",
              "text.min-size", "text.legible", "text.overflow", "copy.banned-terms", "copy.required-disclaimer",
              "copy.claim-substantiated", "background.stray-text", "brand.palette", "brand.logo-present", "brand.logo-size",
              "brand.logo-clearspace", "brand.mark-present", "product.fidelity", "safety.nsfw", "label.ai-visible",
              "label.ai-metadata", "marketplace.white-background", "marketplace.product-fill", "marketplace.no-text",
              "brand.adapter"}
    # Issue 10: the placed product stands on the plate with a clean edge (tests/test_grounding.py too).
    grounding = {"product.grounded", "product.halo"}
    # Beyond section 5: Amazon's main-image requirements (tests/test_check_marketplace.py), the
    # automatic cut-out of product photos (tests/test_cutout.py), whose framed fallback warns, and
    # brand.adapter, which reports a skipped adapter (the asset itself is not wrong).
    amazon = {"marketplace.min-side", "marketplace.no-border", "marketplace.no-inset", "marketplace.no-watermark"}
    warn_only = {"brand.adapter", "product.cutout"}
    assert {r.id for r in RULES} == design | amazon | grounding | {"product.cutout"}
    from test_check_marketplace import CASES as FOREIGN_CASES
    from test_cutout import RULE_CASES as CUTOUT_CASES

    cases = [(c[2], c[3]) for c in BASIC_CASES + CASES + FOREIGN_CASES + CUTOUT_CASES]
    for rule_id in design | amazon | grounding | {"product.cutout"}:
        worst = "warn" if rule_id in warn_only else "fail"
        assert (rule_id, "pass") in cases and (rule_id, worst) in cases, rule_id


def test_failing_findings_carry_box_measured_and_threshold(tmp_path):
    report = check(build(tmp_path, tamper=cover_logo), tuple(r for r in RULES if r.id == "brand.logo-present"))
    finding = report.findings[0]
    assert finding.status == "fail" and finding.box is not None and finding.threshold == 0.9
    assert finding.measured < 0.9 and finding.element == "logo"


def test_thresholds_default_then_format_then_locale_then_brand():
    assert threshold("text.min-size.px", format_id="ig-square", locale="en-US") == 9
    assert threshold("text.min-size.px", format_id="iab-320x50", locale="en-US") == 7
    brand = {"text.min-size.px": 11, "text.min-size.px@ja-JP": 12}
    assert threshold("text.min-size.px", format_id="iab-320x50", locale="en-US", brand_overrides=brand) == 11
    assert threshold("text.min-size.px", format_id="ig-square", locale="ja-JP", brand_overrides=brand) == 12


def test_a_brand_threshold_changes_the_verdict(tmp_path):
    """#777 on white at 40 px passes 3:1; a brand asking 4.5:1 for large text fails it."""
    grey = (0x77, 0x77, 0x77)
    assert [f.status for f in statuses(build(tmp_path, fg=grey), "text.contrast") if f.element == "headline"] == ["pass"]
    strict = build(tmp_path, fg=grey, thresholds={"text.contrast.large": 4.5})
    assert [f.status for f in statuses(strict, "text.contrast") if f.element == "headline"] == ["fail"]


def test_contrast_rings_grow_glyphs_exactly_as_a_square_max_filter_does():
    # The rings around glyphs (typesetting, text.contrast) are cut with shifted ORs; they must keep
    # Pillow's MaxFilter pixels, edges included, or contrast figures would move.
    import numpy as np

    from adgen.geometry import grow_square

    rng = np.random.default_rng(0)
    for _ in range(100):
        rows, cols = rng.integers(1, 40, 2)
        glyphs = rng.random((rows, cols)) < rng.random() * 0.5
        mask = Image.fromarray(glyphs.astype(np.uint8) * 255)
        for radius in (1, 3):
            expected = np.asarray(mask.filter(ImageFilter.MaxFilter(2 * radius + 1))) > 0
            assert np.array_equal(grow_square(glyphs, radius), expected)
