"""Table-driven rule tests: each rule gets a passing and a failing case built in the test."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from adgen.brand import load_brand
from adgen.color import contrast_ratio
from adgen.compliance import RULES, CheckSubject, check
from adgen.composition import Composition, PlacedLayer
from adgen.fonts import FontSpec, load_font
from adgen.formats import get_format
from adgen.geometry import Box


def test_wcag_contrast_is_unrounded():
    assert contrast_ratio((0x77, 0x77, 0x77), (255, 255, 255)) == pytest.approx(4.478, abs=1e-3)
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((0x76, 0x76, 0x76), (255, 255, 255)) > 4.5


def text_layer(image, name, text, xy, *, fg, bg=None, size=40, **extra):
    """Draw text on image and return the PlacedLayer a layout would have recorded."""
    draw = ImageDraw.Draw(image)
    font = load_font(FontSpec(weight=400), "latin", size)
    left, top, right, bottom = draw.textbbox(xy, text, font=font)
    if bg:
        draw.rectangle((left - 8, top - 8, right + 8, bottom + 8), fill=bg)
    draw.text(xy, text, font=font, fill=fg)
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).text(xy, text, font=font, fill=255)
    box = Box(left, top, right, bottom)
    defaults = dict(font_size_px=size, color="#%02X%02X%02X" % fg, is_large_text=size >= 24, lines=(text,))
    defaults.update(extra)
    return PlacedLayer(name=name, kind="text", box=box, slot_box=box.expand(10), text=text,
                       glyph_mask=mask.crop(box.as_tuple()), **defaults)


def subject(fmt="ig-square", *, fg=(0, 0, 0), bg=(255, 255, 255), size=40, copy=None, brand="northwind",
            locale="en-US", category="general", texts=None, label=True, image_size=None, encoded=None,
            file_type="png", claims=(), knowledge=None, **layer_extra):
    fmt_record = get_format(fmt)
    image = Image.new("RGB", image_size or fmt_record.size.as_tuple(), bg)
    layers = [text_layer(image, name, text, (120, 200 + 80 * i), fg=fg, size=size, **layer_extra)
              for i, (name, text) in enumerate((texts or {"headline": "Fresh coffee"}).items())]
    if label:
        layers.append(text_layer(image, "ai_label", "AI-generated", (800, 1000), fg=(0, 0, 0), size=24))
    comp = Composition(image=image, plate=image, layers=tuple(layers))
    if knowledge:  # the brand's claim evidence, in this test's ADGEN_HOME
        from adgen.knowledge import KnowledgeBase

        KnowledgeBase("local", brand).add_bytes([("evidence.md", knowledge.encode())], "claim-evidence")
    return CheckSubject(image=image, format=fmt_record, brand=load_brand(brand), locale=locale, category=category,
                        copy=copy or {}, composition=comp, encoded=encoded, file_type=file_type, claims=claims,
                        tenant="local")


def statuses(subj, rule_id):
    report = check(subj, tuple(r for r in RULES if r.id == rule_id))
    return [f.status for f in report.findings]


EVIDENCE = """# Claim evidence

- Our cold brew gets an 18-hour steep in cold filtered water.
- Beans are roasted in small batches on a drum roaster.
"""
CASES = [
    # (case, subject kwargs, rule id, expected worst status)
    ("right size", {}, "format.size", "pass"),
    ("wrong size", {"image_size": (1000, 1000)}, "format.size", "fail"),
    ("black on white", {}, "text.contrast", "pass"),
    ("#777 on white at 20px fails at 4.48", {"fg": (0x77, 0x77, 0x77), "size": 20}, "text.contrast", "fail"),
    ("#777 on white is large text at 40px: 3:1 applies", {"fg": (0x77, 0x77, 0x77)}, "text.contrast", "pass"),
    ("#999 on white large fails 3:1", {"fg": (0x99, 0x99, 0x99)}, "text.contrast", "fail"),
    ("fits", {}, "text.overflow", "pass"),
    ("overflowed copy is reported", {"overflow": True}, "text.overflow", "fail"),
    ("clean copy", {"texts": {"headline": "Fresh coffee"}}, "copy.banned-terms", "pass"),
    ("brand banned term", {"texts": {"headline": "The cheapest coffee"}}, "copy.banned-terms", "fail"),
    ("disease claim outside medical", {"texts": {"headline": "It cures colds"}}, "copy.banned-terms", "fail"),
    ("spaced-out letters", {"texts": {"headline": "c u r e s everything"}}, "copy.banned-terms", "fail"),
    ("'cure' inside 'secure' is not a hit", {"texts": {"headline": "A secure lid"}}, "copy.banned-terms", "pass"),
    ("zh absolute term, full-width spaced", {"locale": "zh-CN", "brand": "sakura", "texts": {"headline": "最　佳的茶"}},
     "copy.banned-terms", "fail"),
    ("ja absolute term", {"locale": "ja-JP", "brand": "sakura", "texts": {"headline": "日本一のお茶"}},
     "copy.banned-terms", "fail"),
    ("disclaimer required and present", {"category": "coffee", "size": 24, "texts": {
        "disclaimer": "Contains caffeine. Not recommended for children or pregnant women."}}, "copy.required-disclaimer", "pass"),
    ("disclaimer required and missing", {"category": "coffee"}, "copy.required-disclaimer", "fail"),
    ("disclaimer altered", {"category": "coffee", "texts": {"disclaimer": "Contains caffeine."}},
     "copy.required-disclaimer", "fail"),
    ("label present and legible", {}, "label.ai-visible", "pass"),
    ("no label", {"label": False}, "label.ai-visible", "fail"),
    ("zh-CN label must be 5% of shortest side", {"locale": "zh-CN", "brand": "sakura"}, "label.ai-visible", "fail"),
    ("inside safe area", {}, "layout.safe-zone", "pass"),
    ("text in the story's top 14%", {"fmt": "story", "texts": {"headline": "Top"}}, "layout.safe-zone", "fail"),
    ("readable size", {}, "text.min-size", "pass"),
    ("too small", {"size": 7}, "text.min-size", "fail"),
    ("bytes within limit", {"fmt": "iab-300x250", "image_size": (300, 250), "encoded": b"x" * 1000}, "format.file-size", "pass"),
    ("bytes over 150 KB", {"fmt": "iab-300x250", "image_size": (300, 250), "encoded": b"x" * 160_000}, "format.file-size", "fail"),
    ("no knowledge base: skipped as before", {"claims": ("Steeped for 18 hours",)}, "copy.claim-substantiated", "skip"),
    ("paraphrase of the evidence", {"claims": ("Steeped for 18 hours",), "knowledge": EVIDENCE},
     "copy.claim-substantiated", "pass"),
    ("unrelated to the evidence", {"claims": ("Clinically proven",), "knowledge": EVIDENCE},
     "copy.claim-substantiated", "fail"),
    ("accepted type", {}, "format.file-type", "pass"),
    ("gif not accepted", {"file_type": "gif"}, "format.file-type", "fail"),
]


@pytest.mark.parametrize("case, kwargs, rule_id, expected", CASES, ids=[c[0] for c in CASES])
def test_rule(case, kwargs, rule_id, expected):
    found = statuses(subject(**kwargs), rule_id)
    worst = max(found, key=["skip", "pass", "warn", "fail"].index)
    assert worst == expected, (case, found)


def test_story_case_really_places_text_in_the_unsafe_band():
    subj = subject(fmt="story")
    safe = subj.format.safe_area.box(subj.format.size)
    assert subj.composition.layer("headline").box.top < safe.top


def test_findings_carry_measured_threshold_element_and_box():
    report = check(subject(fg=(0x77, 0x77, 0x77), size=20))
    finding = next(f for f in report.findings if f.rule == "text.contrast" and f.element == "headline")
    assert finding.measured < 4.5 and finding.threshold == 4.5 and finding.box is not None
    assert report.verdict == "fail"


def test_contrast_is_worst_case_not_mean():
    """Black text half over white, half over near-black: the mean would pass, the worst case fails."""
    image = Image.new("RGB", (1080, 1080), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((0, 0, 300, 1080), fill=(30, 30, 30))
    layer = text_layer(image, "headline", "Half dark half light", (150, 300), fg=(0, 0, 0), size=20)
    comp = Composition(image=image, plate=image, layers=(layer,))
    subj = CheckSubject(image=image, format=get_format("ig-square"), brand=load_brand("northwind"), composition=comp)
    assert statuses(subj, "text.contrast") == ["fail"]


def test_a_crashing_rule_becomes_a_failing_finding():
    from adgen.compliance import Rule

    def broken(_subject):
        raise ValueError("boom")

    report = check(subject(), (Rule("test.broken", "error", broken, "always crashes"),))
    assert report.verdict == "fail" and "boom" in report.findings[0].message
