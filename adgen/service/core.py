"""What every route shares: the service's settings and state, its error type and its dependencies.

Routes live in their own modules as module-level routers and import from here; nothing here
imports a route, so there is no cycle. get_service and require_key (adgen.service.auth) are
dependencies a test can override.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from adgen.apikeys import KeyCache, ensure_schema, get_key
from adgen.limits import Limits, RateLimiter
from adgen.service.bodies import ErrorBody, ErrorDetail, job_document
from adgen.service.cost import CostGate
from adgen.service.metrics import ServiceMetrics
from adgen.service.reviews import ReviewStore
from adgen.service.store import Job, JobStore
from adgen.service.worker import Worker
from adgen.service_db import service_db_path
from adgen.settings import adgen_home, private_dir
from adgen.webhooks import CallbackPolicy, deliver

log = logging.getLogger("adgen.api")


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs; `adgen serve` fills it from its options."""

    home: Path = field(default_factory=adgen_home)
    model: str | None = None
    steps: int | None = None
    limits: Limits = Limits()
    callbacks: CallbackPolicy = CallbackPolicy()
    # Hosts or networks product_image_url may reach besides public addresses (tests: 127.0.0.0/8).
    fetch_allow: tuple[str, ...] = ()
    fetch_allow_http: bool = False  # plain http product_image_url (an internal CDN); https only by default
    run_worker: bool = True
    ui: bool = False


class ApiError(Exception):
    """A 4xx/5xx with the one error body; raised by routes and dependencies."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, value=None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.detail = status, ErrorDetail(code=code, message=message, field=field, value=value)
        self.headers = headers


class Service:
    """What the routes share: settings, the job store, the worker, limits, the heavy-work gate and metrics."""

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        private_dir(settings.home)
        self.db = service_db_path(settings.home)
        self.jobs_dir = private_dir(settings.home / "jobs")
        self.store = JobStore(self.db)
        self.reviews = ReviewStore(self.db)
        self._sending: set[tuple[str, int]] = set()  # review callbacks given a sender thread in this process
        self._sending_lock = threading.Lock()
        ensure_schema(self.db)  # an older file's keys get their role column (creator)
        self.metrics = ServiceMetrics(self.store, self.reviews)
        self.rate = RateLimiter(settings.limits.rate_per_minute)
        self.keys = KeyCache(self.db)
        self.heavy = CostGate(settings.limits.heavy_slots, wait_s=settings.limits.heavy_wait_s)
        self.worker = Worker(self.store, jobs_dir=self.jobs_dir, model=settings.model, steps=settings.steps,
                             on_finished=self.job_finished, on_asset=self.metrics.asset_seconds.observe,
                             fetch_policy=self.fetch_policy())

    def fetch_policy(self):
        from adgen.netfetch import FetchPolicy

        return FetchPolicy(allow=self.settings.fetch_allow, allow_http=self.settings.fetch_allow_http)

    def job_finished(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is not None and job.callback_url:
            threading.Thread(target=self.send_callback, args=(job,), name=f"webhook-{job_id}", daemon=True).start()

    def send_callback(self, job: Job) -> None:
        try:
            key = get_key(job.key_id, db=self.db)
            document = job_document(job, self.store.assets(job.id)).model_dump(mode="json")
            payload = {"type": f"job.{job.status}", "job": document}
            result = deliver(job.callback_url, payload, key.webhook_secret, self.settings.callbacks)
        except Exception as exc:  # recorded, so the job never shows a callback pending forever
            log.exception("callback for %s", job.id)
            result = (False, 0, f"internal error: {type(exc).__name__}")
        self.store.webhook_result(job.id, *result)

    def approved_file(self, asset, review, key) -> Path:
        """The approved export (signed with the service's C2PA key), audited as taken by `key`; the state is approved."""
        import hashlib

        from adgen.service.reviews import approved_export
        from adgen.signing import load_or_init_signer

        path = approved_export(asset, review, load_or_init_signer(self.settings.home))
        self.reviews.record_export(review, key, hashlib.sha256(path.read_bytes()).hexdigest())
        return path

    def send_review_callbacks(self) -> None:
        """Send the asset.reviewed callbacks that decisions queued (and any a restart cut short), each once."""
        for pending in self.reviews.pending_webhooks():
            with self._sending_lock:  # two decisions at once both scan the queue
                if (pending["asset_id"], pending["version"]) in self._sending:
                    continue
                self._sending.add((pending["asset_id"], pending["version"]))
            threading.Thread(target=self._send_review, args=(pending,), name=f"review-{pending['asset_id']}",
                             daemon=True).start()

    def _send_review(self, pending: dict) -> None:
        try:
            key = get_key(pending["key_id"], db=self.db)
            result = deliver(pending["callback_url"], pending["payload"], key.webhook_secret, self.settings.callbacks)
        except Exception as exc:  # recorded, so the callback never shows pending forever
            log.exception("review callback for %s", pending["asset_id"])
            result = (False, 0, f"internal error: {type(exc).__name__}")
        self.reviews.webhook_result(pending["asset_id"], pending["version"], *result)


# Dependencies on the status-poll path are async: a sync one costs a thread-pool hop per request.
async def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)}


def require_brand(key, brand: str, field: str = "brand") -> None:
    if not key.may_use(brand):
        raise ApiError(403, "forbidden", "this API key is not scoped to that brand", field=field, value=brand)

