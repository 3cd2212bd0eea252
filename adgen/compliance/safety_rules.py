"""safety.nsfw: nudenet's detector (its ONNX model ships inside the wheel; nothing is downloaded)."""

from __future__ import annotations

import threading
from functools import cache

import numpy as np

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.compliance.thresholds import keys_with_prefix
from adgen.geometry import Box

PREFIX = "safety.nsfw."


def nsfw(subject: CheckSubject) -> list[Finding]:
    """safety.nsfw: a detection of a listed class at or above its threshold fails (thresholds.yaml, per class)."""
    limits = {key[len(PREFIX):]: subject.threshold(key) for key in keys_with_prefix(PREFIX, subject.brand.thresholds)}
    detections = detect(subject.final_image)
    hits = [d for d in detections if d["class"] in limits and d["score"] >= limits[d["class"]]]
    if not hits:
        worst = max((d["score"] for d in detections if d["class"] in limits), default=0.0)
        return [Finding("safety.nsfw", "pass", "error", f"no listed class detected (highest {worst:.2f})",
                        measured=round(worst, 3), threshold=min(limits.values(), default=None))]
    return [Finding("safety.nsfw", "fail", "error", f"{d['class']} detected at {d['score']:.2f}",
                    measured=round(d["score"], 3), threshold=limits[d["class"]], element=d["class"],
                    box=Box.from_xywh(*d["box"])) for d in hits]


def detect(image) -> list[dict]:
    """nudenet detections on an RGB PIL image: class, score 0-1, box [x, y, w, h] px."""
    detector, lock = _detector()
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])  # nudenet reads arrays as OpenCV BGR
    with lock:
        return detector.detect(bgr)


@cache
def _detector():
    from nudenet import NudeDetector

    return NudeDetector(), threading.Lock()
