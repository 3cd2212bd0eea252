"""Review routes: decide on an asset, list the review queue, export the audit log. Rules live in reviews.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from adgen.service import audit
from adgen.service.auth import KeyDep
from adgen.service.bodies import ErrorBody, ReviewCreate, ReviewList, ReviewOut, review_document
from adgen.service.core import ERRORS, ApiError, ServiceDep, require_brand
from adgen.service.reviews import STATES, Decision, ReviewConflict, ReviewForbidden

router = APIRouter(tags=["reviews"])
IfMatch = Annotated[str | None, Header(max_length=40, description="The review's ETag (\"r<version>\") the "
                                                                  "decision was made on; or give expected_state.")]


@router.post("/v1/assets/{asset_id}/review", response_model=ReviewOut,
             responses={**ERRORS, 428: {"model": ErrorBody, "description": "Neither expected_state nor If-Match."}})
def review_asset(asset_id: str, body: ReviewCreate, key: KeyDep, service: ServiceDep, response: Response,
                 if_match: IfMatch = None) -> ReviewOut:
    """Approve, request changes or reject; 409 names the current state when the asset has moved on."""
    expected_version = _version(if_match)
    if body.expected_state is None and expected_version is None:
        raise ApiError(428, "precondition_required", "say which state you decided from: expected_state in the "
                       "body, or If-Match with the review's ETag", field="expected_state")
    decision = Decision(body.decision, body.comment, tuple(body.reasons), body.expected_state, expected_version)
    try:
        found = service.reviews.decide(asset_id, key, decision)
    except ReviewForbidden as refused:
        raise ApiError(403, refused.code, refused.message, field="Authorization") from None
    except ReviewConflict as conflict:
        raise ApiError(409, "review_conflict", conflict.message, field="expected_state", value=conflict.current.state,
                       headers={"ETag": conflict.current.etag}) from None
    if found is None:  # another tenant's asset answers exactly like a missing one
        raise ApiError(404, "not_found", "no such asset", field="asset_id", value=asset_id[:64])
    review, replayed = found
    response.headers["ETag"] = review.etag
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        service.send_review_callbacks()
        if review.state == "approved":  # its copy joins the brand's copy history (embedding: off this request)
            _remember_copy(service, review)
    return review_document(review)


@router.get("/v1/reviews", response_model=ReviewList, responses=ERRORS)
def list_reviews(key: KeyDep, service: ServiceDep,
                 state: Annotated[Literal[STATES] | None, Query(description="Only this state.")] = None,
                 brand: Annotated[str | None, Query(max_length=64, description="Only this brand.")] = None,
                 limit: Annotated[int, Query(ge=1, le=500, description="At most this many, oldest first.")] = 100
                 ) -> ReviewList:
    """The tenant's assets with their review state, oldest first, within the key's brands (the review queue)."""
    if brand:
        require_brand(key, brand)
    found = service.reviews.list(key.tenant, state=state, brand=brand, brands=key.brands, limit=limit)
    return ReviewList(reviews=[review_document(r) for r in found])


@router.get("/v1/audit", responses={**ERRORS, 200: {"content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                                                                  "text/csv": {"schema": {"type": "string"}},
                                                                  "text/plain": {"schema": {"type": "string"}}},
                                                      "description": "The tenant's audit log, oldest first."}})
def get_audit(key: KeyDep, service: ServiceDep,
              format: Annotated[Literal[audit.FORMATS], Query(description="json, csv, or text (a sentence per entry).")] = "json") -> Response:
    """The tenant's append-only audit log within the key's brands: jobs, assets, decisions (reviewers and admins)."""
    if not key.may_decide:
        raise ApiError(403, "role", "the audit log is for reviewer and admin keys", field="Authorization")
    entries = service.reviews.audit(key.tenant, key.brands)
    if format == "json":
        return JSONResponse(entries)
    if format == "text":
        return Response(audit.export(entries, "text"), media_type="text/plain")
    return Response(audit.export(entries, "csv"), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="adgen-audit.csv"'})


def _remember_copy(service, review) -> None:
    from adgen.service.copy_history import remember_in_background

    remember_in_background(service.store, review)


def _version(if_match: str | None) -> int | None:
    """'"r3"' or 'r3' or '3' -> 3; None when absent; ApiError for anything else."""
    if not if_match:
        return None
    text = if_match.strip().removeprefix("W/").strip('"').removeprefix("r")
    if not text.isdigit():
        raise ApiError(422, "invalid", "If-Match must be the review's ETag, e.g. \"r1\"", field="If-Match",
                       value=if_match)
    return int(text)
