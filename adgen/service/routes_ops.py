"""Operations routes: liveness, readiness, Prometheus metrics. They carry no tenant data."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from adgen.service.bodies import Health
from adgen.service.core import ServiceDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(service: ServiceDep) -> Response:
    """Ready when the model is loaded and the worker is running."""
    worker, model = service.worker, service.settings.model
    if worker.ready.is_set() and worker.alive:
        # The model's name, not its server path: /readyz is open to load balancers, not only operators.
        name = Path(model).name if model else "adgen-tiny"
        return JSONResponse(Health(status="ready", model=name).model_dump())
    # The load error names server paths and library internals: it goes to the log, not to callers.
    detail = ("model failed to load (see the server log)" if worker.load_error
              else "worker not running" if not worker.alive else "loading model")
    return JSONResponse(Health(status="not ready", model=None, detail=detail).model_dump(), status_code=503)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics: adgen_jobs{state}, adgen_queue_depth, adgen_assets_by_review{state}, adgen_asset_seconds."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
