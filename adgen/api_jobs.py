"""Job routes: accept (persist first, then 202), poll, download assets. No pipeline logic here."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse

from adgen.api import ERRORS, ApiError, KeyDep, ServiceDep, Service, require_brand, job_document
from adgen.api_models import JobAccepted, JobCreate, JobOut
from adgen.errors import AdgenError, InputError
from adgen.jobs import IdempotencyConflict, QueueFull
from adgen.limits import TooLarge, decode_image

router = APIRouter(tags=["jobs"])
DATA_URL = re.compile(r"^data:image/[a-z+.-]+;base64,", re.IGNORECASE)
IdempotencyKey = Annotated[str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$",
                                              description="Retry-safe key: the same key and body return the "
                                                          "same job; the same key with another body is a 409.")]


@router.post("/v1/jobs", status_code=202, response_model=JobAccepted, responses=ERRORS)
def create_job(body: JobCreate, key: KeyDep, service: ServiceDep, response: Response,
               idempotency_key: IdempotencyKey = None) -> JobAccepted:
    """Queue a job; it is stored before this answers, so a 202 survives a restart."""
    require_brand(key, body.brand)
    total = _validate(body, service)
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    body_sha256 = hashlib.sha256(canonical.encode()).hexdigest()
    if idempotency_key:
        try:
            earlier = service.store.find_idempotent(key.tenant, idempotency_key, body_sha256)
        except IdempotencyConflict:
            raise _conflict(idempotency_key) from None
        if earlier is not None:
            return _accepted(earlier.id, earlier.status, response, replayed=True)
    job_id = service.store.new_id()
    inputs = service.jobs_dir / job_id / "inputs"
    try:
        products = [_server_product(p, i, inputs, service) for i, p in enumerate(body.products)]
        request = {"products": products, "formats": body.formats, "variants": body.variants, "seed": body.seed}
        job, created = service.store.create(
            job_id, tenant=key.tenant, key_id=key.id, brand=body.brand, request=request, body_sha256=body_sha256,
            idempotency_key=idempotency_key, callback_url=body.callback_url, total=total,
            max_queued=service.settings.limits.max_queued_jobs)
    except IdempotencyConflict:
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise _conflict(idempotency_key) from None
    except QueueFull:
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise ApiError(503, "queue_full", "too many jobs waiting; retry later", headers={"Retry-After": "30"}) from None
    except BaseException:
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise
    if not created:  # a concurrent request with the same key won the insert
        shutil.rmtree(inputs.parent, ignore_errors=True)
    service.worker.wake()
    return _accepted(job.id, job.status, response, replayed=not created)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
async def get_job(job_id: str, key: KeyDep, service: ServiceDep) -> JobOut:
    """Status, progress and the assets made so far, each with its report."""
    # async on purpose: one short SQLite read (WAL, no writer lock) is cheaper inline than a thread hop.
    found = service.store.job_with_assets(job_id, key.tenant)
    if found is None:  # another tenant's job answers exactly like a missing one
        raise ApiError(404, "not_found", "no such job", field="job_id", value=job_id[:64])
    return job_document(*found)


@router.get("/v1/assets/{asset_id}", response_class=FileResponse, responses={
    **ERRORS, 200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}},
                                "image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                    "description": "The image bytes."},
    304: {"description": "Not modified (If-None-Match matched the ETag)."}})
async def get_asset(asset_id: str, key: KeyDep, service: ServiceDep, request: Request) -> Response:
    """The asset's bytes, with a strong ETag; If-None-Match answers 304."""
    asset = service.store.get_asset(asset_id, tenant=key.tenant)
    if asset is None or not Path(asset.image_path).is_file():
        raise ApiError(404, "not_found", "no such asset", field="asset_id", value=asset_id[:64])
    etag = f'"{asset.etag}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return FileResponse(asset.image_path, media_type=asset.media_type, headers=headers,
                        filename=f"{asset.sku}-{asset.format}-v{asset.variant}{Path(asset.image_path).suffix}")


def _validate(body: JobCreate, service: Service) -> int:
    """Everything that can be refused is refused now, before the job exists; returns the asset count."""
    from adgen.brand import load_brand
    from adgen.formats import get_format

    limits = service.settings.limits
    if len(body.products) > limits.max_products_per_job:
        raise TooLarge(f"at most {limits.max_products_per_job} products per job", field="products",
                       value=len(body.products))
    total = len(body.products) * len(body.formats) * body.variants
    if total > limits.max_assets_per_job:
        raise TooLarge(f"at most {limits.max_assets_per_job} assets per job (products x formats x variants)",
                       field="variants", value=total)
    load_brand(body.brand)
    for index, format_id in enumerate(body.formats):
        try:
            get_format(format_id)
        except AdgenError as exc:
            raise InputError(exc.reason, field=f"formats.{index}", value=format_id) from None
    if len(set(body.formats)) != len(body.formats):
        raise InputError("formats repeat", field="formats")
    seen: set[str] = set()
    for index, product in enumerate(body.products):
        if product.sku in seen:
            raise InputError("sku repeats within the job", field=f"products.{index}.sku", value=product.sku)
        seen.add(product.sku)
    if body.callback_url:
        service.settings.callbacks.check_url(body.callback_url)
    return total


def _server_product(product, index: int, inputs: Path, service: Service) -> dict:
    """The product as the worker will use it: its image decoded, bounded and stored with the job."""
    data = product.model_dump(mode="json")
    if product.product_image is None:
        return data
    field = f"products.{index}.product_image"
    limits = service.settings.limits
    text = DATA_URL.sub("", product.product_image.strip(), count=1)
    if len(text) * 3 // 4 > limits.max_upload_bytes:
        raise TooLarge(f"image is over {limits.max_upload_bytes} bytes", field=field)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("product_image must be base64 image data (not a path)", field=field) from None
    picture = decode_image(raw, field=field, limits=limits)
    inputs.mkdir(parents=True, exist_ok=True)
    path = inputs / f"{index}-{product.sku}.png"
    temp = path.with_suffix(".tmp")
    with open(temp, "wb") as handle:
        picture.convert("RGBA").save(handle, format="PNG")  # re-encoded: only pixels reach the pipeline
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return {**data, "product_image": str(path)}


def _accepted(job_id: str, status: str, response: Response, *, replayed: bool) -> JobAccepted:
    response.headers["Location"] = f"/v1/jobs/{job_id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return JobAccepted(id=job_id, status=status, status_url=f"/v1/jobs/{job_id}")


def _conflict(idempotency_key: str | None) -> ApiError:
    return ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different body",
                    field="Idempotency-Key", value=idempotency_key)
