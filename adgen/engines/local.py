"""The local engine: plates in this process, micro-batch by micro-batch; assets finished in worker processes.

With workers=0 everything runs here, one step after another (the sequential baseline). With workers>0
compose, check and export run in a spawn-started process pool while the next micro-batch generates,
so the model stays busy and the CPU-bound finishing work overlaps it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from adgen.engines.work import Job, JobResult, finish_asset, plate_maker, render_plates

QUEUE_PER_WORKER = 2  # finished plates waiting per worker: enough to keep them busy, bounded memory


def run_local(chunks: list[tuple[list[Job], set]], out: Path, record: Callable[[JobResult], None], *,
              workers: int, cpu_threads: int) -> None:
    """Make every pending job; chunks are (the whole micro-batch, the keys still pending in it)."""
    make_plate = plate_maker(cpu_threads)
    if workers <= 0:
        for jobs, pending in chunks:
            for job, plate in zip(jobs, render_plates(jobs, cpu_threads=cpu_threads)):
                if job.key in pending:
                    record(finish_asset(job, out, plate, make_plate))
        return
    # spawn: a forked child would inherit torch's threads and the loaded pipeline mid-use.
    context = multiprocessing.get_context("spawn")
    with _PlateService(context, workers, make_plate) as service, \
            ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm_up,
                                initargs=service.worker_ends()) as pool:
        # Start every worker now, so their imports overlap the first micro-batch's generation.
        in_flight: set[Future] = {pool.submit(_nothing) for _ in range(workers)}
        for jobs, pending in chunks:
            with service.generating:
                plates = render_plates(jobs, cpu_threads=cpu_threads)
            for job, plate in zip(jobs, plates):
                if job.key in pending:
                    in_flight.add(pool.submit(_finish_in_worker, job, out, plate))
            in_flight = _collect(in_flight, record, keep=workers * QUEUE_PER_WORKER)
        _collect(in_flight, record, keep=0)


class _PlateService:
    """Renders the plates that workers' fix rounds ask for, here in the driver where the model is loaded.

    Without it a worker whose plate showed stray text would load its own copy of the model (on a GPU
    host, one per worker). Requests come on one queue, each worker's answer goes back on its own;
    `generating` keeps the micro-batch renders and these from using the pipeline at once.
    """

    def __init__(self, context, workers: int, make_plate: Callable) -> None:
        self.generating = threading.Lock()
        self._make_plate = make_plate
        self._requests = context.Queue()
        self._answers = [context.Queue() for _ in range(workers)]
        self._seats = context.Queue()
        for seat in range(workers):
            self._seats.put(seat)
        self._thread = threading.Thread(target=self._serve, name="adgen-plate-service", daemon=True)

    def worker_ends(self) -> tuple:
        """What each worker's initializer gets: the request queue, every answer queue, and the seats."""
        return self._requests, self._answers, self._seats

    def __enter__(self) -> _PlateService:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._requests.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while (request := self._requests.get()) is not None:
            seat, prompt, resolved, layout = request
            try:
                with self.generating:
                    answer = ("plate", self._make_plate(prompt, resolved, layout))
            except Exception as exc:  # the worker raises it inside its fix round, and records it
                answer = ("error", f"{type(exc).__name__}: {exc}")
            self._answers[seat].put(answer)


_DRIVER: tuple | None = None   # in a worker: (request queue, this worker's answer queue, its seat)


def _warm_up(requests=None, answers=None, seats=None) -> None:
    """One thread per worker, a seat at the plate service, then import the pipeline (not torch or diffusers)."""
    global _DRIVER
    # Workers run beside the generating process: several single-threaded workers beat each
    # spreading OCR and torch over every core and stalling on the others (measured in bench batch).
    # torch reads OMP_NUM_THREADS if it is ever imported here.
    os.environ.setdefault("ADGEN_OCR_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if requests is not None:
        seat = seats.get()
        _DRIVER = (requests, answers[seat], seat)
    import adgen.pipeline  # noqa: F401


def _finish_in_worker(job: Job, out: Path, plate) -> JobResult:
    return finish_asset(job, out, plate, _plate_from_driver if _DRIVER else None)


def _plate_from_driver(prompt, resolved, layout=None):
    """A fix round's new plate, rendered by the driver's plate service."""
    requests, answer, seat = _DRIVER
    requests.put((seat, prompt, resolved, layout))
    kind, value = answer.get()
    if kind == "error":
        raise RuntimeError(f"the driver could not render the plate: {value}")
    return value


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
