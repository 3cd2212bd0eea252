"""The Ray engine: the same micro-batches on Ray Data, past one machine.

Each dataset row is one whole micro-batch (so its composition, and with it every pixel, is the same
as on the local engine). A pool of model actors renders plates with map_batches — one actor per GPU,
or per `workers` CPU slots without GPUs — and assets are finished by Ray tasks. OUT must be a folder
every node can write (a shared filesystem); progress is recorded here, by the driver, as results stream.
A fix round that needs a new plate asks one plate-service actor, which loads the model on first use:
finishing tasks hold no GPU, so rendering there would load a model copy per task and run it on CPU.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

from adgen.engines.work import Job, JobResult, finish_asset, plate_maker, render_plates

# Passed to every Ray worker so they find the same brand kits, adapters, models and device.
ENV_PREFIXES = ("ADGEN_", "HF_", "PYTHONPATH", "TRANSFORMERS_")
# With GPUs the plate service shares one with a model actor: a fix round's plate is rare, and a second
# model copy fits beside the first on the cards Ray Data is run on.
SERVICE_GPU_SHARE = 0.25


def run_ray(chunks: list[tuple[list[Job], set]], out: Path, record: Callable[[JobResult], None], *,
            workers: int, cpu_threads: int, address: str | None = None) -> None:
    """Make every pending job on a Ray cluster (a local one when address is None)."""
    import ray

    env = {key: value for key, value in os.environ.items() if key.startswith(ENV_PREFIXES)}
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=None if address else max(2, workers), include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": env})
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        actors = gpus or max(1, workers - 1)  # without GPUs, leave a slot for the finishing tasks
        rows = [{"chunk": pickle.dumps((jobs, pending))} for jobs, pending in chunks]
        service = start_plate_service(gpus=gpus, cpu_threads=cpu_threads)
        try:
            dataset = (_dataset(rows)
                       .map_batches(_PlateMaker, fn_constructor_kwargs={"cpu_threads": cpu_threads}, batch_size=1,
                                    concurrency=actors, num_gpus=1 - SERVICE_GPU_SHARE if gpus else 0,
                                    num_cpus=0 if gpus else cpu_threads)
                       .map(_finish, fn_kwargs={"out": str(out), "plate_service": service}))
            for row in dataset.iter_rows():
                record(pickle.loads(row["result"]))
        finally:
            ray.kill(service)
    finally:
        if started_here:
            ray.shutdown()


def start_plate_service(*, gpus: int, cpu_threads: int):
    """The actor that renders fix rounds' new plates (a handle; its model loads on the first plate)."""
    import ray

    # No CPU reserved: it idles unless a fix round asks, and then that task is waiting on it.
    return (ray.remote(_PlateService)
            .options(num_gpus=SERVICE_GPU_SHARE if gpus else 0, num_cpus=0)
            .remote(cpu_threads))


def _dataset(rows: list[dict]):
    import ray.data

    # One block per micro-batch, so micro-batches spread over the actors instead of queueing on one.
    return ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))


class _PlateMaker:
    """A model actor: the pipeline stays loaded (generation.load_pipeline caches it per process)."""

    def __init__(self, cpu_threads: int):
        self.cpu_threads = cpu_threads

    def __call__(self, batch: dict) -> dict:
        payloads = []
        for blob in batch["chunk"]:
            jobs, pending = pickle.loads(blob)
            plates = render_plates(jobs, cpu_threads=self.cpu_threads)
            payloads += [pickle.dumps((job, plate)) for job, plate in zip(jobs, plates) if job.key in pending]
        return {"payload": payloads}


class _PlateService:
    """Renders a plate per request, one at a time, with the model loaded in this actor."""

    def __init__(self, cpu_threads: int):
        self._cpu_threads = cpu_threads
        self._make_plate = None  # imports torch and loads the model on the first request, if one comes
        self._seeds: list[int] = []

    def render(self, prompt, resolved, layout=None):
        self._make_plate = self._make_plate or plate_maker(self._cpu_threads)
        self._seeds.append(resolved.seed)
        return self._make_plate(prompt, resolved, layout)

    def rendered_seeds(self) -> list[int]:
        """The seeds of the plates rendered so far (what a fix round asked for)."""
        return list(self._seeds)


def _finish(row: dict, out: str, plate_service) -> dict:
    import ray

    job, plate = pickle.loads(row["payload"])

    def make_plate(prompt, resolved, layout=None):
        return ray.get(plate_service.render.remote(prompt, resolved, layout))

    return {"result": pickle.dumps(finish_asset(job, Path(out), plate, make_plate))}
