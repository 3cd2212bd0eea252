"""Catalogue and check routes: the brands and formats a key may use, and checking any image."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from adgen.errors import InputError
from adgen.limits import decode_image
from adgen.service.auth import KeyDep
from adgen.service.bodies import BrandOut, FormatOut, ReportOut, SafeAreaOut
from adgen.service.core import ERRORS, ServiceDep, require_brand
from adgen.service.cost import Busy
from adgen.service.routes_jobs import busy_error

router = APIRouter()


@router.get("/v1/brands", response_model=list[BrandOut], tags=["catalogue"], responses=ERRORS)
def list_brands(key: KeyDep) -> list[BrandOut]:
    """Brand kits this API key may use."""
    from adgen.brand import list_brand_ids, load_brand

    kits = [load_brand(b) for b in list_brand_ids() if key.may_use(b)]
    return [BrandOut(id=k.id, name=k.name, locales=list(k.locales), palette=k.palette) for k in kits]


@router.get("/v1/formats", response_model=list[FormatOut], tags=["catalogue"], responses=ERRORS)
def list_formats(key: KeyDep) -> list[FormatOut]:
    """Output formats (the registry `adgen formats` prints)."""
    from adgen.formats import all_formats

    return [FormatOut(id=f.id, channel=f.channel, width=f.width, height=f.height, max_kb=f.max_kb,
                      file_types=list(f.file_types), template=f.template,
                      safe_area=SafeAreaOut(**vars(f.safe_area))) for f in all_formats().values()]


@router.post("/v1/check", response_model=ReportOut, tags=["check"], responses=ERRORS)
def check_upload(key: KeyDep, service: ServiceDep,
                 image: Annotated[UploadFile, File(description="PNG, JPEG or WebP to check.")],
                 brand: Annotated[str, Form(max_length=64, description="Brand kit id.")],
                 format: Annotated[str, Form(max_length=64, description="Format id the image is meant for.")],
                 copy_json: Annotated[str | None, Form(alias="copy", max_length=20_000, description="JSON "
                                                       "object with headline, subhead, cta, price, disclaimer.")] = None,
                 locale: Annotated[str, Form(max_length=35, description="Locale of the copy.")] = "en-US",
                 category: Annotated[str, Form(max_length=64, description="Product category.")] = "general",
                 generated: Annotated[bool | None, Form(description="Whether the image is AI-generated (its AI "
                                                        "labels are then required); omit when unknown, e.g. a "
                                                        "product photo.")] = None,
                 ) -> ReportOut:
    """Run the rules that need no layers on any image (adgen's or not).

    Heavy: at most Limits.heavy_slots checks run at once, one per tenant (429 while yours runs,
    503 when the server stays full).
    """
    from adgen.check_image import check_image_bytes

    require_brand(key, brand)
    try:
        copy_data = json.loads(copy_json) if copy_json else {}
    except json.JSONDecodeError as exc:
        raise InputError(f"copy is not JSON ({exc.msg})", field="copy") from None
    if not isinstance(copy_data, dict):
        raise InputError("copy must be a JSON object", field="copy")
    limits = service.settings.limits
    data = image.file.read(limits.max_upload_bytes + 1)
    try:
        with service.heavy.hold(key.tenant):
            picture = decode_image(data, field="image", limits=limits)
            report = check_image_bytes(data, picture, brand=brand, format_id=format, copy=copy_data,
                                       locale=locale, category=category, generated=generated)
    except Busy as busy:
        raise busy_error(busy) from None
    return ReportOut.model_validate(report.as_dict())
