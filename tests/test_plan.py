"""Plan stage: the layout as data, before the plate; compose places the product exactly where it says."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from adgen.layout import compose
from adgen.plan import plan
from adgen.request import AssetRequest, resolve
from conftest import EXAMPLES


def resolved_for(product, fmt, **extra):
    return resolve(AssetRequest(product=product, brand="northwind", format=fmt, model="adgen-tiny", **extra))


@pytest.mark.parametrize("fmt", ["ig-square", "story", "fb-link", "iab-300x250", "amazon-main"])
def test_compose_places_the_product_at_the_plans_box(cold_brew, fmt):
    resolved = resolved_for(cold_brew, fmt)
    layout = plan(resolved)
    plate = Image.new("RGB", (64, 64), (90, 120, 150))
    composition = compose(plate, resolved)
    assert layout.product_box is not None
    assert composition.layer("product").box == layout.product_box
    assert layout.base_y == layout.product_box.bottom
    assert layout.product_mask.size == (layout.product_box.width, layout.product_box.height)


def test_plan_of_a_framed_photo_matches_compose(cold_brew, tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.open(EXAMPLES / "images" / "cold-brew-bag.png").convert("RGB").save(photo)
    resolved = resolved_for(cold_brew.model_copy(update={"product_image": photo}), "ig-square", cutout=False)
    layout = plan(resolved)
    composition = compose(Image.new("RGB", (64, 64), (20, 20, 20)), resolved)
    assert composition.layer("product").box == layout.product_box
    assert np.asarray(layout.product_mask).min() == 255   # a framed photo is opaque to its frame


def test_plan_has_copy_logo_and_marks_but_no_pixels_of_the_plate(cold_brew):
    layout = plan(resolved_for(cold_brew, "ig-square"))
    names = [name for name, _ in layout.copy_boxes]
    assert "headline" in names and "cta" not in names
    assert layout.logo_box is not None and layout.marks_box is not None
    # The product's silhouette: transparent corners of the bag stay out of the mask.
    mask = np.asarray(layout.product_mask)
    assert mask.max() == 255 and mask.min() < 255


def test_plan_without_a_product_image(cold_brew):
    layout = plan(resolved_for(cold_brew.model_copy(update={"product_image": None}), "ig-square"))
    assert layout.product_box is None and layout.product_mask is None and layout.base_y is None


def test_plan_digest_changes_with_the_format(cold_brew):
    assert plan(resolved_for(cold_brew, "ig-square")).digest() != plan(resolved_for(cold_brew, "story")).digest()
    assert plan(resolved_for(cold_brew, "ig-square")).digest() == plan(resolved_for(cold_brew, "ig-square")).digest()


def test_plan_of_a_photo_cut_out_matches_compose(cold_brew, tmp_path):
    bag = Image.open(EXAMPLES / "images" / "cold-brew-bag.png").convert("RGBA")
    photo = Image.new("RGBA", (bag.width * 2, bag.height * 2), (255, 255, 255, 255))
    photo.alpha_composite(bag, (bag.width // 2, bag.height // 2))
    photo.convert("RGB").save(tmp_path / "on-white.png")
    resolved = resolved_for(cold_brew.model_copy(update={"product_image": tmp_path / "on-white.png"}), "story")
    layout = plan(resolved)
    composition = compose(Image.new("RGB", (64, 64), (20, 20, 20)), resolved)
    assert composition.layer("product").box == layout.product_box
    assert np.asarray(layout.product_mask).min() < 255   # the cut-out's silhouette, not its frame
