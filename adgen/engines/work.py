"""A unit of batch work, and the two calls every engine makes: render a micro-batch, finish an asset."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from adgen.brand import BrandKit
from adgen.errors import AdgenError
from adgen.request import AssetRequest


@dataclass(frozen=True)
class Job:
    """One asset to make: its progress key, its request and brand, and the micro-batch it renders in."""

    key: tuple[int, str, int]       # (row, format, variant)
    request: AssetRequest
    brand: BrandKit
    chunk: int
    keep_plate: bool = False         # under review: the plate is kept for `adgen lora train --from-approved`


@dataclass(frozen=True)
class JobResult:
    key: tuple[int, str, int]
    verdict: str = ""               # pass | warn | fail when made
    path: str = ""                  # relative to OUT
    report: str = ""
    failed_rules: tuple[str, ...] = ()
    error: str = ""                 # why it could not be made
    ms: float = 0.0


def render_plates(jobs: list[Job], *, cpu_threads: int) -> list[Image.Image]:
    """Background plates of one micro-batch, in one pipeline call where the pipeline allows.

    cpu_threads: torch's intra-op threads while rendering. CPU float sums (and so a pixel's last bit)
    depend on it, so the plan fixes it for every engine; 1 also keeps generation from fighting the
    finishing processes for cores. A GPU ignores it.
    """
    from adgen.generation import generate_many
    from adgen.plan import plan
    from adgen.prompt import build_prompt
    from adgen.request import resolve

    resolved = [resolve(job.request, brand=job.brand) for job in jobs]
    # The plans are made here, in the driver, so each plate is generated around its product.
    plans = [plan(r) for r in resolved]
    with _torch_threads(cpu_threads):
        return generate_many([build_prompt(r) for r in resolved], resolved, plans)


def plate_maker(cpu_threads: int) -> Callable:
    """generation.generate at the plan's torch threads: how a fix round regenerates a plate in a batch."""
    from adgen.generation import generate

    def make_plate(prompt, resolved, plan=None) -> Image.Image:
        with _torch_threads(cpu_threads):
            return generate(prompt, resolved, plan)

    return make_plate


@contextmanager
def _torch_threads(count: int):
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def finish_asset(job: Job, out: Path, plate: Image.Image | None, make_plate: Callable | None = None) -> JobResult:
    """pipeline.run with the plate already made: compose, check, export. Input errors become results.

    make_plate: how a fix round gets a new plate (see pipeline.run); the engines pass one that
    renders where the model is loaded.
    """
    from adgen.knowledge import LOCAL_TENANT
    from adgen.pipeline import run

    try:
        result = run(job.request, out, brand=job.brand, plate=plate, make_plate=make_plate, tenant=LOCAL_TENANT)
    except AdgenError as exc:
        return JobResult(job.key, error=str(exc))
    except Exception as exc:  # one broken asset must not stop the batch; the manifest keeps the reason
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return JobResult(job.key, error=f"{type(exc).__name__}: {exc} ({Path(last.filename).name}:{last.lineno})")
    if job.keep_plate:
        from adgen.export import keep_plate

        keep_plate(result)
    return JobResult(job.key, verdict=result.verdict, path=str(result.files.image.relative_to(out)),
                     report=str(result.files.report.relative_to(out)),
                     failed_rules=tuple(sorted({f.rule for f in result.report.failed()})),
                     ms=round(sum(result.timings_ms.values()), 1))
