"""Grounding (adgen.grounding): the product stands on the plate; its opaque pixels stay its own.

Small canvases, real pixels: a drawn product with a soft matte edge on drawn plates.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from adgen.compliance.grounding_rules import grounding_bands, grounding_delta, halo_distance
from adgen.geometry import Box, Size
from adgen.grounding import GLOSS_MIN, estimate_gloss, estimate_light, ground


def bottle(size=(60, 120), colour=(30, 60, 140), fringe=None) -> Image.Image:
    """A product cut-out: a rounded body with a 2-3 px anti-aliased matte edge (fringe: its edge colour)."""
    art = Image.new("RGBA", size, (*(fringe or colour), 0))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((6, 4, size[0] - 7, size[1] - 3), radius=10, fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(1.2))
    body = Image.new("RGBA", size, (*colour, 255))
    if fringe:  # the old background left in the matte's partial pixels
        edge = np.asarray(mask) < 250
        rgb = np.asarray(body).copy()
        rgb[edge, :3] = fringe
        body = Image.fromarray(rgb)
    body.putalpha(mask)
    return body


def plate(light: str = "left", size=(240, 200)) -> Image.Image:
    """A warm studio plate lit from one side (or evenly)."""
    width, height = size
    x = np.linspace(0, 1, width)[None, :, None]
    y = np.linspace(0, 1, height)[:, None, None]
    ramp = {"left": 1 - x, "right": x, "even": 0 * x + 0.5}[light]
    pixels = 110 + 110 * ramp - 20 * y + np.zeros((height, width, 3))
    pixels[..., 2] -= 20
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def test_opaque_product_pixels_are_the_artworks_own_bit_for_bit():
    art = bottle()
    result = ground(plate(), art, (90, 40))
    out = np.asarray(result.image)[40:160, 90:150]
    rgba = np.asarray(art)
    opaque = rgba[..., 3] == 255
    assert opaque.sum() > 3000
    assert np.array_equal(out[opaque], rgba[..., :3][opaque])


@pytest.mark.parametrize("origin", [(0, 0), (200, 150), (-30, 120), (100, -50)])
def test_grounding_at_canvas_edges_keeps_the_product_and_the_far_plate(origin):
    art, background = bottle(), plate()
    result = ground(background, art, origin)
    out, before = np.asarray(result.image), np.asarray(background)
    box = Box(origin[0], origin[1], origin[0] + art.width, origin[1] + art.height).clamp_to(Size(240, 200))
    if box.area:
        rgba = np.asarray(art)[box.top - origin[1]:box.bottom - origin[1], box.left - origin[0]:box.right - origin[0]]
        opaque = rgba[..., 3] == 255
        assert np.array_equal(out[box.top:box.bottom, box.left:box.right][opaque], rgba[..., :3][opaque])
    # Above the product's top the plate is untouched: grounding only works under and around the base.
    if origin[1] > 0:
        assert np.array_equal(out[:origin[1]], before[:origin[1]])


def test_the_band_under_the_base_is_darker_than_beside_it():
    art = bottle()
    result = ground(plate("even"), art, (90, 40))
    alpha = np.asarray(art)[..., 3].astype(float)
    under, beside = grounding_bands(Box(90, 40, 150, 160), alpha, Size(240, 200), [])
    assert grounding_delta(result.image, under, beside) < -6
    pasted = plate("even")
    pasted.paste(art, (90, 40), art)
    assert abs(grounding_delta(pasted, under, beside)) < 1   # the old paste floats


def test_light_is_estimated_from_the_plate():
    box = Box(90, 40, 150, 160)
    left = estimate_light(np.asarray(plate("left"), dtype=np.float32), box)
    right = estimate_light(np.asarray(plate("right"), dtype=np.float32), box)
    even = estimate_light(np.asarray(plate("even"), dtype=np.float32), box)
    assert left.direction < -0.5 and right.direction > 0.5
    assert even.hardness < 0.15 < left.hardness


def _side_darkening(image: Image.Image, background: Image.Image, rows: slice, columns: slice) -> float:
    return float((np.asarray(background, dtype=float)[rows, columns] - np.asarray(image, dtype=float)[rows, columns]).mean())


def test_the_cast_shadow_falls_away_from_the_light():
    art = bottle()
    rows = slice(162, 180)   # under the base (it ends near row 156)
    shadows = {}
    for light in ("left", "right"):
        background = plate(light)
        image = ground(background, art, (90, 40)).image
        shadows[light] = (_side_darkening(image, background, rows, slice(60, 96)),
                          _side_darkening(image, background, rows, slice(144, 180)))
    assert shadows["left"][1] > shadows["left"][0] * 1.5     # lit from the left: shadow to the right
    assert shadows["right"][0] > shadows["right"][1] * 1.5


def glossy_plate(size=(240, 200), horizon=156) -> Image.Image:
    """A textured wall standing on a mirror-like floor: the rows under the horizon mirror those above."""
    rng = np.random.default_rng(3)
    wall = Image.fromarray(rng.integers(60, 200, (size[1], size[0], 3), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(1.5))
    pixels = np.asarray(wall).copy()
    rows = size[1] - horizon - 1
    pixels[horizon + 1:] = (pixels[horizon - rows:horizon][::-1] * 0.8).astype(np.uint8)   # row b+1+k mirrors b-1-k
    return Image.fromarray(pixels)


def test_a_glossy_surface_gets_a_reflection_and_a_matte_one_does_not():
    art = bottle(colour=(200, 30, 30))
    shiny, matte = glossy_plate(), Image.fromarray(
        np.random.default_rng(4).integers(60, 200, (200, 240, 3), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(1.5))
    base_y = 40 + 117   # the lowest half-opaque row
    assert estimate_gloss(np.asarray(shiny, dtype=np.float32), Box(90, 40, 150, 160), base_y) > GLOSS_MIN
    assert estimate_gloss(np.asarray(matte, dtype=np.float32), Box(90, 40, 150, 160), base_y) == 0

    def redness(image, background):   # red gained just under the base, over the product's width
        diff = np.asarray(image, dtype=float)[161:172, 100:140] - np.asarray(background, dtype=float)[161:172, 100:140]
        return float((diff[..., 0] - diff[..., 1]).mean())

    glossy = ground(shiny, art, (90, 40))
    assert glossy.gloss > GLOSS_MIN and redness(glossy.image, shiny) > 5
    flat = ground(matte, art, (90, 40))
    assert flat.gloss == 0 and redness(flat.image, matte) < 2


def test_a_white_fringe_in_the_matte_is_cleaned_into_no_halo():
    # The photo's old white background left in the partial-alpha edge: on a dark plate a plain
    # alpha composite shows a white ring (product.halo fails); grounding defringes and wraps it.
    dark = Image.new("RGB", (240, 200), (30, 45, 40))
    art = bottle(colour=(30, 60, 140), fringe=(255, 255, 255))
    alpha = np.asarray(art)[..., 3].astype(float)
    box = Box(90, 40, 150, 160)
    pasted = dark.convert("RGBA")
    pasted.alpha_composite(art, (90, 40))
    fringed, _ = halo_distance(pasted.convert("RGB"), box, alpha)
    cleaned, _ = halo_distance(ground(dark, art, (90, 40)).image, box, alpha)
    assert fringed > 10.0 >= cleaned


def test_the_html_report_draws_the_grounding_bands_and_the_halo_ring(tmp_path):
    from adgen.evidence import write_evidence

    Image.new("RGB", (240, 200), (200, 200, 200)).save(tmp_path / "a.png")
    findings = [
        {"rule": "product.grounded", "status": "pass", "severity": "error", "message": "darker", "measured": -9.0,
         "threshold": -4.0, "element": "product", "box": [90, 40, 150, 160], "outline": None,
         "regions": [{"label": "under the base", "box": [96, 158, 144, 163]},
                     {"label": "beside the base", "box": [40, 158, 80, 163]}]},
        {"rule": "product.halo", "status": "fail", "severity": "error", "message": "halo", "measured": 30.0,
         "threshold": 6.0, "element": "product", "box": [90, 40, 150, 160], "regions": None,
         "outline": [[[90, 40], [150, 40], [150, 160], [90, 160]]]}]
    (tmp_path / "a.report.json").write_text(json.dumps({"verdict": "fail", "findings": findings}))
    html_path, _ = write_evidence(tmp_path, [tmp_path / "a.report.json"])
    page = html_path.read_text(encoding="utf-8")
    assert 'x="96" y="158" width="48" height="5"' in page and "under the base" in page and "beside the base" in page
    assert '<polygon points="90,40 150,40 150,160 90,160" fill="none" stroke="#D7263D"' in page


def test_copy_space_counts_scrims_and_contrast_fixes_per_100_assets():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.grounding import copy_space_counts

    text = {"kind": "text", "scrim": None, "notes": []}
    reports = [
        {"layers": [dict(text, scrim="#1B2A41"), dict(text, scrim="#F2A541", notes=["button #F2A541"])], "attempts": []},
        {"layers": [text], "attempts": [{"fix": "recolour-or-scrim", "applied": True},
                                        {"fix": "smaller-file", "applied": True}]},
        {"layers": [text], "attempts": [{"fix": "recolour-or-scrim", "applied": False}]},
        {"layers": [], "attempts": []},
    ]
    counts = copy_space_counts(reports)
    assert (counts["scrims"], counts["contrast_fixes"]) == (1, 1)   # the button is its own plate, not a scrim
    assert counts["scrims_per_100"] == 25.0 and counts["contrast_fixes_per_100"] == 25.0


@pytest.mark.parametrize("format_id", ["ig-square", "story", "iab-728x90"])
def test_every_laid_out_product_is_grounded_without_a_halo(format_id):
    # compose on the golden tests' gradient plate: both rules pass on what layout makes.
    from adgen.compliance import RULES, CheckSubject, check
    from test_layout import laid_out

    request, comp = laid_out("northwind", "en-US", format_id)
    subject = CheckSubject(image=comp.image, format=request.format, brand=request.brand, composition=comp)
    report = check(subject, tuple(r for r in RULES if r.id in ("product.grounded", "product.halo")))
    assert sorted((f.rule, f.status) for f in report.findings) == [("product.grounded", "pass"), ("product.halo", "pass")], \
        [(f.rule, f.message) for f in report.findings]
    assert any(note.startswith("grounded: light from the") for note in comp.layer("product").notes)


@pytest.mark.parametrize("light", ["left", "right", "even"])
@pytest.mark.parametrize("art_size", [(60, 120), (120, 240)])
def test_the_shadow_fades_out_instead_of_ending_on_a_line(light, art_size):
    """Regression: the shade was cut at the edge of its box beside the product (a faint vertical seam)."""
    background, art, origin = plate(light, (480, 400)), bottle(art_size), (210 - art_size[0] // 2, 40)
    result = ground(background, art, origin)
    darkening = np.asarray(background, dtype=float).mean(-1) - np.asarray(result.image, dtype=float).mean(-1)
    for row in darkening[result.base_y + 2:]:
        shaded = np.nonzero(np.abs(row) > 0.5)[0]
        if shaded.size:  # the outermost shaded px on each side: barely darker than the plate
            assert abs(row[shaded[0]]) < 2.5 and abs(row[shaded[-1]]) < 2.5


def test_the_occlusion_beside_a_rounded_base_has_no_step():
    """Regression: each column's contact row fell back to the base row at a cut-off, and the ambient
    occlusion jumped there, ~12 px beside the product (a 3-code vertical seam on the demo's jasmine tin)."""
    art = Image.new("RGBA", (160, 320), (220, 220, 210, 0))
    mask = Image.new("L", art.size, 0)
    draw = ImageDraw.Draw(mask)
    draw.rectangle((0, 0, 159, 280), fill=255)
    draw.ellipse((0, 250, 159, 310), fill=255)         # a tin's bottom seen from above
    art.putalpha(mask.filter(ImageFilter.GaussianBlur(1.0)))
    background, origin = plate("even", (640, 420)), (240, 20)
    result = ground(background, art, origin)
    darkening = np.asarray(background, dtype=float).mean(-1) - np.asarray(result.image, dtype=float).mean(-1)
    rows = darkening[result.base_y + 2:result.base_y + 30]
    beside = np.r_[0:origin[0] - 3, origin[0] + art.width + 3:darkening.shape[1]]
    steps = np.abs(np.diff(rows.mean(axis=0)))[beside[:-1]]
    assert steps.max() < 1.0
