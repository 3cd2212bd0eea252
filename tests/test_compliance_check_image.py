"""`adgen check` on images adgen did not make: layer rules run on the text lines OCR finds."""

from __future__ import annotations


import pytest
from PIL import Image, ImageDraw

from adgen.check_image import check_image_file
from adgen.fonts import FontSpec, load_font


def poster(path, lines, size=(1080, 1080), bg=(255, 255, 255)):
    """An image made by someone else: text drawn with Pillow, saved as plain PNG (no metadata)."""
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    for text, xy, px, fill in lines:
        draw.text(xy, text, font=load_font(FontSpec(weight=700), "latin", px), fill=fill)
    image.save(path)
    return path


def failed_rules(report):
    return {f.rule for f in report.findings if f.status == "fail"}


@pytest.fixture(scope="module")
def broken_report(tmp_path_factory):
    """Every defect at once: a banned claim, low-contrast text, copy in the unsafe band, no AI label anywhere."""
    path = poster(tmp_path_factory.mktemp("check") / "broken.png", [
        ("It cures colds", (80, 400), 64, (0, 0, 0)),
        ("Pale small print nobody reads", (80, 600), 28, (205, 205, 205)),
        ("Swipe up", (400, 10), 48, (0, 0, 0)),
    ])
    return check_image_file(path, brand="northwind", format_id="ig-square", copy_file=None, generated=True)


def test_a_broken_image_names_each_broken_rule(broken_report):
    failed = failed_rules(broken_report)
    assert {"copy.banned-terms", "text.contrast", "layout.safe-zone", "label.ai-visible", "label.ai-metadata"} <= failed
    banned = next(f for f in broken_report.findings if f.rule == "copy.banned-terms" and f.status == "fail")
    assert "cure" in banned.message and banned.box is not None, "banned terms found in OCR'd text, with its box"
    low = [f for f in broken_report.findings if f.rule == "text.contrast" and f.status == "fail"]
    assert low and all(f.measured < 4.5 for f in low)


def test_rules_that_compare_with_placed_layers_skip_not_guess(broken_report):
    status = {f.rule: f.status for f in broken_report.findings}
    for rule in ("text.legible", "text.overflow", "background.stray-text", "brand.logo-present", "product.fidelity"):
        assert status[rule] == "skip", rule


def test_a_visible_ai_label_is_found_by_ocr(tmp_path):
    path = poster(tmp_path / "labelled.png", [("Fresh coffee", (80, 400), 64, (0, 0, 0)),
                                              ("AI-generated", (780, 1000), 30, (0, 0, 0))])
    report = check_image_file(path, brand="northwind", format_id="ig-square", copy_file=None)
    label = [f for f in report.findings if f.rule == "label.ai-visible"]
    assert [f.status for f in label] == ["pass"], [f.message for f in label]
    assert label[0].box is not None


def test_a_required_disclaimer_is_searched_in_the_ocr_text(tmp_path):
    text = "Contains caffeine. Not recommended for children or pregnant women."
    with_it = poster(tmp_path / "with.png", [("Cold brew", (80, 300), 64, (0, 0, 0)), (text, (60, 900), 26, (0, 0, 0))])
    without = poster(tmp_path / "without.png", [("Cold brew", (80, 300), 64, (0, 0, 0))])
    statuses = {}
    for name, path in (("with", with_it), ("without", without)):
        report = check_image_file(path, brand="northwind", format_id="ig-square", copy_file=None, category="coffee")
        statuses[name] = [f.status for f in report.findings if f.rule == "copy.required-disclaimer"]
    assert statuses == {"with": ["pass"], "without": ["fail"]}


def test_keys_init_signing_prints_where_the_files_went(tmp_path):
    from typer.testing import CliRunner

    from adgen.cli import app

    result = CliRunner().invoke(app, ["keys", "init-signing", "--dir", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "keys" / "signer.key").is_file() and (tmp_path / "keys" / "signer-chain.pem").is_file()
    assert "signer.key" in result.output and "signer-chain.pem" in result.output
    again = CliRunner().invoke(app, ["keys", "init-signing", "--dir", str(tmp_path / "keys")])
    assert again.exit_code == 0 and "kept existing" in again.output


def test_rules_command_prints_every_rule_with_its_defaults():
    from typer.testing import CliRunner

    from adgen.cli import app
    from adgen.compliance import RULES

    result = CliRunner().invoke(app, ["rules"], env={"COLUMNS": "240"})
    assert result.exit_code == 0, result.output
    for rule in RULES:
        assert rule.id in result.output
    assert "max_cer 0.05" in result.output and "min_ssim 0.98" in result.output
