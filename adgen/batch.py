"""The CSV batch: every (row, format, variant) of a catalogue made exactly once, crash-safe and resumable.

A thin caller of the pipeline: the engines render plates with generation.generate_many and finish
each asset with pipeline.run. Progress lives in SQLite under OUT/.adgen-batch/, written before any
work starts; after a crash, --resume makes what is still pending. Pixels depend on the recipe and
the plan only (seeds from (sku, format, variant); micro-batches fixed by the plan), never on which
run, engine or worker made them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from adgen.brand import BrandKit, list_brand_ids, load_brand
from adgen.catalogue import Catalogue, CatalogueRow, read_catalogue
from adgen.engines.work import Job, JobResult
from adgen.errors import InputError
from adgen.formats import get_format
from adgen.manifest import ManifestRow, write_manifest
from adgen.progress_db import Item, ProgressDB
from adgen.request import AssetRequest

STATE_DIR = ".adgen-batch"  # under OUT: progress.sqlite, fetched images
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class BatchOptions:
    catalogue: Path
    out: Path
    formats: tuple[str, ...] = ("ig-square",)
    variants: int = 1
    brand: str | None = None        # every row in this kit; else the row's brand column
    seed: int = 0
    model: str | None = None
    steps: int | None = None
    mapping: tuple[tuple[str, str], ...] = ()   # (field, column) overrides
    fetch_images: bool = False
    batch_size: int = 4             # prompts per pipeline call; part of the plan (pixels depend on it)
    cpu_threads: int = 1            # torch threads for CPU generation; part of the plan (pixels depend on it)
    resume: bool = False
    engine: str = "local"
    workers: int | None = None      # finishing processes (local) or CPU slots (ray); 0 = sequential; None = auto
    ray_address: str | None = None
    keep_plates: bool = False       # --require-approval: each plate beside its asset (adgen.export.keep_plate)


@dataclass(frozen=True)
class BatchOutcome:
    catalogue: Catalogue
    items: tuple[Item, ...]         # every planned item as recorded, in manifest order
    made: tuple[JobResult, ...]     # the assets made by this run (a resumed run makes only the rest)
    manifest: Path

    @property
    def exit_code(self) -> int:
        """0 all made and passing; 1 a row errored or an asset failed a rule."""
        return 1 if any(i.status != "done" or i.verdict == "fail" for i in self.items) else 0


def run_batch(options: BatchOptions, *, on_plan: Callable[[int, int], None] | None = None,
              on_result: Callable[[JobResult], None] | None = None) -> BatchOutcome:
    """Make a catalogue's assets; an unusable file or option raises AdgenError before any work."""
    if options.engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}", field="--engine", value=options.engine)
    for format_id in options.formats:
        get_format(format_id)
    state = options.out / STATE_DIR
    # 1. read the catalogue (exit 2 when the file itself is unusable)
    catalogue = read_catalogue(options.catalogue, mapping=dict(options.mapping),
                               fetch_images=options.fetch_images, image_cache=state / "images")
    # 2. plan every (row, format, variant); record it before any work starts
    items, jobs = _plan(catalogue, options)
    progress = ProgressDB(state / "progress.sqlite")
    try:
        progress.plan(items, _fingerprint(options), resume=options.resume)
        _remove_stale_temp_files(options.out)
        pending = {item.key for item in progress.items("pending")}
        if on_plan:
            on_plan(len(items), len(items) - len(pending))
        # 3. make what is pending, recording each asset as it lands
        made: list[JobResult] = []

        def record(result: JobResult) -> None:
            if result.error:
                progress.mark_error(result.key, result.error)
            else:
                progress.mark_done(result.key, verdict=result.verdict, path=result.path, report=result.report)
            made.append(result)
            if on_result:
                on_result(result)

        _engine(options)(_chunks(jobs, pending), options.out, record)
        # 4. the manifest, from the progress table
        recorded = tuple(progress.items())
    finally:
        progress.close()
    manifest = write_manifest([_manifest_row(item) for item in recorded], options.out)
    return BatchOutcome(catalogue, recorded, tuple(made), manifest)


def _plan(catalogue: Catalogue, options: BatchOptions) -> tuple[list[Item], list[Job]]:
    """Items in manifest order, and a Job for each makeable one, grouped into fixed micro-batches."""
    kits = _BrandKits(options.brand)
    items: list[Item] = []
    jobs: list[Job] = []
    open_chunks: dict[tuple[str, str], tuple[int, int]] = {}   # (brand, format) -> (chunk id, size)
    next_chunk = 0
    for entry in catalogue.rows:
        kit, error = (None, entry.error) if entry.error else kits.for_row(entry)
        if kit is not None:
            kit, error = _checked_row(entry, kit, options)
        if kit is None:
            items.append(Item(len(items), entry.row, "", 0, entry.sku, -1, "error", error=error))
            continue
        for format_id in options.formats:
            for variant in range(1, options.variants + 1):
                chunk, size = open_chunks.get((kit.id, format_id), (-1, options.batch_size))
                if size >= options.batch_size:
                    chunk, size, next_chunk = next_chunk, 0, next_chunk + 1
                open_chunks[(kit.id, format_id)] = (chunk, size + 1)
                request = AssetRequest(product=entry.spec, brand=kit.id, format=format_id, variant=variant,
                                       seed=options.seed, model=options.model, steps=options.steps)
                items.append(Item(len(items), entry.row, format_id, variant, entry.sku, chunk, "pending",
                                  note=entry.note))
                jobs.append(Job((entry.row, format_id, variant), request, kit, chunk, options.keep_plates))
    return items, jobs


def _checked_row(entry: CatalogueRow, kit: BrandKit, options: BatchOptions) -> tuple[BrandKit | None, str]:
    """The row as any request is checked (marks for its brand, locale and category), before any work.

    Its image is left to the row's own asset: a batch of thousands would decode every image twice.
    """
    from adgen.validation import validate_request

    try:
        validate_request([entry.spec], kit, options.formats, options.variants, product_field="",
                         open_images=False)
    except InputError as exc:
        return None, str(InputError(exc.reason, row=entry.row, field=exc.field, value=exc.value))
    return kit, ""


def _chunks(jobs: list[Job], pending: set) -> list[tuple[list[Job], set]]:
    """Micro-batches holding a pending job, whole (their composition fixes their pixels), in plan order."""
    by_chunk: dict[int, list[Job]] = {}
    for job in jobs:
        by_chunk.setdefault(job.chunk, []).append(job)
    return [(members, {job.key for job in members} & pending) for members in by_chunk.values()
            if any(job.key in pending for job in members)]


def _engine(options: BatchOptions):
    workers = default_workers() if options.workers is None else options.workers
    if options.engine == "ray":
        from adgen.engines.ray import run_ray

        return lambda chunks, out, record: run_ray(chunks, out, record, workers=max(1, workers),
                                                   cpu_threads=options.cpu_threads, address=options.ray_address)
    from adgen.engines.local import run_local

    return lambda chunks, out, record: run_local(chunks, out, record, workers=workers, cpu_threads=options.cpu_threads)


def default_workers() -> int:
    """Finishing processes when none are asked for: one per usable CPU core, one per 2 GiB of memory.

    Finishing (compose, OCR checks, signing) is CPU work of ~1-2 s an asset, so a GPU that renders
    plates in tens of ms needs every core finishing; a worker held ~0.7 GiB when it still imported torch
    (now OCR and nudenet models, fonts and the pipeline's imports), hence the memory cap. On 2 cores this gives 2, the best count measured there (bench batch).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # not POSIX: no cap
        memory_gib = float("inf")
    return max(1, min(cores, int(memory_gib // 2)))


class _BrandKits:
    """The kit for each row: --brand for all, else the row's brand by kit id or display name."""

    def __init__(self, brand: str | None):
        self.fixed = load_brand(brand) if brand else None
        self.loaded: dict[str, BrandKit] = {}

    def for_row(self, entry: CatalogueRow) -> tuple[BrandKit | None, str]:
        if self.fixed is not None:
            return self.fixed, ""
        if not entry.brand:
            return None, f"row {entry.row}, field 'brand': no brand kit (pass --brand or add a brand column)"
        if not self.loaded:
            for brand_id in list_brand_ids():
                kit = load_brand(brand_id)
                self.loaded[kit.id.lower()] = self.loaded[kit.name.lower()] = kit
        kit = self.loaded.get(entry.brand.strip().lower())
        if kit is None:
            known = ", ".join(sorted({k.id for k in self.loaded.values()})) or "none"
            return None, f"row {entry.row}, field 'brand': unknown brand kit (known: {known}) (got {entry.brand!r})"
        return kit, ""


def _fingerprint(options: BatchOptions) -> str:
    """What decides the plan and the pixels; engine and workers do not, so a resume may change them."""
    digest = hashlib.sha256(options.catalogue.read_bytes())
    decisive = {key: value for key, value in asdict(options).items()
                if key not in ("catalogue", "out", "resume", "engine", "workers", "ray_address")}
    digest.update(json.dumps(decisive, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _remove_stale_temp_files(out: Path) -> None:
    """A killed run can leave temp files (.<name>.<pid>.tmp: assets, manifest, fetched images) behind."""
    for pattern in ("*/.*.tmp", ".*.tmp", f"{STATE_DIR}/images/.*.tmp"):
        for temp in out.glob(pattern):
            temp.unlink(missing_ok=True)


def _manifest_row(item: Item) -> ManifestRow:
    note = f"note: {item.note}" if item.note else ""
    if item.status == "pending":
        note = "not made yet (run again with --resume)"
    return ManifestRow(row=item.row, sku=item.sku, format=item.format, variant=item.variant or "",
                       status="ok" if item.status == "done" else "error", verdict=item.verdict,
                       path=item.path, report=item.report, error=item.error or note)

