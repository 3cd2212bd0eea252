"""OCR adapter: read placed text back, and find text where there should be none.

Backed by rapidocr 3.x on onnxruntime with the PP-OCRv6 "small" detection and multilingual
recognition models that ship inside the rapidocr wheel; adgen points it at those files
explicitly, so nothing is downloaded at run time. The one recognition model reads Chinese
(simplified and traditional), Japanese including kana, English and the Latin-script
European languages; Korean and other scripts are reported as unsupported, not guessed.
Importing this module imports neither rapidocr nor onnxruntime.
"""

from __future__ import annotations

import functools
import os
import threading
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adgen.errors import InputError, ModelError
from adgen.geometry import Box, Size

if TYPE_CHECKING:
    from PIL import Image

# Language subtags the bundled PP-OCRv6 multilingual recognition model reads (rapidocr's
# default_models.yaml, ppocrv6_langs), as BCP 47 primary subtags. "ko" is deliberately
# absent: the Korean model is a separate download, not in the wheel.
SUPPORTED_LANGUAGES = frozenset(
    "zh ja en af az bs ca cs cy da de es et eu fi fr ga gl hr hu id is it ku la lb lt lv mi "
    "ms mt nl no oc pl pt qu rm ro sk sl sq sv sw tl tr uz vi".split()
)
_MODEL_FILES = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx",
                "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}


@dataclass(frozen=True)
class OcrRead:
    """Text recognised in one box; score 0-1; supported=False when the locale is unreadable."""

    text: str
    score: float
    supported: bool


@dataclass(frozen=True)
class OcrLine:
    """One detected line of text: what it says, recognition score 0-1, and where (px)."""

    text: str
    score: float
    box: Box


def read_box(image: Image.Image, box: Box, *, locale: str, multiline: bool = False) -> OcrRead:
    """Recognise the text inside `box` (px) of `image`, written in `locale` (e.g. ja-JP).

    Recognition only, on the crop: the caller placed the text and knows where it is. A box
    holding wrapped text needs multiline=True (detection inside the crop, lines joined
    top to bottom with newlines); one-line recognition squeezes a tall crop to 48 px.
    """
    if not locale_supported(locale):
        return OcrRead("", 0.0, supported=False)
    crop = _crop(image, box)
    if multiline:
        lines = _run(crop, detect=True, min_score=0.0)
        text = "\n".join(line.text for line in _reading_order(lines))
        score = min((line.score for line in lines), default=0.0)
        return OcrRead(text, score, supported=True)
    return read_boxes(image, [box], locale=locale)[0]


def read_boxes(image: Image.Image, boxes: list[Box], *, locale: str) -> list[OcrRead]:
    """Recognise one line of text in each of `boxes` (px) of `image`, in one batched call.

    The recogniser takes the crops together (sorted by width, padded, a few per forward
    pass), which costs a fraction of one call per crop; results come back in `boxes` order.
    """
    if not locale_supported(locale):
        return [OcrRead("", 0.0, supported=False) for _ in boxes]
    if not boxes:
        return []
    crops = [_crop(image, box) for box in boxes]
    return [OcrRead(text, score, supported=True) for text, score in _run_recognition(crops)]


def detect_text(image: Image.Image, *, min_score: float = 0.5) -> tuple[OcrLine, ...]:
    """Every line of text found in `image` (detection + recognition), in reading order."""
    return _reading_order(_run(_rgb(image), detect=True, min_score=min_score))


def character_error_rate(expected: str, actual: str) -> float:
    """Edit distance / len(expected) after NFKC and dropping whitespace (0 = identical).

    NFKC folds full-width Latin and half-width kana to one form; whitespace is dropped
    because line breaks move with wrapping, OCR spacing is loose, and CJK has none.
    """
    from rapidfuzz.distance import Levenshtein

    want, got = _normalise(expected), _normalise(actual)
    if not want:
        return 0.0 if not got else 1.0
    return Levenshtein.distance(want, got) / len(want)


def locale_supported(locale: str) -> bool:
    """Whether the bundled recognition model reads `locale` (BCP 47, e.g. zh-CN, ja-JP)."""
    return locale.replace("_", "-").split("-")[0].lower() in SUPPORTED_LANGUAGES


def _normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _rgb(image: Image.Image) -> Image.Image:
    # rapidocr converts a PIL image RGB->BGR itself (an ndarray would be taken as BGR).
    return image if image.mode == "RGB" else image.convert("RGB")


def _crop(image: Image.Image, box: Box) -> Image.Image:
    size = Size(*image.size)
    # A little margin: recognition was trained on line crops with some background around
    # the glyphs, and layout boxes are often tight to the ink.
    pad = max(2, min(12, round(box.height * 0.1)))
    region = box.expand(pad).clamp_to(size)
    if region.width <= 0 or region.height <= 0 or not box.intersects(Box(0, 0, *size.as_tuple())):
        raise InputError("box lies outside the image", field="box", value=box.as_tuple())
    return _rgb(image.crop(region.as_tuple()))


def _run_recognition(crops: list[Image.Image]) -> list[tuple[str, float]]:
    """(text, score) per crop; each crop is read at the width it would be padded to alone.

    rapidocr pads a batch to its widest crop, so a short line batched with a long one was
    read at the long one's width: ~50 % of the columns were padding on a 1080x1080 asset,
    and a line's score moved with its batch-mates. Crops that pad to the same width still
    share one call.
    """
    import numpy as np

    engine, lock = _engine()
    results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
    groups: dict[int, list[int]] = {}
    for index, crop in enumerate(crops):
        groups.setdefault(_padded_width(engine, crop), []).append(index)
    for members in groups.values():
        # The recogniser wants BGR arrays (what rapidocr's own loader makes of an RGB image).
        arrays = [np.ascontiguousarray(np.asarray(crops[i])[:, :, ::-1]) for i in members]
        with lock:
            out = engine.recognize_txt(arrays)
        texts = getattr(out, "txts", None) or ("",) * len(members)
        scores = getattr(out, "scores", None) or (0.0,) * len(members)
        for i, text, score in zip(members, texts, scores):
            results[i] = (str(text), float(score))
    return results


def _padded_width(engine, crop: Image.Image) -> int:
    """The input width rapidocr gives `crop` alone: height 48, at least its 320 px training width."""
    _channels, height, width = engine.cfg.Rec.rec_img_shape
    return int(height * max(width / height, crop.width / max(1, crop.height)))


def _run(image: Image.Image, *, detect: bool, min_score: float) -> list[OcrLine]:
    engine, lock = _engine()
    with lock:
        out = engine(image, use_det=detect, use_cls=False, use_rec=True, text_score=min_score)
    boxes = getattr(out, "boxes", None)
    if boxes is None or not getattr(out, "txts", None):
        return []
    width, height = image.size
    lines = []
    for quad, text, score in zip(boxes, out.txts, out.scores):
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        box = Box(int(min(xs)), int(min(ys)), int(max(xs)) + 1, int(max(ys)) + 1)
        lines.append(OcrLine(str(text), float(score), box.clamp_to(Size(width, height))))
    return lines


def _reading_order(lines: list[OcrLine]) -> tuple[OcrLine, ...]:
    # Rows first (a line whose centre is within half a line height of the row's top line
    # joins that row), then left to right within the row.
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda l: l.box.top):
        centre = (line.box.top + line.box.bottom) / 2
        if rows and abs(centre - _centre_y(rows[-1][0])) < rows[-1][0].box.height / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    return tuple(line for row in rows for line in sorted(row, key=lambda l: l.box.left))


def _centre_y(line: OcrLine) -> float:
    return (line.box.top + line.box.bottom) / 2


@functools.lru_cache(maxsize=1)
def _engine():
    """One rapidocr engine per process, on the wheel's own model files, with its lock."""
    try:
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise ModelError(f"OCR needs the rapidocr and onnxruntime packages ({exc})") from None
    from importlib.resources import files

    models = files(rapidocr) / "models"
    params = {"Global.log_level": "error", "Global.use_cls": False}
    # onnxruntime's intra-op threads; unset = one per core. Batch finishing workers set 1: beside a
    # busy generator, a multi-threaded run stalls at every barrier a descheduled thread holds up.
    threads = os.environ.get("ADGEN_OCR_THREADS", "").strip()
    if threads:
        if not threads.isdigit():
            raise InputError("ADGEN_OCR_THREADS must be a whole number of threads (0: one per core)",
                             field="ADGEN_OCR_THREADS", value=threads)
        if int(threads):
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
    for stage, name in _MODEL_FILES.items():
        path = models / name
        if not path.is_file():
            raise ModelError("bundled OCR model missing from the rapidocr wheel; "
                             "reinstall rapidocr 3.x", file=str(path))
        params[f"{stage}.model_path"] = str(path)
    return RapidOCR(params=params), threading.Lock()
