"""The local engine: plates in this process, micro-batch by micro-batch; assets finished in worker processes.

With workers=0 everything runs here, one step after another (the sequential baseline). With workers>0
compose, check and export run in a spawn-started process pool while the next micro-batch generates,
so the model stays busy and the CPU-bound finishing work overlaps it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from adgen.engines.work import Job, JobResult, finish_asset, render_plates

QUEUE_PER_WORKER = 2  # finished plates waiting per worker: enough to keep them busy, bounded memory


def run_local(chunks: list[tuple[list[Job], set]], out: Path, record: Callable[[JobResult], None], *,
              workers: int, cpu_threads: int) -> None:
    """Make every pending job; chunks are (the whole micro-batch, the keys still pending in it)."""
    if workers <= 0:
        for jobs, pending in chunks:
            for job, plate in zip(jobs, render_plates(jobs, cpu_threads=cpu_threads)):
                if job.key in pending:
                    record(finish_asset(job, out, plate))
        return
    # spawn: a forked child would inherit torch's threads and the loaded pipeline mid-use.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm_up) as pool:
        # Start every worker now, so their imports overlap the first micro-batch's generation.
        in_flight: set[Future] = {pool.submit(_nothing) for _ in range(workers)}
        for jobs, pending in chunks:
            for job, plate in zip(jobs, render_plates(jobs, cpu_threads=cpu_threads)):
                if job.key in pending:
                    in_flight.add(pool.submit(finish_asset, job, out, plate))
            in_flight = _collect(in_flight, record, keep=workers * QUEUE_PER_WORKER)
        _collect(in_flight, record, keep=0)


def _warm_up() -> None:
    """One thread per worker, then import the pipeline (finishing imports neither torch nor diffusers)."""
    # Workers run beside the generating process: several single-threaded workers beat each
    # spreading OCR and torch over every core and stalling on the others (measured in bench batch).
    # torch reads OMP_NUM_THREADS if a fix round ever makes it regenerate a plate here.
    os.environ.setdefault("ADGEN_OCR_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import adgen.pipeline  # noqa: F401


def _nothing() -> None:
    return None


def _collect(in_flight: set[Future], record: Callable[[JobResult], None], *, keep: int) -> set[Future]:
    """Record finished assets (in this process: one SQLite writer); block while more than keep are queued."""
    done, in_flight = wait(in_flight, timeout=0)
    while True:
        for future in done:
            if (result := future.result()) is not None:
                record(result)
        if len(in_flight) <= keep:
            return in_flight
        done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
