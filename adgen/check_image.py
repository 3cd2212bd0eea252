"""Checking any image file (adgen's or not): rules that need layers use the text lines OCR finds."""

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
                     locale: str = "en-US", category: str = "general", generated: bool | None = None) -> Report:
    """Load the image and its copy, reconstruct text layers by OCR, then run the registry over them.

    generated: whether the image is AI-generated (its AI labels are then required); None when
    unknown, as for a product photo: labels are checked only if the file claims any.
    """
    from PIL import Image

    image = load_artwork(image_path, "image").convert("RGB")
    with Image.open(image_path) as handle:
        file_type = PIL_TO_FILE_TYPE.get(handle.format or "", (handle.format or "unknown").lower())
    copy = _read_copy(copy_file) if copy_file else {}
    return _check(image, image_path.read_bytes(), file_type, brand=brand, format_id=format_id, copy=copy,
                  locale=locale, category=category, generated=generated)


def check_image_bytes(data: bytes, image, *, brand: str, format_id: str, copy: dict | None = None,
                      locale: str = "en-US", category: str = "general", generated: bool | None = None) -> Report:
    """Check an image already in memory (an upload): its encoded bytes and the decoded PIL image.

    The caller decodes (and so bounds bytes and pixels, see adgen.limits.decode_image).
    """
    file_type = PIL_TO_FILE_TYPE.get(image.format or "", (image.format or "unknown").lower())
    return _check(image.convert("RGB"), data, file_type, brand=brand, format_id=format_id,
                  copy=validate_copy(copy or {}, file=None), locale=locale, category=category, generated=generated)


def _check(image, data: bytes, file_type: str, *, brand: str, format_id: str, copy: dict[str, str],
           locale: str, category: str, generated: bool | None) -> Report:
    from adgen.compliance.ocr_layers import layers_from_ocr

    kit = load_brand(brand)
    fmt = get_format(format_id)
    subject = CheckSubject(image=image, format=fmt, brand=kit, locale=locale, category=category, copy=copy,
                           composition=layers_from_ocr(image, _artwork_names(kit)), layers_from_ocr=True,
                           encoded=data, file_type=file_type, generated=generated)
    return check(subject)


def _artwork_names(kit) -> tuple[str, ...]:
    """Words the brand's own artwork spells: its name and its certification marks' names."""
    from adgen.marks import all_marks

    marks = all_marks()
    names = [marks[m].name.split("(")[0] for m in kit.marks if m in marks]
    return (kit.id, kit.name, *kit.marks, *names)


def _read_copy(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read copy JSON: {exc}", file=str(path)) from None
    return validate_copy(data, file=str(path))


def validate_copy(data: object, *, file: str | None, field: str = "copy") -> dict[str, str]:
    """The copy strings of a JSON object with only the known fields."""
    if not isinstance(data, dict):
        raise InputError("copy must be a JSON object", file=file, field=field if file is None else None)
    unknown = set(data) - set(COPY_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(f"unknown copy field (known: {', '.join(COPY_FIELDS)})", file=file,
                         field=name if file else f"{field}.{name}", value=data[name])
    return {key: str(value) for key, value in data.items() if value}
