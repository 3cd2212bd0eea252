"""HTTP service: thin FastAPI routes over pipeline.run() (via the job worker) and the checks.

create_app(settings) builds everything. Every 4xx body is `{"error": {code, message, field,
value}}`. Requests pass, outermost first: KeyGate (the key, from headers alone), the body-size
limit, then the routes. The designer UI is mounted only when asked for (`serve --ui`), behind
the same keys (adgen.service.ui_gate).
"""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from adgen import __version__
from adgen.errors import AdgenError
from adgen.limits import BodySizeLimit
from adgen.service.auth import KeyGate
from adgen.service.bodies import ErrorBody, ErrorDetail
from adgen.service.core import ApiError, Service, ServiceSettings, log


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The app: routes, error handlers, key gate and body-size limit, the worker in the lifespan, /ui if asked."""
    from adgen.service import (routes_adapters, routes_catalogue, routes_jobs, routes_knowledge, routes_ops, routes_packs,
                               routes_reviews)

    settings = settings or ServiceSettings()
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.run_worker:
            service.worker.start()
        for job in service.store.pending_webhooks():  # callbacks cut short by a restart
            threading.Thread(target=service.send_callback, args=(job,), daemon=True).start()
        service.send_review_callbacks()  # asset.reviewed callbacks cut short by a restart
        yield
        service.worker.stop()

    app = FastAPI(title="adgen", version=__version__, lifespan=lifespan,
                  description="Product specs in, on-brand, compliance-checked marketing images out. "
                              "Authenticate with `Authorization: Bearer <key>` (`adgen keys create`).")
    app.state.service = service
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.limits.max_body_bytes)
    app.add_middleware(KeyGate)  # added last: runs first, before the body is read
    _add_error_handlers(app)
    for module in (routes_jobs, routes_reviews, routes_adapters, routes_catalogue, routes_knowledge, routes_ops,
                   routes_packs):
        app.include_router(module.router)
    if settings.ui:
        from adgen.service.ui_gate import mount_ui

        mount_ui(app, service)
    return app


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
        # exc.reason only: the CLI's str(exc) may add server paths and the names of other brands.
        return respond(status, ErrorDetail(code=code, message=exc.reason, field=exc.field, value=_safe(exc.value)),
                       getattr(exc, "headers", None))

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

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(500, ErrorDetail(code="internal", message="internal error; it is in the server log"))


def field_name(loc: tuple) -> str | None:
    """A pydantic error location as the caller wrote it: ('body', 'products', 0, 'sku') -> products.0.sku."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    return ".".join(parts) or (str(loc[0]) if loc else None)


def _safe(value):
    """Echo short scalar values only: never a whole body, megabytes of base64, or a URL's credentials."""
    from urllib.parse import urlsplit

    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = str(value)
    try:
        parts = urlsplit(text)
        if parts.username or parts.password:  # a callback URL with user:pass@ must not come back in a 422
            text = parts._replace(netloc=parts.hostname or "").geturl()
    except ValueError:
        pass
    return text if len(text) <= 200 else text[:200] + "..."
