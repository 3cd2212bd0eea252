"""OCR rules: placed copy reads back as written; the generated plate carries no text of its own."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace

import numpy as np
from PIL import Image

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.geometry import Box
from adgen.ocr import OcrRead, character_error_rate, locale_supported, read_boxes

DETECTION_SIDE_PX = 736   # rapidocr's Det.limit_side_len with limit_type "min"


def legible(subject: CheckSubject) -> list[Finding]:
    """text.legible: OCR of each placed box (a crop, on the final pixels) against the intended string."""
    if not subject.placed:
        return [Finding("text.legible", "skip", "error", "no placed text to compare: image was not laid out by adgen")]
    if not locale_supported(subject.locale):
        # The bundled recogniser does not read this script (Korean, for one): say so, never guess.
        return [Finding("text.legible", "skip", "error", f"unverifiable: OCR does not read {subject.locale}",
                        element=layer.name, box=layer.box) for layer in subject.composition.text_layers]
    findings = [legibility_finding(subject, layer) for layer in subject.composition.text_layers]
    return findings or [Finding("text.legible", "pass", "error", "no text placed")]


def legibility_finding(subject: CheckSubject, layer, rule: str = "text.legible") -> Finding:
    """One layer's OCR round trip: character error rate <= max_cer and recognition score >= min_score."""
    max_cer, min_score = subject.threshold("text.legible.max_cer"), subject.threshold("text.legible.min_score")
    read = read_layer(subject, layer)
    cer = character_error_rate(_fold(layer.text or ""), _fold(read.text))
    ok = cer <= max_cer and read.score >= min_score
    return Finding(rule, "pass" if ok else "fail", "error",
                   f"OCR read {read.text!r}: CER {cer:.3f}, score {read.score:.2f}",
                   measured={"cer": round(cer, 4), "score": round(read.score, 3), "read": read.text},
                   threshold={"max_cer": max_cer, "min_score": min_score}, element=layer.name, box=layer.box)


def read_layer(subject: CheckSubject, layer) -> OcrRead:
    """Recognise a placed layer on the final pixels, one crop per line, cached on the subject.

    Wrapped copy is cut into its lines at the emptiest ink row near each expected boundary and
    each line is recognised alone: detection inside a small crop is slow (rapidocr upscales it
    to 736 px) and splits lines into overlapping pieces. The first read recognises every text
    layer's lines in one batched call, so later layers are already in the cache.
    """
    cache = subject.__dict__.setdefault("_ocr_reads", {})
    if (layer.name, layer.box) not in cache:
        wanted = [item for item in (*subject.composition.text_layers, layer)
                  if (item.name, item.box) not in cache]
        wanted = list({(item.name, item.box): item for item in wanted}.values())
        bands = [(item, box) for item in wanted for box in line_boxes(item)]
        reads = read_boxes(subject.final_image, [box for _, box in bands], locale=subject.locale)
        for item in wanted:
            mine = [read for (owner, _), read in zip(bands, reads) if owner is item]
            cache[(item.name, item.box)] = OcrRead("\n".join(r.text for r in mine),
                                                   min((r.score for r in mine), default=0.0),
                                                   all(r.supported for r in mine))
    return cache[(layer.name, layer.box)]


def line_boxes(layer) -> list[Box]:
    """Each line's box: as typeset when recorded, else the ink box cut into len(lines) bands at the
    row with least ink near each expected boundary."""
    if getattr(layer, "line_boxes", ()):
        return list(layer.line_boxes)
    box, count = layer.box, max(1, len(layer.lines))
    if count == 1 or layer.glyph_mask is None:
        return [box]
    ink = np.asarray(layer.glyph_mask, dtype=np.float64).sum(axis=1)
    pitch = box.height / count
    cuts = [0]
    for k in range(1, count):
        lo, hi = round(k * pitch - pitch / 4), round(k * pitch + pitch / 4)
        cuts.append(lo + int(np.argmin(ink[lo:hi + 1])))
    cuts.append(box.height)
    return [Box(box.left, box.top + a, box.right, box.top + b) for a, b in zip(cuts, cuts[1:]) if b - a > 2]


def _fold(text: str) -> str:
    # Glyphs a sans-serif draws alike (capital I and small l; O and 0) read as either even by
    # people; OCR picking the other one is not illegibility.
    return text.translate(_CONFUSABLES)


_CONFUSABLES = str.maketrans({"I": "l", "|": "l", "0": "O"})


def stray_text(subject: CheckSubject) -> list[Finding]:
    """background.stray-text: full OCR detection on the generated plate, before any copy went on."""
    if not subject.placed:
        return [Finding("background.stray-text", "skip", "error", "no separate plate: image was not laid out by adgen")]
    min_score = subject.threshold("background.stray-text.min_score")
    min_chars = subject.threshold("background.stray-text.min_chars")
    lines = [line for line in detect_scaled(subject.composition.plate, min_score)
             if len("".join(line.text.split())) >= min_chars]
    if not lines:
        return [Finding("background.stray-text", "pass", "error", "no text found in the generated plate",
                        measured=0, threshold={"min_score": min_score, "min_chars": min_chars})]
    return [Finding("background.stray-text", "fail", "error", f"the plate shows text {line.text!r}",
                    measured={"text": line.text, "score": round(line.score, 3)},
                    threshold={"min_score": min_score, "min_chars": min_chars}, element="plate", box=line.box)
            for line in lines]


def detect_scaled(image, min_score: float):
    """Full-image OCR detection at the detector's working size; boxes in the image's own px.

    rapidocr scales every image so its short side is DETECTION_SIDE_PX (up or down); handing it
    that size directly skips resizing a 1080-2000 px image inside the engine and costs ~2-7x less.
    Results are kept per pixel content: a fix round that keeps the plate (recolour, scrim,
    re-layout) or a re-check of the same asset does not detect on it again.
    """
    rgb = image.convert("RGB")
    key = (hashlib.blake2b(rgb.tobytes(), digest_size=16).digest(), rgb.size, min_score)
    with _DETECTED_LOCK:
        lines = _DETECTED.get(key)
    if lines is None:
        lines = _detect_scaled(rgb, min_score)
        with _DETECTED_LOCK:  # the API and the app check assets on several threads
            _DETECTED[key] = lines
            while len(_DETECTED) > _DETECTED_KEPT:
                _DETECTED.pop(next(iter(_DETECTED)))  # oldest first: dicts keep insertion order
    return list(lines)


_DETECTED: dict[tuple, tuple] = {}
_DETECTED_KEPT = 16
_DETECTED_LOCK = threading.Lock()


def _detect_scaled(image: Image.Image, min_score: float) -> tuple:
    from adgen.ocr import detect_text

    scale = min(1.0, DETECTION_SIDE_PX / min(image.size))
    if scale < 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    lines = detect_text(image, min_score=min_score)
    return tuple(replace(line, box=Box(*(round(v / scale) for v in line.box.as_tuple()))) for line in lines)
