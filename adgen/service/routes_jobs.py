"""Job routes: accept (persist first, then 202), poll, download assets. No pipeline logic here."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from adgen.service.auth import KeyDep
from adgen.service.bodies import JobAccepted, JobCreate, JobOut, job_document
from adgen.service.core import ERRORS, ApiError, Service, ServiceDep, require_brand
from adgen.service.cost import Busy
from adgen.service.inputs import store_uploaded_image
from adgen.service.reviews import brand_policy
from adgen.service.store import IdempotencyConflict, QueueFull

router = APIRouter(tags=["jobs"])
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
    replay = idempotent_replay(service, key, idempotency_key, body_sha256, response)
    if replay is not None:
        return replay
    limits = service.settings.limits
    # The cheap count first: a full queue refuses before a single image is decoded.
    overall, mine = service.store.waiting(key.tenant)
    if mine >= limits.max_queued_per_tenant or overall >= limits.max_queued_jobs:
        raise _queue_full(QueueFull(mine, tenant=True) if mine >= limits.max_queued_per_tenant
                          else QueueFull(overall, tenant=False))
    job_id = service.store.new_id()
    inputs = service.jobs_dir / job_id / "inputs"
    try:
        with service.heavy.hold(key.tenant):
            products = [store_uploaded_image(p, i, inputs, limits) for i, p in enumerate(body.products)]
        request = {"products": products, "formats": body.formats, "variants": body.variants, "seed": body.seed,
                   "cutout": body.cutout}
        job, created = service.store.create(
            job_id, tenant=key.tenant, key_id=key.id, brand=body.brand, request=request, body_sha256=body_sha256,
            idempotency_key=idempotency_key, callback_url=body.callback_url, total=total,
            max_queued=limits.max_queued_jobs, max_queued_per_tenant=limits.max_queued_per_tenant)
    except IdempotencyConflict:
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise _conflict(idempotency_key) from None
    except QueueFull as full:
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise _queue_full(full) from None
    except Busy as busy:
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise busy_error(busy) from None
    except BaseException:
        shutil.rmtree(inputs.parent, ignore_errors=True)
        raise
    if not created:  # a concurrent request with the same key won the insert
        shutil.rmtree(inputs.parent, ignore_errors=True)
    service.worker.wake()
    return _accepted(job.id, job.status, response, replayed=not created)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
def get_job(job_id: str, key: KeyDep, service: ServiceDep) -> JobOut:
    """Status, progress and the assets made so far, each with its report."""
    # Sync on purpose: a job's reports can be megabytes of JSON; parsing them on the event loop
    # stalled /healthz for seconds. In the thread pool it stalls nothing else.
    found = service.store.job_with_assets(job_id, key.tenant)
    if found is None:  # another tenant's job answers exactly like a missing one
        raise ApiError(404, "not_found", "no such job", field="job_id", value=job_id[:64])
    return job_document(*found)


@router.get("/v1/assets/{asset_id}", response_class=FileResponse, responses={
    **ERRORS, 200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}},
                                "image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                    "description": "The image bytes."},
    304: {"description": "Not modified (If-None-Match matched the ETag)."}})
async def get_asset(asset_id: str, key: KeyDep, service: ServiceDep, request: Request,
                    approved: bool = Query(False, description="Serve it only while approved; 409 naming the "
                                                              "review state otherwise.")) -> Response:
    """The asset's bytes, with a strong ETag; If-None-Match answers 304. See docs/review.md for `approved`."""
    asset = service.store.get_asset(asset_id, tenant=key.tenant)
    if asset is None or not Path(asset.image_path).is_file():
        raise ApiError(404, "not_found", "no such asset", field="asset_id", value=asset_id[:64])
    review = service.reviews.get(asset_id, key.tenant)  # made with the asset, in the same transaction
    gated = approved or (not key.may_decide and brand_policy(review.brand).required)
    if gated and review.state != "approved":
        raise ApiError(409, "not_approved", f"this asset is {review.state}; it is served as approved only after a "
                       "reviewer approves it", field="approved", value=review.state)
    headers = {"ETag": f'"{asset.etag}"', "Cache-Control": "private, max-age=31536000, immutable"}
    if gated:  # the approved export, revalidated on each use: an approval can be withdrawn
        headers = {"ETag": f'"{asset.etag}-r{review.version}"', "Cache-Control": "private, no-cache",
                   "Adgen-Review": f"approved; version={review.version}; by={review.reviewer_key}"}
    if headers["ETag"] in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    # Approved: the file re-signed with the approval in its C2PA manifest (made once, off the event loop).
    path = await run_in_threadpool(service.approved_file, asset, review, key) if gated else asset.image_path
    return FileResponse(path, media_type=asset.media_type, headers=headers,
                        filename=f"{asset.sku}-{asset.format}-v{asset.variant}{Path(asset.image_path).suffix}")


def _validate(body: JobCreate, service: Service) -> int:
    """Everything that can be refused is refused now, before the job exists; returns the asset count."""
    from adgen.validation import validate_request

    checked = validate_request(body.products, body.brand, body.formats, body.variants,
                               limits=service.settings.limits)
    for index, product in enumerate(body.products):
        if product.product_image_url:  # its form now; its addresses when the worker fetches it
            from adgen.netfetch import check_form

            check_form(product.product_image_url, policy=service.fetch_policy(),
                       field=f"products.{index}.product_image_url")
    if body.callback_url:
        service.settings.callbacks.check_url(body.callback_url)
    return checked.assets


def busy_error(busy: Busy) -> ApiError:
    if busy.tenant:
        return ApiError(429, "busy", "this tenant already has an image decode or check running; retry shortly",
                        headers={"Retry-After": "2"})
    return ApiError(503, "busy", "the server is busy with other images; retry later", headers={"Retry-After": "10"})


def _queue_full(full: QueueFull) -> ApiError:
    if full.tenant:
        return ApiError(429, "tenant_queue_full", "this tenant has too many jobs waiting; retry when some finish",
                        headers={"Retry-After": "30"})
    return ApiError(503, "queue_full", "too many jobs waiting; retry later", headers={"Retry-After": "30"})


def idempotent_replay(service, key, idempotency_key: str | None, body_sha256: str,
                      response: Response) -> JobAccepted | None:
    """The earlier job's 202 when this Idempotency-Key was used with the same body; 409 with another body;
    None when the key is new (or absent) and a job should be made."""
    if not idempotency_key:
        return None
    try:
        earlier = service.store.find_idempotent(key.tenant, idempotency_key, body_sha256)
    except IdempotencyConflict:
        raise _conflict(idempotency_key) from None
    return None if earlier is None else _accepted(earlier.id, earlier.status, response, replayed=True)


def _accepted(job_id: str, status: str, response: Response, *, replayed: bool) -> JobAccepted:
    response.headers["Location"] = f"/v1/jobs/{job_id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return JobAccepted(id=job_id, status=status, status_url=f"/v1/jobs/{job_id}")


def _conflict(idempotency_key: str | None) -> ApiError:
    return ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different body",
                    field="Idempotency-Key", value=idempotency_key)
