"""HTTP service: thin FastAPI routes over pipeline.run() (via the job worker) and the checks.

create_app(settings) builds everything; get_service and require_key are dependencies a test
can override. Every 4xx body is `{"error": {code, message, field, value}}`.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from adgen import __version__
from adgen.api_metrics import ServiceMetrics
from adgen.api_models import (AssetOut, BrandOut, ErrorBody, ErrorDetail, FormatOut, Health, JobOut, Progress,
                              ReportOut, SafeAreaOut, WebhookOut)
from adgen.apikeys import ApiKey, KeyCache, get_key
from adgen.errors import AdgenError, InputError
from adgen.jobs import Asset, Job, JobStore, Worker
from adgen.limits import BodySizeLimit, Limits, RateLimiter, decode_image, retry_after_header
from adgen.service_db import service_db_path
from adgen.settings import adgen_home
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
    """What the routes share: settings, the job store, the worker, limits and metrics."""

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.db = service_db_path(settings.home)
        self.jobs_dir = settings.home / "jobs"
        self.store = JobStore(self.db)
        self.metrics = ServiceMetrics(self.store)
        self.rate = RateLimiter(settings.limits.rate_per_minute)
        self.keys = KeyCache(self.db)
        self.worker = Worker(self.store, jobs_dir=self.jobs_dir, model=settings.model, steps=settings.steps,
                             on_finished=self.job_finished, on_asset=self.metrics.asset_seconds.observe)

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


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The app: routes, error handlers, body-size limit, the worker in the lifespan, /ui when available."""
    settings = settings or ServiceSettings()
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.run_worker:
            service.worker.start()
        for job in service.store.pending_webhooks():  # callbacks cut short by a restart
            threading.Thread(target=service.send_callback, args=(job,), daemon=True).start()
        yield
        service.worker.stop()

    app = FastAPI(title="adgen", version=__version__, lifespan=lifespan,
                  description="Product specs in, on-brand, compliance-checked marketing images out. "
                              "Authenticate with `Authorization: Bearer <key>` (`adgen keys create`).")
    app.state.service = service
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.limits.max_body_bytes)
    _add_error_handlers(app)
    _add_routes(app)
    if settings.ui:
        mount_ui(app, settings.model)
    return app


def mount_ui(app: FastAPI, model: str | None = None) -> bool:
    """Mount the Gradio app (adgen.ui.mount_ui) at /ui when gradio is installed."""
    try:
        from adgen.ui import mount_ui as mount_gradio
    except ImportError as exc:
        log.info("no UI at /ui (%s)", exc)
        return False
    mount_gradio(app, path="/ui", model=model)
    return True


# ---- dependencies ---------------------------------------------------------------------------

# Dependencies on the status-poll path are async: a sync one costs a thread-pool hop per request.
async def get_service(request: Request) -> Service:
    return request.app.state.service


bearer = HTTPBearer(auto_error=False, description="An API key from `adgen keys create`.")


async def require_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                service: Annotated[Service, Depends(get_service)]) -> ApiKey:
    """The caller's live API key, within its rate limit."""
    key = service.keys.authenticate(credentials.credentials) if credentials else None
    if key is None:
        raise ApiError(401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>",
                       field="Authorization", headers={"WWW-Authenticate": "Bearer"})
    wait = service.rate.take(key.id)
    if wait:
        raise ApiError(429, "rate_limited", "too many requests for this API key", field="Authorization",
                       headers={"Retry-After": retry_after_header(wait)})
    return key


ServiceDep = Annotated[Service, Depends(get_service)]
KeyDep = Annotated[ApiKey, Depends(require_key)]
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)}


def require_brand(key: ApiKey, brand: str, field: str = "brand") -> None:
    if not key.may_use(brand):
        raise ApiError(403, "forbidden", "this API key is not scoped to that brand", field=field, value=brand)


# ---- routes ---------------------------------------------------------------------------------

def _add_routes(app: FastAPI) -> None:
    from adgen.api_jobs import router as jobs_router

    app.include_router(jobs_router)

    @app.get("/v1/brands", response_model=list[BrandOut], tags=["catalogue"], responses=ERRORS)
    def list_brands(key: KeyDep) -> list[BrandOut]:
        """Brand kits this API key may use."""
        from adgen.brand import list_brand_ids, load_brand

        kits = [load_brand(b) for b in list_brand_ids() if key.may_use(b)]
        return [BrandOut(id=k.id, name=k.name, locales=list(k.locales), palette=k.palette) for k in kits]

    @app.get("/v1/formats", response_model=list[FormatOut], tags=["catalogue"], responses=ERRORS)
    def list_formats(key: KeyDep) -> list[FormatOut]:
        """Output formats (the registry `adgen formats` prints)."""
        from adgen.formats import all_formats

        return [FormatOut(id=f.id, channel=f.channel, width=f.width, height=f.height, max_kb=f.max_kb,
                          file_types=list(f.file_types), template=f.template,
                          safe_area=SafeAreaOut(**vars(f.safe_area))) for f in all_formats().values()]

    @app.post("/v1/check", response_model=ReportOut, tags=["check"], responses=ERRORS)
    def check_upload(key: KeyDep, service: ServiceDep,
                     image: Annotated[UploadFile, File(description="PNG, JPEG or WebP to check.")],
                     brand: Annotated[str, Form(max_length=64, description="Brand kit id.")],
                     format: Annotated[str, Form(max_length=64, description="Format id the image is meant for.")],
                     copy_json: Annotated[str | None, Form(alias="copy", max_length=20_000, description="JSON "
                                                           "object with headline, subhead, cta, price, disclaimer.")] = None,
                     locale: Annotated[str, Form(max_length=35, description="Locale of the copy.")] = "en-US",
                     category: Annotated[str, Form(max_length=64, description="Product category.")] = "general",
                     ) -> ReportOut:
        """Run the rules that need no layers on any image (adgen's or not)."""
        from adgen.check_image import check_image_bytes

        require_brand(key, brand)
        limits = service.settings.limits
        data = image.file.read(limits.max_upload_bytes + 1)
        picture = decode_image(data, field="image", limits=limits)
        try:
            copy_data = json.loads(copy_json) if copy_json else {}
        except json.JSONDecodeError as exc:
            raise InputError(f"copy is not JSON ({exc.msg})", field="copy") from None
        report = check_image_bytes(data, picture, brand=brand, format_id=format, copy=copy_data,
                                   locale=locale, category=category)
        return ReportOut.model_validate(report.as_dict())

    @app.get("/healthz", response_model=Health, tags=["operations"])
    def healthz() -> Health:
        """The process answers."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, tags=["operations"], responses={503: {"model": Health}})
    def readyz(service: ServiceDep) -> Response:
        """Ready when the model is loaded and the worker is running."""
        worker, model = service.worker, service.settings.model
        if worker.ready.is_set() and worker.alive:
            return JSONResponse(Health(status="ready", model=model).model_dump())
        detail = worker.load_error or ("worker not running" if not worker.alive else "loading model")
        return JSONResponse(Health(status="not ready", model=model, detail=detail).model_dump(), status_code=503)

    @app.get("/metrics", tags=["operations"], response_class=Response,
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
    def metrics(service: ServiceDep) -> Response:
        """Prometheus metrics: adgen_jobs{state}, adgen_queue_depth, adgen_asset_seconds."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def job_document(job: Job, assets: list[Asset]) -> JobOut:
    """The status document of a job: GET /v1/jobs/{id} and the webhook body."""
    error = ErrorDetail(code="job_failed", message=job.error, field=job.error_field) if job.error else None
    webhook = (WebhookOut(state=job.webhook_state, attempts=job.webhook_attempts, outcome=job.webhook_outcome)
               if job.webhook_state else None)
    return JobOut(id=job.id, status=job.status, brand=job.brand, progress=Progress(done=len(assets), total=job.total),
                  assets=[AssetOut(id=a.id, sku=a.sku, format=a.format, variant=a.variant, verdict=a.verdict,
                                   url=f"/v1/assets/{a.id}", report=ReportOut.model_validate(a.report))
                          for a in assets],
                  error=error, webhook=webhook, created_at=job.created_at, updated_at=job.updated_at)


# ---- errors ---------------------------------------------------------------------------------

def _add_error_handlers(app: FastAPI) -> None:
    def respond(status: int, detail: ErrorDetail, headers=None) -> JSONResponse:
        return JSONResponse(ErrorBody(error=detail).model_dump(mode="json"), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return respond(exc.status, exc.detail, exc.headers)

    @app.exception_handler(AdgenError)
    async def adgen_error(request: Request, exc: AdgenError):
        status = getattr(exc, "http_status", 422)
        code = {400: "bad_image", 413: "too_large"}.get(status, "invalid")
        return respond(status, ErrorDetail(code=code, message=exc.reason, field=exc.field, value=_safe(exc.value)))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        return respond(422, ErrorDetail(code="invalid", message=first["msg"], field=field_name(first["loc"]),
                                        value=_safe(first.get("input")) if first["type"] != "missing" else None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        codes = {404: "not_found", 405: "method_not_allowed"}
        return respond(exc.status_code, ErrorDetail(code=codes.get(exc.status_code, "error"), message=str(exc.detail)),
                       getattr(exc, "headers", None))


def field_name(loc: tuple) -> str | None:
    """A pydantic error location as the caller wrote it: ('body', 'products', 0, 'sku') -> products.0.sku."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    return ".".join(parts) or (str(loc[0]) if loc else None)


def _safe(value):
    """Echo short scalar values only: never a whole body, never megabytes of base64."""
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "..."
