"""Golden images: every format x locale on a deterministic gradient plate (no model).

Compared as thumbnails (longest side <= 480 px, so the goldens stay small) by mean absolute
pixel difference. On failure actual / expected / diff PNGs are written beside the goldens under
tests/golden/layout/failures/. Regenerate with ADGEN_REGEN_GOLDENS=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops

from adgen.formats import all_formats
from test_layout import laid_out

GOLDEN_DIR = Path(__file__).parent / "golden" / "layout"
THUMB_SIDE = 480
MAX_MEAN_ABS_DIFF = 1.0  # 0-255 per channel; a moved slot or a changed font size is far above
BRAND_FOR_LOCALE = {"en-US": "northwind", "ja-JP": "sakura", "zh-CN": "sakura"}


def thumbnail(image: Image.Image) -> Image.Image:
    scale = min(1.0, THUMB_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.convert("RGB").resize(size, Image.Resampling.BOX)


@pytest.mark.parametrize("locale", sorted(BRAND_FOR_LOCALE))
@pytest.mark.parametrize("format_id", sorted(all_formats()))
def test_layout_matches_golden(format_id, locale):
    _, comp = laid_out(BRAND_FOR_LOCALE[locale], locale, format_id)
    actual = thumbnail(comp.image)
    path = GOLDEN_DIR / f"{format_id}-{locale}.png"
    if os.environ.get("ADGEN_REGEN_GOLDENS") == "1" or not path.exists():
        if not os.environ.get("ADGEN_REGEN_GOLDENS") == "1":
            pytest.fail(f"no golden at {path}; run with ADGEN_REGEN_GOLDENS=1 to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        actual.save(path, optimize=True)
        return
    expected = Image.open(path).convert("RGB")
    diff = (np.abs(np.asarray(actual, dtype=np.int16) - np.asarray(expected, dtype=np.int16)).mean()
            if expected.size == actual.size else float("inf"))
    if diff > MAX_MEAN_ABS_DIFF:
        failures = GOLDEN_DIR / "failures"
        failures.mkdir(exist_ok=True)
        stem = f"{format_id}-{locale}"
        actual.save(failures / f"{stem}-actual.png")
        expected.save(failures / f"{stem}-expected.png")
        if expected.size == actual.size:
            ImageChops.difference(actual, expected).point(lambda v: min(255, v * 4)).save(failures / f"{stem}-diff.png")
        pytest.fail(f"{stem}: mean abs diff {diff:.2f} > {MAX_MEAN_ABS_DIFF} (images in {failures})")
