"""Fonts come from the packaged Noto families, per script, at the requested weight."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adgen.errors import NotFoundError
from adgen.fonts import FontSpec, font_files, font_path, load_font, script_for


@pytest.mark.parametrize("text, locale, expected", [
    ("Fresh roast, delivered weekly", "en-US", "latin"),
    ("Café crème", "fr-FR", "latin"),
    ("こんにちは世界", "ja-JP", "ja"),
    ("カタカナ", "en-US", "ja"),           # kana is Japanese whatever the locale
    ("日本語", "ja-JP", "ja"),              # Han-only text in ja-JP stays Japanese
    ("日本語", "zh-CN", "zh-Hans"),
    ("中文", "zh-TW", "zh-Hant"),
    ("中文", "zh-Hant-HK", "zh-Hant"),
    ("新品iPhone", "zh-CN", "zh-Hans"),
    ("한국어", "ko-KR", "ko"),
    ("한국어", "en-US", "ko"),
    ("SALE", "ja-JP", "latin"),             # Latin copy in a Japanese ad is set in Latin
    ("", "ja-JP", "ja"),                    # nothing to detect: the locale decides
    ("漢字", "en-US", "zh-Hans"),
])
def test_script_for(text, locale, expected):
    assert script_for(text, locale) == expected


@pytest.mark.parametrize("script, family", [
    ("latin", "Noto Sans"),
    ("ja", "Noto Sans JP"),
    ("zh-Hans", "Noto Sans SC"),
    ("zh-Hant", "Noto Sans TC"),
    ("ko", "Noto Sans KR"),
])
def test_each_script_falls_back_to_its_packaged_family(script, family):
    font = load_font(FontSpec(), script, 32)
    assert font.getname()[0] == family
    assert font_path(FontSpec(), script) == font_files()[family]


def test_font_files_lists_packaged_families_only():
    files = font_files()
    assert {"Noto Sans", "Noto Sans JP", "Noto Sans SC", "Noto Sans TC",
            "Noto Sans KR"} <= set(files)
    for path in files.values():
        assert path.is_file()
        assert "site-packages" in str(path)  # never a system font folder


def _ink(text: str, script: str, weight: int) -> int:
    font = load_font(FontSpec(weight=weight), script, 48)
    image = Image.new("L", (600, 100), 0)
    ImageDraw.Draw(image).text((10, 80), text, font=font, fill=255, anchor="ls")
    return int(np.asarray(image, dtype=np.int64).sum())


@pytest.mark.parametrize("text, script", [("Heavy", "latin"), ("太字です", "ja"), ("굵게", "ko")])
def test_variable_weight_700_inks_more_than_400(text, script):
    regular, bold = _ink(text, script, 400), _ink(text, script, 700)
    assert bold > regular * 1.2


def test_cjk_fonts_are_not_left_at_their_thin_default():
    # The CJK variable fonts default to wght=100; 400 must draw visibly more ink.
    assert _ink("日本語", "ja", 400) > _ink("日本語", "ja", 100) * 1.5


def test_load_font_is_cached():
    assert load_font(FontSpec(), "latin", 20) is load_font(FontSpec(), "latin", 20)


def test_brand_file_used_where_it_covers_the_script(tmp_path):
    brand_file = tmp_path / "BrandSans.ttf"
    shutil.copy(font_files()["Noto Sans"], brand_file)
    spec = FontSpec(family="Brand Sans", file=brand_file)
    assert font_path(spec, "latin") == brand_file
    # A Latin-only brand font cannot set Japanese: fall back to the packaged JP font.
    assert font_path(spec, "ja") == font_files()["Noto Sans JP"]


def test_unknown_family_names_it():
    with pytest.raises(NotFoundError, match="Helvetica Neue") as err:
        load_font(FontSpec(family="Helvetica Neue"), "latin", 20)
    assert "Noto Sans" in str(err.value)  # and says what is available


def test_missing_brand_file_names_it(tmp_path):
    missing = tmp_path / "nope.ttf"
    with pytest.raises(NotFoundError, match="nope.ttf"):
        load_font(FontSpec(file=missing), "latin", 20)


def test_unknown_script_is_refused():
    with pytest.raises(NotFoundError, match="klingon"):
        load_font(FontSpec(), "klingon", 20)
