"""The artefact score sees an upscale grid and 8-bit bands, and compose's fit leaves neither."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from adgen.plate_quality import artefact_score, fit_plate

SOURCE = (128, 128)
CANVAS = (1080, 1080)


def _gradient(size: tuple[int, int]) -> np.ndarray:
    """A gentle two-axis gradient with a soft glow, RGB float 0-255 (a plate with no detail to hide bands)."""
    ys, xs = np.mgrid[0:size[1], 0:size[0]] / np.array(size[::-1]).reshape(2, 1, 1)
    glow = 10 * np.exp(-((xs - 0.5) ** 2 + (ys - 0.4) ** 2) / 0.05)
    return np.stack([60 + 40 * ys + glow, 80 + 30 * ys, 120 - 20 * ys + 6 * xs], axis=-1)


def _eight_bit(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")


@pytest.fixture(scope="module")
def plate() -> Image.Image:
    return _eight_bit(_gradient(SOURCE))


@pytest.fixture(scope="module")
def smooth() -> Image.Image:
    """The same scene drawn at full size in float and dithered once: no grid, no bands."""
    rng = np.random.default_rng(0)
    pixels = _gradient(CANVAS)
    return _eight_bit(pixels + rng.random(pixels.shape) - rng.random(pixels.shape))


def test_score_rises_on_a_nearest_upscale_and_stays_low_on_a_smooth_image(plate, smooth):
    blocky = artefact_score(plate.resize(CANVAS, Image.Resampling.NEAREST), SOURCE)
    clean = artefact_score(smooth, SOURCE)
    assert blocky.grid_db > 15 and clean.grid_db < 2
    assert blocky.banding_per_kpx > 3 * clean.banding_per_kpx


def test_banding_counts_the_steps_of_a_quantised_gradient(smooth):
    quantised = _eight_bit(_gradient(CANVAS))  # rounded straight to 8 bits: a staircase
    assert artefact_score(quantised, SOURCE).banding_per_kpx > 3 * artefact_score(smooth, SOURCE).banding_per_kpx


def test_fit_plate_leaves_less_grid_and_banding_than_lanczos_on_eight_bits(plate):
    before = artefact_score(ImageOps.fit(plate, CANVAS, Image.Resampling.LANCZOS), SOURCE)
    after = artefact_score(fit_plate(plate, CANVAS), SOURCE)
    assert after.grid_db < before.grid_db / 3
    assert after.banding_per_kpx < before.banding_per_kpx / 3


def test_fit_plate_crops_like_imageops_fit_and_is_deterministic(plate):
    wide = _eight_bit(_gradient((176, 96)))
    fitted = fit_plate(wide, (1080, 1920))
    reference = ImageOps.fit(wide, (1080, 1920), Image.Resampling.LANCZOS)
    assert fitted.size == (1080, 1920)
    # Same crop: the mean colour of each third of the frame agrees within a few codes.
    for third in range(3):
        box = (0, third * 640, 1080, (third + 1) * 640)
        assert np.abs(np.asarray(fitted.crop(box), float).mean((0, 1))
                      - np.asarray(reference.crop(box), float).mean((0, 1))).max() < 3
    assert np.array_equal(np.asarray(fit_plate(wide, (1080, 1920))), np.asarray(fitted))


def test_fit_plate_keeps_a_flat_colour_exact():
    flat = Image.new("RGB", (128, 128), (12, 200, 99))
    assert set(map(tuple, np.asarray(fit_plate(flat, CANVAS)).reshape(-1, 3))) == {(12, 200, 99)}
