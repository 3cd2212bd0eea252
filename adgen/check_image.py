"""Checking any image file (adgen's or not) with the rules that need no layers."""

from __future__ import annotations

import json
from pathlib import Path

from adgen.brand import load_brand
from adgen.compliance import CheckSubject, Report, check
from adgen.errors import InputError
from adgen.formats import get_format
from adgen.placement import load_artwork

COPY_FIELDS = ("headline", "subhead", "cta", "price", "disclaimer")
PIL_TO_FILE_TYPE = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}


def check_image_file(image_path: Path, *, brand: str, format_id: str, copy_file: Path | None,
                     locale: str = "en-US", category: str = "general") -> Report:
    """Load the image and its copy, then run the registry over them."""
    from PIL import Image

    kit = load_brand(brand)
    fmt = get_format(format_id)
    image = load_artwork(image_path, "image").convert("RGB")
    with Image.open(image_path) as handle:
        file_type = PIL_TO_FILE_TYPE.get(handle.format or "", (handle.format or "unknown").lower())
    copy = _read_copy(copy_file) if copy_file else {}
    subject = CheckSubject(image=image, format=fmt, brand=kit, locale=locale, category=category, copy=copy,
                           composition=None, encoded=image_path.read_bytes(), file_type=file_type)
    return check(subject)


def _read_copy(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read copy JSON: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise InputError("copy must be a JSON object", file=str(path))
    unknown = set(data) - set(COPY_FIELDS)
    if unknown:
        raise InputError(f"unknown copy field (known: {', '.join(COPY_FIELDS)})", file=str(path),
                         field=sorted(unknown)[0], value=data[sorted(unknown)[0]])
    return {key: str(value) for key, value in data.items() if value}
