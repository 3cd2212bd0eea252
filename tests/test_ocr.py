"""OCR adapter: text drawn with the packaged Noto fonts reads back; plain plates read empty."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from adgen.errors import InputError
from adgen.geometry import Box
from adgen.ocr import character_error_rate, detect_text, locale_supported, read_box

FONTS = {
    "en": files("fontpkg_noto_sans") / "files" / "NotoSans[wdth,wght].ttf",
    "ja": files("justmytype_intl_cjk") / "fonts" / "ofl" / "notosansjp" / "NotoSansJP[wght].ttf",
    "zh": files("justmytype_intl_cjk") / "fonts" / "ofl" / "notosanssc" / "NotoSansSC[wght].ttf",
    "tc": files("justmytype_intl_cjk") / "fonts" / "ofl" / "notosanstc" / "NotoSansTC[wght].ttf",
    "ko": files("justmytype_intl_cjk") / "fonts" / "ofl" / "notosanskr" / "NotoSansKR[wght].ttf",
}
SAMPLES = [
    ("en-US", "en", "Fresh roast, bold flavour from $12.99"),
    ("ja-JP", "ja", "ひんやり爽やか、カフェインレスの新しいお茶"),
    ("zh-CN", "zh", "新鲜烘焙，浓郁咖啡限时八折"),
    ("zh-TW", "tc", "新鮮烘焙的濃郁咖啡，限時優惠"),
    ("de-DE", "en", "Frisch geröstet – jetzt für 12,99 €"),
]


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch):
    """Any attempt by rapidocr to fetch a model or dictionary fails the test."""
    from rapidocr.utils import download_file

    def refuse(*args, **kwargs):
        raise AssertionError("rapidocr tried to download at run time")

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(refuse))


def _plate(size=(1080, 1080)) -> Image.Image:
    """A soft two-colour gradient, the kind of backdrop copy is set on."""
    w, h = size
    t = np.linspace(0, 1, h)[:, None, None]
    rgb = (1 - t) * np.array([236, 226, 208]) + t * np.array([196, 214, 226])
    return Image.fromarray(np.broadcast_to(rgb, (h, w, 3)).astype(np.uint8))


def _draw(image: Image.Image, text: str, font_key: str, xy=(60, 480), px=52) -> Box:
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONTS[font_key]), px)
    font.set_variation_by_axes([700] if font_key != "en" else [100, 700])  # bold weight
    draw.text(xy, text, font=font, fill=(24, 28, 48))
    return Box(*draw.textbbox(xy, text, font=font))


@pytest.mark.parametrize("locale, font_key, text", SAMPLES)
def test_read_box_reads_rendered_copy(locale, font_key, text):
    image = _plate()
    box = _draw(image, text, font_key)
    read = read_box(image, box, locale=locale)
    assert read.supported
    assert character_error_rate(text, read.text) <= 0.05, read.text
    assert read.score > 0.8


def test_a_lines_read_does_not_depend_on_the_lines_read_with_it():
    # Batched with a long line, a short one used to be padded to the long one's width and
    # read with a different score; each crop is now read at its own padded width.
    from adgen.ocr import read_boxes

    image = _plate()
    short = _draw(image, "AI-generated", "en", xy=(60, 200), px=24)
    long = _draw(image, "Contains caffeine. Not recommended for children or pregnant women.", "en",
                 xy=(60, 400), px=22)
    alone = read_boxes(image, [short], locale="en-US")[0]
    together = read_boxes(image, [long, short, long], locale="en-US")
    assert together[1] == alone
    assert together[0] == together[2] == read_boxes(image, [long], locale="en-US")[0]
    assert character_error_rate("AI-generated", alone.text) <= 0.1


def test_read_box_multiline_joins_lines_top_to_bottom():
    image = _plate()
    top = _draw(image, "Bold new roast", "en", xy=(80, 300), px=60)
    bottom = _draw(image, "Order today", "en", xy=(80, 380), px=60)
    slot = Box(top.left, top.top, max(top.right, bottom.right), bottom.bottom)
    read = read_box(image, slot, locale="en-GB", multiline=True)
    assert read.text.splitlines() == ["Bold new roast", "Order today"]


def test_korean_is_reported_unsupported_not_guessed():
    image = _plate()
    box = _draw(image, "신선한 커피", "ko")
    assert read_box(image, box, locale="ko-KR") == read_box(image, box, locale="ko")
    assert read_box(image, box, locale="ko-KR").supported is False
    assert not locale_supported("ko-KR") and locale_supported("zh_TW") and locale_supported("ja")


def test_detect_text_finds_placed_lines_where_they_are():
    image = _plate()
    en = _draw(image, "Summer Sale", "en", xy=(100, 150), px=72)
    ja = _draw(image, "夏のセール開催中", "ja", xy=(100, 700), px=64)
    lines = detect_text(image)
    assert [line.text for line in lines][:2] == ["Summer Sale", "夏のセール開催中"]
    for line, placed in zip(lines, (en, ja)):
        inter = line.box.intersection(placed)
        assert inter is not None and inter.area > 0.6 * placed.area


def test_detect_text_finds_nothing_on_a_plain_gradient():
    assert detect_text(_plate()) == ()


def test_box_outside_the_image_is_an_input_error():
    with pytest.raises(InputError) as err:
        read_box(_plate((200, 200)), Box(300, 300, 400, 340), locale="en")
    assert err.value.field == "box"


@pytest.mark.parametrize("expected, actual, cer", [
    ("Sale", "Sale", 0.0),
    ("Sale", "Sa1e", 0.25),
    ("ＡＢＣ１２３", "ABC123", 0.0),           # full-width folds to half-width
    ("ｶﾌｪｲﾝ", "カフェイン", 0.0),             # half-width kana folds to full-width
    ("Bold new\nroast", "Bold new roast", 0.0),  # line breaks and spacing don't count
    ("", "", 0.0),
    ("", "x", 1.0),
    ("abcd", "", 1.0),
])
def test_character_error_rate(expected, actual, cer):
    assert character_error_rate(expected, actual) == pytest.approx(cer)


def test_importing_adgen_ocr_does_not_import_onnxruntime():
    code = "import sys, adgen.ocr; print('onnxruntime' in sys.modules or 'rapidocr' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_batch_workers_run_ocr_and_torch_on_one_thread():
    """The local engine's pool initializer makes each finishing worker single-threaded without
    importing torch: the OCR engine's onnxruntime sessions get intra_op_num_threads=1, and torch,
    if a fix round ever imports it there, starts with one thread. Unset means one per core."""
    code = """
import os, sys
from PIL import Image
from adgen.engines.local import _warm_up
from adgen.geometry import Box
from adgen.ocr import _engine, read_boxes
before = os.environ.get("ADGEN_OCR_THREADS")
_warm_up()
torch_after_warm_up = "torch" in sys.modules
read_boxes(Image.new("RGB", (120, 40), "white"), [Box(0, 0, 120, 40)], locale="en-US")
session = _engine()[0].text_rec.session.session
import torch
print(before, torch_after_warm_up, os.environ["ADGEN_OCR_THREADS"],
      session.get_session_options().intra_op_num_threads, torch.get_num_threads())
"""
    env = {k: v for k, v in os.environ.items() if k not in ("ADGEN_OCR_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["None", "False", "1", "1", "1"]


def test_plate_detection_is_kept_per_pixel_content(monkeypatch):
    """background.stray-text detects on a plate once: a fix round that keeps the plate, or a re-check
    of the same asset, reuses the lines; changed pixels or another threshold detect again."""
    import adgen.ocr
    from adgen.compliance import ocr_rules

    calls = []
    real = adgen.ocr.detect_text
    monkeypatch.setattr(adgen.ocr, "detect_text", lambda image, **kw: calls.append(image.size) or real(image, **kw))
    monkeypatch.setattr(ocr_rules, "_DETECTED", {})
    plate = Image.new("RGB", (1080, 1080), (200, 190, 170))
    ImageDraw.Draw(plate).text((120, 480), "SUMMER SALE", fill=(20, 20, 20),
                               font=ImageFont.truetype(str(FONTS["en"]), 110))
    first = ocr_rules.detect_scaled(plate, 0.5)
    assert any("SALE" in line.text for line in first)
    assert ocr_rules.detect_scaled(plate.copy(), 0.5) == first and len(calls) == 1
    changed = plate.copy()
    changed.putpixel((0, 0), (255, 0, 0))
    ocr_rules.detect_scaled(changed, 0.5)
    ocr_rules.detect_scaled(plate, 0.6)
    assert len(calls) == 3
