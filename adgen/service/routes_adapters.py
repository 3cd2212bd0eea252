"""Brand adapter routes: train a version as a job, list versions with their figures, promote, roll back.

Versions belong to the tenant (adgen.lora_registry, one registry per tenant): another tenant's
version answers exactly like a missing one. Training, promoting and rolling back take an admin
key scoped to the brand; any key scoped to the brand may read.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from adgen.service.adapter_jobs import PHASES, version_document
from adgen.service.auth import KeyDep
from adgen.service.bodies import JobAccepted
from adgen.service.core import ERRORS, ApiError, ServiceDep, require_brand
from adgen.service.routes_jobs import (
    IdempotencyKey,
    _accepted,
    _conflict,
    _queue_full,
    idempotent_replay,
)
from adgen.service.store import IdempotencyConflict, QueueFull

router = APIRouter(tags=["adapters"])
BrandId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Brand kit id.")]
VersionNumber = Annotated[int, Path(ge=1, le=999_999, description="Version number (v<n>).")]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdapterTrainCreate(_Body):
    """What to train a new version on, and how long."""

    source: Literal["style", "approved"] = Field("style", description="style: the kit's style images; approved: "
                                                 "this tenant's approved plates (rejected off_brand_colour plates "
                                                 "become the eval's negatives).")
    steps: int = Field(300, ge=1, le=20_000, description="Optimiser steps.")
    rank: int = Field(8, ge=1, le=128, description="LoRA rank (alpha is kept equal to it).")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Training seed.")
    callback_url: str | None = Field(None, max_length=2000, description="Called (job.done / job.failed) when the "
                                     "job ends, signed like every adgen webhook.")


class PromoteCreate(_Body):
    force: bool = Field(False, description="Promote even when the version does not improve on the active one.")


class AdapterList(_Body):
    brand: str
    active: int | None = Field(description="The active version, or null (the kit's own adapter applies).")
    versions: list[dict] = Field(description="Every version, oldest first, with its eval figures.")


@router.post("/v1/brands/{brand}/adapters", status_code=202, response_model=JobAccepted, responses=ERRORS)
def train_adapter(brand: BrandId, body: AdapterTrainCreate, key: KeyDep, service: ServiceDep, response: Response,
                  idempotency_key: IdempotencyKey = None) -> JobAccepted:
    """Queue a training job for a new adapter version (admin); poll /v1/jobs/{id}, whose `adapter` is the result."""
    _admin(key, brand)
    _known_brand(brand)
    if body.callback_url:
        service.settings.callbacks.check_url(body.callback_url)
    request = {"kind": "adapter", "source": body.source, "steps": body.steps, "rank": body.rank, "seed": body.seed}
    canonical = json.dumps({"brand": brand, **body.model_dump(mode="json")}, sort_keys=True, separators=(",", ":"))
    body_sha256 = hashlib.sha256(canonical.encode()).hexdigest()
    replay = idempotent_replay(service, key, idempotency_key, body_sha256, response)
    if replay is not None:
        return replay
    limits = service.settings.limits
    try:
        job, created = service.store.create(
            service.store.new_id(), tenant=key.tenant, key_id=key.id, brand=brand, request=request,
            body_sha256=body_sha256, idempotency_key=idempotency_key, callback_url=body.callback_url,
            total=len(PHASES), max_queued=limits.max_queued_jobs, max_queued_per_tenant=limits.max_queued_per_tenant)
    except IdempotencyConflict:
        raise _conflict(idempotency_key) from None
    except QueueFull as full:
        raise _queue_full(full) from None
    service.worker.wake()
    return _accepted(job.id, job.status, response, replayed=not created)


@router.get("/v1/brands/{brand}/adapters", response_model=AdapterList, responses=ERRORS)
def list_adapters(brand: BrandId, key: KeyDep) -> AdapterList:
    """This tenant's versions of the brand's adapter with their eval figures, and the active one."""
    from adgen.lora_registry import active, versions

    require_brand(key, brand)
    _known_brand(brand)
    current = active(brand, key.tenant)
    return AdapterList(brand=brand, active=current.version if current else None,
                       versions=[version_document(v, current) for v in versions(brand, key.tenant)])


@router.get("/v1/brands/{brand}/adapters/{version}/grid", response_class=FileResponse, responses={
    **ERRORS, 200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                    "description": "The eval grid: a row per condition (base, this version, the active one)."}})
def adapter_grid(brand: BrandId, version: VersionNumber, key: KeyDep) -> FileResponse:
    """The version's eval grid image."""
    require_brand(key, brand)
    found = _version(brand, version, key.tenant)
    if found.grid is None:
        raise ApiError(404, "not_found", "this version has not been evaluated yet", field="version", value=version)
    return FileResponse(found.grid, media_type="image/png", headers={"Cache-Control": "private, no-cache"})


@router.post("/v1/brands/{brand}/adapters/{version}/promote", responses=ERRORS)
def promote_adapter(brand: BrandId, version: VersionNumber, key: KeyDep, body: PromoteCreate | None = None) -> dict:
    """Make the version active (admin); 409 naming why when it does not improve on the active one, unless force."""
    from adgen.lora_registry import PromotionRefused, active, promote

    _admin(key, brand)
    _version(brand, version, key.tenant)
    try:
        promoted = promote(brand, version, key.tenant, force=bool(body and body.force), actor=key.id)
    except PromotionRefused as refused:
        raise ApiError(409, "not_improved", refused.reason, field="version", value=version) from None
    return version_document(promoted, active(brand, key.tenant))


@router.post("/v1/brands/{brand}/adapters/rollback", responses=ERRORS)
def rollback_adapter(brand: BrandId, key: KeyDep) -> dict:
    """Return to the version active before this one (admin); `active` null: back to the kit's own adapter."""
    from adgen.lora_registry import active, rollback

    _admin(key, brand)
    _known_brand(brand)
    if active(brand, key.tenant) is None:
        raise ApiError(409, "nothing_active", "no adapter version is active for this brand: nothing to roll back",
                       field="brand", value=brand)
    now = rollback(brand, key.tenant, actor=key.id)
    return {"brand": brand, "active": now.version if now else None}


def _admin(key, brand: str) -> None:
    require_brand(key, brand)
    if key.role != "admin":
        raise ApiError(403, "role", f"a {key.role} key cannot train, promote or roll back adapters; an admin key can",
                       field="Authorization")


def _known_brand(brand: str) -> None:
    from adgen.brand import list_brand_ids

    if brand not in list_brand_ids():
        raise ApiError(404, "not_found", "no such brand", field="brand", value=brand)


def _version(brand: str, version: int, tenant: str):
    from adgen.errors import NotFoundError
    from adgen.lora_registry import get_version

    try:
        return get_version(brand, version, tenant)
    except NotFoundError:  # another tenant's version answers exactly like a missing one
        raise ApiError(404, "not_found", "no such adapter version", field="version", value=version) from None
