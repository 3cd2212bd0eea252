"""The procedural backdrop generator: deterministic, and its captions say what it drew."""

from __future__ import annotations

import numpy as np
import pytest

from adgen.backdrops import (COLOURS, KINDS, LIGHTING, MATERIALS, OBJECTS, BackdropParams,
                             caption, render_backdrop, sample_backdrop)
from adgen.geometry import Size


def _pixels(params: BackdropParams, size=64) -> np.ndarray:
    return np.asarray(render_backdrop(params, size), np.float32)


def test_same_seed_same_params_and_pixels():
    assert sample_backdrop(11) == sample_backdrop(11)
    assert np.array_equal(_pixels(sample_backdrop(11)), _pixels(sample_backdrop(11)))


def test_different_seeds_differ():
    images = [_pixels(sample_backdrop(seed)) for seed in range(6)]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert np.abs(images[i] - images[j]).mean() > 1.0


def test_renders_the_requested_size_and_any_aspect():
    params = sample_backdrop(3)
    assert render_backdrop(params, 128).size == (128, 128)
    wide = render_backdrop(params, Size(200, 90))
    assert wide.size == (200, 90) and wide.mode == "RGB"


def test_sampler_covers_every_option():
    seen = [sample_backdrop(seed) for seed in range(600)]
    assert {p.kind for p in seen} == set(KINDS)
    assert {p.colour for p in seen} == set(COLOURS)
    assert {p.lighting for p in seen} == set(LIGHTING)
    assert {p.material for p in seen} == set(MATERIALS)
    assert {p.object for p in seen} == set(OBJECTS)


@pytest.mark.parametrize("seed", range(40))
def test_caption_names_the_parameters(seed):
    params = sample_backdrop(seed)
    full, short = caption(params), caption(params, short=True)
    assert params.colour in full.split(" ") and params.colour in short.split(" ")
    assert params.lighting in full
    assert (params.material in full) == (params.material != "none")
    assert (params.object in full) == (params.object != "none")
    assert (params.object in short) == (params.object != "none")
    # Synonyms are reserved for the MiniLM steering test: they must never be trained on.
    for word in ("crimson", "azure", "navy", "scarlet", "teal"):
        assert word not in full and word not in short


def test_colour_word_matches_the_drawn_colour():
    red = _pixels(BackdropParams(colour="red")).mean(axis=(0, 1))
    blue = _pixels(BackdropParams(colour="blue")).mean(axis=(0, 1))
    assert red[0] - red[2] > 80 and blue[2] - blue[0] > 80


def test_lighting_word_matches_brightness():
    bright = _pixels(BackdropParams(colour="gray", lighting="bright")).mean()
    dark = _pixels(BackdropParams(colour="gray", lighting="dark moody")).mean()
    assert bright - dark > 60


def test_podium_stands_in_the_lower_centre():
    plain = _pixels(BackdropParams(colour="beige"), 128)
    podium = _pixels(BackdropParams(colour="beige", object="round podium"), 128)
    diff = np.abs(plain - podium).mean(axis=2)
    lower_centre, top = diff[75:120, 40:88].mean(), diff[:40].mean()
    assert lower_centre > 10 and top < 1


def test_unknown_option_names_the_field():
    with pytest.raises(ValueError, match="colour.*crimson"):
        BackdropParams(colour="crimson")
