"""The job worker: one child process that loads the model once and runs jobs through pipeline.run().

The HTTP process keeps only a Worker handle (start, wake, stop); the child reads the queue
from the store. A stop during a deploy requeues the job it interrupted without counting the
start, so deploys never use up a job's MAX_STARTS.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Callable

from adgen.errors import AdgenError
from adgen.export import keep_plate
from adgen.service.inputs import fetch_product_images
from adgen.service.store import MAX_STARTS, Job, JobStore

log = logging.getLogger("adgen.worker")


class Worker:
    """Runs jobs in a child process: the pipeline's CPU and GIL stay out of the HTTP process.

    The child reports over a queue (model ready or not, asset seconds, job finished) and a
    listener thread here turns those into the callbacks. The child dies with the server
    (PR_SET_PDEATHSIG), so a SIGKILLed server never leaves a second worker behind.
    """

    def __init__(self, store: JobStore, *, jobs_dir: Path, model: str | None, steps: int | None,
                 on_finished: Callable[[str], None] = lambda job_id: None,
                 on_asset: Callable[[float], None] = lambda seconds: None, fetch_policy=None):
        # spawn, not fork: the server has threads (and maybe torch) that a fork would copy mid-state.
        self._ctx = multiprocessing.get_context("spawn")
        self.store, self.jobs_dir, self.model, self.steps = store, jobs_dir, model, steps
        self.on_finished, self.on_asset, self.fetch_policy = on_finished, on_asset, fetch_policy
        self.ready = threading.Event()     # the model is loaded in the child
        self.load_error: str | None = None
        self._wake, self._stop = self._ctx.Event(), self._ctx.Event()
        self._events = self._ctx.Queue()
        self._process = None

    def start(self) -> None:
        self._start_process()
        threading.Thread(target=self._listen, name="adgen-worker-events", daemon=True).start()

    def _start_process(self) -> None:
        self._process = self._ctx.Process(
            target=work, name="adgen-worker", daemon=True,
            args=(self.store.db, self.jobs_dir, self.model, self.steps, self._wake, self._stop, self._events,
                  self.fetch_policy))
        self._process.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the child to stop after its current asset; the job resumes at the next start."""
        self._stop.set()
        self._wake.set()
        if self._process is not None and self._process.is_alive():
            self._process.join(timeout)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout)
                # Cut short mid-asset by the deploy, not by the job: it resumes at the next start.
                for job_id in self.store.requeue_running():
                    log.warning("job %s interrupted by shutdown; requeued", job_id)

    def wake(self) -> None:
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _listen(self) -> None:
        while True:
            try:
                kind, value = self._events.get(timeout=1.0)
            except queue.Empty:
                if self._stop.is_set():
                    return
                if not self.alive:  # it crashed (OOM, a native fault): its job resumes in a new one
                    log.error("worker process exited with %s; starting another", self._process.exitcode)
                    self.ready.clear()
                    self._start_process()
                continue
            if kind == "ready":
                self.ready.set()
            elif kind == "load_error":
                self.load_error = value
            elif kind == "asset":
                self.on_asset(value)
            elif kind == "finished":
                self.on_finished(value)


def work(db: Path, jobs_dir: Path, model: str | None, steps: int | None, wake, stop, events, fetch_policy=None) -> None:
    """The worker process: load the model once, then run jobs (tenants in turn) until told to stop."""
    _die_with_parent()
    parent = os.getppid()
    runner = JobRunner(JobStore(db), jobs_dir=jobs_dir, model=model, steps=steps, stop=stop, emit=events.put,
                       fetch_policy=fetch_policy)
    runner.load_model()
    while not stop.is_set() and os.getppid() == parent:
        job = runner.store.next_job()
        if job is None:
            wake.wait(timeout=1.0)
            wake.clear()
            continue
        runner.run_job(job)


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the server dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the getppid() check in the loop catches it between jobs


class JobRunner:
    """Makes a job's assets through pipeline.run(), one at a time, recording each."""

    def __init__(self, store: JobStore, *, jobs_dir: Path, model: str | None, steps: int | None, stop, emit,
                 fetch_policy=None):
        self.store, self.jobs_dir, self.model, self.steps = store, jobs_dir, model, steps
        self.stop, self.emit, self.fetch_policy = stop, emit, fetch_policy

    def load_model(self) -> None:
        from adgen.generation import load_pipeline
        from adgen.request import DEFAULT_MODEL

        try:
            load_pipeline(self.model or DEFAULT_MODEL)
            self.emit(("ready", None))
        except AdgenError as exc:  # /readyz says why; jobs will fail with the same message
            log.error("model not loaded: %s", exc)
            self.emit(("load_error", str(exc)))

    def run_job(self, job: Job) -> None:
        """Make every asset of the job not yet recorded; then mark it done or failed."""
        from adgen.brand import load_brand
        from adgen.lora_registry import apply_active
        from adgen.pipeline import run
        from adgen.request import AssetRequest
        from adgen.spec import ProductSpec

        if self.store.start(job.id) > MAX_STARTS:
            self.store.finish(job.id, "failed", f"interrupted {MAX_STARTS} times; not retried again")
            return self.emit(("finished", job.id))
        if job.request.get("kind") == "adapter":  # POST /v1/brands/{brand}/adapters
            from adgen.service.adapter_jobs import run_adapter_job

            return run_adapter_job(self, job)
        done = {(a.sku, a.format, a.variant) for a in self.store.assets(job.id)}
        out_dir = self.jobs_dir / job.id / "out"
        try:
            kit = apply_active(load_brand(job.brand), job.tenant)  # the tenant's promoted adapter, if any
            products = fetch_product_images(job.request["products"], self.jobs_dir / job.id / "inputs",
                                            self.fetch_policy)
            for position, product, format_id, variant in job.planned_assets(products):
                if (product["sku"], format_id, variant) in done or self.stop.is_set():
                    continue
                request = AssetRequest(product=ProductSpec.model_validate(product), brand=job.brand, format=format_id,
                                       variant=variant, seed=job.request["seed"], model=self.model, steps=self.steps,
                                       cutout=job.request.get("cutout", True))  # jobs stored before it: on
                clock = time.perf_counter()
                result = run(request, out_dir, brand=kit, tenant=job.tenant)  # its own knowledge base
                plate = keep_plate(result)
                seconds = time.perf_counter() - clock
                self.store.record_asset(job.id, position, product["sku"], format_id, variant, verdict=result.verdict,
                                        image_path=result.files.image, report=result.report.as_dict(), seconds=seconds,
                                        plate_path=plate)
                self.emit(("asset", seconds))
        except AdgenError as exc:
            self.store.finish(job.id, "failed", exc.reason, exc.field)
            return self.emit(("finished", job.id))
        except Exception as exc:  # a bug must not wedge the queue: fail this job, keep serving
            log.exception("job %s failed", job.id)
            self.store.finish(job.id, "failed", f"internal error: {type(exc).__name__}")
            return self.emit(("finished", job.id))
        if self.stop.is_set():  # a clean shutdown mid-job is not a crash: do not count this start
            return self.store.requeue(job.id)
        self.store.finish(job.id, "done")
        self.emit(("finished", job.id))
