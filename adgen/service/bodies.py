"""HTTP request and response bodies: frozen models whose descriptions and examples make /docs; job_document()."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adgen.spec import ProductSpec

EXAMPLE_PRODUCT = {
    "sku": "NW-CB-001", "name": "Northwind Cold Brew Dark Roast",
    "headline": "Smooth cold brew, ready when you are", "subhead": "Slow-steeped for 18 hours.",
    "price": "14.99", "currency": "USD", "cta": "Shop now", "category": "coffee", "locale": "en-US",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobProduct(ProductSpec):
    """A product spec as a remote caller sends it: the image travels as bytes, never as a path."""

    # A server-local path from a remote caller would let it read any file the server can, so
    # the API takes the image's bytes; they are decoded with size limits and stored per job.
    product_image: str | None = Field(
        None, max_length=14_000_000,
        description="Base64 of a PNG, JPEG or WebP cut-out or photo (a `data:image/...;base64,` URL is also "
                    "accepted). Not a path: server-local paths are refused. Omit for a product-less layout.")
    product_image_url: str | None = Field(
        None, max_length=2000,
        description="https URL of the product image (a CDN link), fetched by the worker, not while you wait: "
                    "public addresses only unless the server allow-lists the host, redirects re-checked, "
                    "size and pixels capped. Give product_image or product_image_url, not both.")

    @model_validator(mode="after")
    def _one_image_source(self):
        if self.product_image is not None and self.product_image_url is not None:
            raise ValueError("give product_image or product_image_url, not both")
        return self


class JobCreate(_Frozen):
    """Make every (product, format, variant) asset of a product list in one brand."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"examples": [{
        "products": [EXAMPLE_PRODUCT], "brand": "northwind", "formats": ["ig-square", "iab-300x250"],
        "variants": 1, "seed": 7, "callback_url": "https://hooks.example.com/adgen"}]})

    products: list[JobProduct] = Field(min_length=1, max_length=100, description="Products to advertise (same "
                                       "fields as a product spec file); skus must differ within a job.")
    brand: str = Field(max_length=64, description="Brand kit id; the API key must be scoped to it.")
    formats: list[str] = Field(["ig-square"], min_length=1, max_length=20, description="Format ids (GET /v1/formats).")
    variants: int = Field(1, ge=1, le=8, description="Variants per product and format.")
    seed: int = Field(0, ge=0, lt=2**31, description="Base seed; each asset derives its own, so results are repeatable.")
    cutout: bool = Field(True, description="Cut product photos without alpha out of their background (a soft "
                                           "matte); false places them framed.")
    callback_url: str | None = Field(None, max_length=2000, description="POSTed a signed JSON document when the "
                                     "job is done or failed. Its host must be on the server's allow-list.")


class JobAccepted(_Frozen):
    id: str = Field(description="Job id.", examples=["job_5f0c2a9e41b7d3c8a6e2"])
    status: Literal["queued", "running", "done", "failed"] = Field(description="State when this answer was made.")
    status_url: str = Field(description="Where to poll the job (GET, same API key).",
                            examples=["/v1/jobs/job_5f0c2a9e41b7d3c8a6e2"])


class RegionOut(_Frozen):
    label: str = Field(description="What the region is, e.g. 'under the base', 'beside'.")
    box: list[int] = Field(description="[left, top, right, bottom] px.")


class FindingOut(_Frozen):
    rule: str = Field(description="Stable rule id, e.g. text.contrast.")
    status: Literal["pass", "warn", "fail", "skip"]
    severity: str = Field(description="error, warning or info.")
    message: str
    measured: Any = Field(None, description="What was measured, in the rule's unit.")
    threshold: Any = Field(None, description="The limit it was held to.")
    element: str | None = Field(None, description="Layer the finding is about, e.g. headline, logo.")
    box: list[int] | None = Field(None, description="Where, as [left, top, right, bottom] px.")
    outline: list[list[list[int]]] | None = Field(None, description="Segmented subject's outline: polygons of "
                                                  "[x, y] px (foreign images checked by /v1/check).")
    regions: list[RegionOut] | None = Field(None, description="Named areas a rule measured (product.grounded's "
                                                          "bands under and beside the base).")
    page: int | None = Field(None, description="Printed-page evidence (PDF preflight): the 1-based page.")
    box_mm: list[float] | None = Field(None, description="Printed-page evidence: [left, top, right, bottom] mm "
                                                         "from the page's top-left corner.")


class ReportOut(_Frozen):
    verdict: Literal["pass", "warn", "fail"] = Field(description="Worst status over the findings.")
    findings: list[FindingOut]
    attempts: list[dict] = Field([], description="Encoding attempts made to meet the file-size limit.")


class AssetOut(_Frozen):
    id: str = Field(description="Asset id; stable for (job, sku, format, variant).")
    sku: str
    format: str
    variant: int
    verdict: Literal["pass", "warn", "fail"]
    url: str = Field(description="GET it for the image bytes (same API key).", examples=["/v1/assets/ast_9d1e0b"])
    report: ReportOut
    review_state: Literal["pending", "approved", "changes_requested", "rejected"] = Field(
        "pending", description="Review state; decide with POST {url}/review (docs/review.md).")


class Progress(_Frozen):
    done: int = Field(description="Assets made so far (an adapter training job: phases done).")
    total: int = Field(description="Assets the job will make (an adapter training job: its phases).")


class WebhookOut(_Frozen):
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    outcome: str | None = Field(None, description="Last HTTP status or network error.")


class ErrorDetail(_Frozen):
    code: str = Field(description="Machine-readable reason, e.g. invalid, forbidden, not_found, rate_limited.")
    message: str
    field: str | None = Field(None, description="The request field at fault, dotted: products.0.sku.")
    value: Any = Field(None, description="The offending value, when it is safe to echo.")


class ErrorBody(_Frozen):
    error: ErrorDetail


class JobOut(_Frozen):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    brand: str
    progress: Progress
    assets: list[AssetOut] = Field(description="Assets made so far, in plan order.")
    error: ErrorDetail | None = Field(None, description="Why the job failed.")
    webhook: WebhookOut | None = Field(None, description="Callback delivery, when a callback_url was given.")
    adapter: dict | None = Field(None, description="An adapter training job's result: the version it registered "
                                                   "and its eval figures (POST /v1/brands/{brand}/adapters).")
    created_at: float = Field(description="Unix seconds.")
    updated_at: float = Field(description="Unix seconds.")


class BrandOut(_Frozen):
    id: str
    name: str
    locales: list[str]
    palette: dict[str, str] = Field(description="Colour role to hex.")


class SafeAreaOut(_Frozen):
    top: float
    right: float
    bottom: float
    left: float


class FormatOut(_Frozen):
    id: str
    channel: str
    width: int = Field(description="px")
    height: int = Field(description="px")
    max_kb: int = Field(description="File-size limit, KB.")
    file_types: list[str]
    template: str
    safe_area: SafeAreaOut = Field(description="Margins kept free of text, fractions of the side (0-1).")


class Health(_Frozen):
    status: str
    model: str | None = None
    detail: str | None = None


def job_document(job, assets) -> JobOut:
    """The status document of a job (a store Job and its Assets): GET /v1/jobs/{id} and the webhook body."""
    error = ErrorDetail(code="job_failed", message=job.error, field=job.error_field) if job.error else None
    webhook = (WebhookOut(state=job.webhook_state, attempts=job.webhook_attempts, outcome=job.webhook_outcome)
               if job.webhook_state else None)
    training = job.request.get("kind") == "adapter"
    done = (job.progress or 0) if training else len(assets)
    return JobOut(id=job.id, status=job.status, brand=job.brand, progress=Progress(done=done, total=job.total),
                  assets=[AssetOut(id=a.id, sku=a.sku, format=a.format, variant=a.variant, verdict=a.verdict,
                                   url=f"/v1/assets/{a.id}", report=ReportOut.model_validate(a.report),
                                   review_state=a.review_state)
                          for a in assets],
                  error=error, webhook=webhook, adapter=job.result if training else None,
                  created_at=job.created_at, updated_at=job.updated_at)


class ReviewCreate(_Frozen):
    """A reviewer's decision on one asset, made on the state it was shown."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"examples": [{
        "decision": "changes_requested", "comment": "The amber reads orange on the bag.",
        "reasons": ["off_brand_colour"], "expected_state": "pending"}]})

    decision: Literal["approved", "changes_requested", "rejected"]
    comment: str | None = Field(None, max_length=2000, description="Why; required to approve a `warn` verdict "
                                "when the brand says so (review.warn_needs_comment).")
    reasons: list[str] = Field([], max_length=5, description="Reason codes, needed for changes_requested and "
                               "rejected: off_brand_colour, product_looks_wrong, copy, legal, other.")
    expected_state: Literal["pending", "approved", "changes_requested", "rejected"] | None = Field(
        None, description="The state you decided from; if the asset has moved on, the answer is 409 naming its "
                          "state. Give this or an If-Match header with the review's ETag.")


class ReviewerOut(_Frozen):
    key_id: str
    tenant: str


class ReviewOut(_Frozen):
    asset_id: str
    job_id: str
    brand: str
    state: Literal["pending", "approved", "changes_requested", "rejected"]
    version: int = Field(description="1 while pending, one more per decision; the ETag is \"r<version>\".")
    verdict: Literal["pass", "warn", "fail"] = Field(description="The compliance verdict decided from.")
    digest: str = Field(description="SHA-256 of the image file (hex).")
    generated_by: str = Field(description="Key id that created the job.")
    reviewer: ReviewerOut | None = None
    comment: str | None = None
    reasons: list[str] = []
    decided_at: float | None = Field(None, description="Unix seconds.")
    url: str = Field(description="The image (GET, same key).")
    approved_url: str = Field(description="The image only while approved: any other state answers 409.")


class ReviewList(_Frozen):
    reviews: list[ReviewOut]


def review_document(review) -> ReviewOut:
    """A store Review as the API shows it: the POST answer, GET /v1/reviews and the asset.reviewed webhook."""
    reviewer = ReviewerOut(key_id=review.reviewer_key, tenant=review.reviewer_tenant) if review.reviewer_key else None
    return ReviewOut(asset_id=review.asset_id, job_id=review.job_id, brand=review.brand, state=review.state,
                     version=review.version, verdict=review.verdict, digest=review.sha256,
                     generated_by=review.generated_by, reviewer=reviewer, comment=review.comment,
                     reasons=list(review.reasons), decided_at=review.decided_at, url=f"/v1/assets/{review.asset_id}",
                     approved_url=f"/v1/assets/{review.asset_id}?approved=true")
