"""`adgen check` on marketplace main images adgen did not make: the subject is segmented, not guessed.

Each image is built here the way a seller's packshot comes: a product on a background, saved
as JPEG, then one defect (a grey background, overlay type, a small product, a border, an
inset, a second view, a watermark). The clean packshot must pass every marketplace rule.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from adgen.check_image import check_image_file
from adgen.fonts import FontSpec, load_font
from conftest import EXAMPLES

MARKETPLACE = ("marketplace.white-background", "marketplace.product-fill", "marketplace.no-text",
               "marketplace.min-side", "marketplace.no-border", "marketplace.no-inset", "marketplace.no-watermark")


def packshot(size=1000, fill=0.9, background=(255, 255, 255), product="cold-brew-bag.png", at=None):
    """The product's longer side at `fill` of the frame, centred (or with its top-left at `at`)."""
    art = Image.open(EXAMPLES / "images" / product).convert("RGBA")
    art = art.crop(art.getchannel("A").getbbox())   # the product's own extent, not its file's margin
    scale = fill * size / max(art.size)
    art = art.resize((round(art.width * scale), round(art.height * scale)), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (size, size), background + (255,))
    image.alpha_composite(art, at or ((size - art.width) // 2, (size - art.height) // 2))
    return image.convert("RGB")


def jpeg(image: Image.Image, path: Path, quality=90) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    path.write_bytes(buffer.getvalue())
    return path


def text(image, words, xy, px, fill=(200, 20, 20)):
    ImageDraw.Draw(image).text(xy, words, font=load_font(FontSpec(weight=800), "latin", px), fill=fill)
    return image


def clean(size=1000):
    return packshot(size)


def grey(size=600):
    return packshot(size, background=(0xF2, 0xF2, 0xF2))


def overlay(size=600):
    return text(packshot(size, fill=0.6, at=(20, 60)), "BEST PRICE", (340, 240), 44)


def small(size=600):
    return packshot(size, fill=0.6)


def bordered(size=600):
    image = packshot(size)
    ImageDraw.Draw(image).rectangle((0, 0, size - 1, size - 1), outline=(20, 20, 20), width=6)
    return image


def inset(size=600):
    image = packshot(size, fill=0.86, at=(20, 40))
    detail = Image.open(EXAMPLES / "images" / "mug-photo.jpg").convert("RGB").resize((150, 112))
    image.paste(detail, (size - 170, size - 130))
    return image


def second_view(size=600):
    image = packshot(size, fill=0.86, at=(30, 40)).convert("RGBA")
    art = Image.open(EXAMPLES / "images" / "trail-flask.png").convert("RGBA")
    big, tiny = art.resize((184, 516)), art.resize((60, 168))
    image.paste(Image.new("RGBA", image.size, (255, 255, 255, 255)), (0, 0))
    image.alpha_composite(big, (120, 42))
    image.alpha_composite(tiny, (480, 400))
    return image.convert("RGB")


def watermarked(size=600):
    return text(packshot(size), "SAMPLE", (20, 300), 90, fill=(150, 150, 150))


# (case, image builder, rule, expected status): every marketplace rule passes on the clean
# packshot and fails on its defect.
CASES = [
    ("clean packshot: white", clean, "marketplace.white-background", "pass"),
    ("clean packshot: fill", clean, "marketplace.product-fill", "pass"),
    ("clean packshot: pack text only", clean, "marketplace.no-text", "pass"),
    ("clean packshot: 1000 px", clean, "marketplace.min-side", "pass"),
    ("clean packshot: no border", clean, "marketplace.no-border", "pass"),
    ("clean packshot: one view", clean, "marketplace.no-inset", "pass"),
    ("clean packshot: no watermark", clean, "marketplace.no-watermark", "pass"),
    ("all-#F2F2F2 background", grey, "marketplace.white-background", "fail"),
    ("overlay text on the white", overlay, "marketplace.no-text", "fail"),
    ("product under 85 %", small, "marketplace.product-fill", "fail"),
    ("600 px: no zoom", small, "marketplace.min-side", "fail"),
    ("a border", bordered, "marketplace.no-border", "fail"),
    ("an inset picture", inset, "marketplace.no-inset", "fail"),
    ("a second, smaller view", second_view, "marketplace.no-inset", "fail"),
    ("a watermark across the product", watermarked, "marketplace.no-watermark", "fail"),
]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("packshots")
    built = {}
    for builder in {c[1] for c in CASES}:
        path = jpeg(builder(), folder / f"{builder.__name__}.jpg")
        built[builder] = check_image_file(path, brand="northwind", format_id="amazon-main", copy_file=None)
    return built


@pytest.mark.parametrize("case, builder, rule, expected", CASES, ids=[c[0] for c in CASES])
def test_marketplace_rule_on_a_foreign_image(reports, case, builder, rule, expected):
    findings = [f for f in reports[builder].findings if f.rule == rule]
    worst = max((f.status for f in findings), key=["skip", "pass", "warn", "fail"].index)
    assert worst == expected, (case, [(f.status, f.message) for f in findings])


def test_a_clean_white_background_jpeg_packshot_passes_every_marketplace_rule(reports):
    findings = {f.rule: f for f in reports[clean].findings if f.rule in MARKETPLACE}
    assert {rule: f.status for rule, f in findings.items()} == {rule: "pass" for rule in MARKETPLACE}
    # The pack's own print was read and told apart from overlay text; the product is the segmented subject.
    assert "COLD" in " ".join(findings["marketplace.no-text"].measured["printed"]).upper()
    assert findings["marketplace.product-fill"].outline and 0.88 <= findings["marketplace.product-fill"].measured <= 0.92


def test_the_grey_background_names_its_measured_colour(reports):
    finding = next(f for f in reports[grey].findings if f.rule == "marketplace.white-background")
    assert "#F2F2F2" in finding.message and finding.measured > 0.9


def test_overlay_text_is_the_evidence_and_pack_text_is_not(reports):
    failing = [f for f in reports[overlay].findings if f.rule == "marketplace.no-text" and f.status == "fail"]
    assert [f.measured["text"].replace(" ", "").upper() for f in failing] == ["BESTPRICE"]
    box = failing[0].box
    assert box.left >= 320 and 220 <= box.top <= 260   # where the type was set, not the pack's label
    # The grey image passes white-background nowhere, but its product still fills its frame.
    assert reports[overlay].as_dict()["findings"]  # serialisable with outlines


def test_ai_metadata_is_not_required_of_a_photo_of_unknown_provenance(reports, tmp_path):
    assert [f.status for f in reports[clean].findings if f.rule == "label.ai-metadata"] == ["skip"]
    path = jpeg(small(), tmp_path / "made.jpg")
    said = check_image_file(path, brand="northwind", format_id="amazon-main", copy_file=None, generated=True)
    assert [f.status for f in said.findings if f.rule == "label.ai-metadata"] == ["fail"]
    denied = check_image_file(path, brand="northwind", format_id="amazon-main", copy_file=None, generated=False)
    assert [f.status for f in denied.findings if f.rule == "label.ai-metadata"] == ["skip"]


def test_check_command_takes_generated_flags(tmp_path):
    from typer.testing import CliRunner

    from adgen.cli import app

    path = jpeg(small(), tmp_path / "p.jpg")
    for flag, expected in (("--generated", "fail"), ("--not-generated", "skip")):
        result = CliRunner().invoke(app, ["check", str(path), "-b", "northwind", "-f", "amazon-main", "--json", flag])
        import json

        findings = json.loads(result.stdout)["findings"]
        assert [f["status"] for f in findings if f["rule"] == "label.ai-metadata"] == [expected], flag


def test_the_report_draws_the_segmented_subject_and_the_overlay_text_box(reports):
    import numpy as np

    from adgen.ui_render import SUBJECT_OUTLINE, draw_findings

    image = overlay()
    drawn = np.asarray(draw_findings(image, reports[overlay]))
    blue = (np.abs(drawn.astype(int) - SUBJECT_OUTLINE[:3]).max(axis=2) <= 40)
    assert blue.sum() > 200, "the subject's outline is drawn"
    red = (np.abs(drawn.astype(int) - (0xCF, 0x22, 0x2E)).max(axis=2) <= 10)
    assert red[200:300, 320:600].any(), "the overlay text's box is drawn where the text is"
