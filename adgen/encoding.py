"""Encode the final pixels to the bytes that ship, within the format's file-size limit."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

JPEG_QUALITIES = (92, 85, 78, 70, 62, 55)  # tried in order until the file fits the slot


@dataclass(frozen=True)
class Encoded:
    data: bytes
    file_type: str      # png | jpeg
    quality: int | None
    attempts: tuple[dict, ...]   # each try: settings and resulting KB


def encode(image: Image.Image, *, file_type: str, max_kb: int) -> Encoded:
    """Encode as PNG or JPEG; JPEG steps quality down until the bytes fit max_kb."""
    if file_type == "png":
        data = _png(image)
        return Encoded(data, "png", None, ({"file_type": "png", "kb": round(len(data) / 1024, 1)},))
    attempts = []
    for quality in JPEG_QUALITIES:
        data = _jpeg(image, quality)
        attempts.append({"file_type": "jpeg", "quality": quality, "kb": round(len(data) / 1024, 1)})
        if len(data) <= max_kb * 1024:
            break
    return Encoded(data, "jpeg", quality, tuple(attempts))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # compress_level 6 is zlib's default: ~2x faster than 9 for a few % more bytes.
    image.convert("RGB").save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality, optimize=True, progressive=True,
                              subsampling="4:2:0" if quality < 90 else "4:4:4")
    return buffer.getvalue()
