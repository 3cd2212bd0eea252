"""A CSV batch under review: `adgen batch --require-approval` and `adgen batch-export-approved`.

submit() records a batch's assets in ADGEN_HOME's service store as a done job per brand, made
by the given key: each asset gets its review row (pending) and its audit entries, exactly as an
asset the service's worker made, so the same queue (`adgen review`, GET /v1/reviews, the app's
Review tab) and the same rules decide on it. The job is found again by the batch's folder
(an idempotency key), so a --resume adds to it instead of making a second one.

export_approved() copies the approved ones, and only those, out of the batch: each re-signed with
its approval in the C2PA manifest (reviews.approved_export, as the HTTP approved download), each
audited as taken by the exporting key, with an approved.csv saying who approved what and when. A
file whose bytes are no longer those the reviewer approved is refused, not exported.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from adgen.errors import InputError, NotFoundError
from adgen.service.reviews import ReviewStore, approved_export
from adgen.service.store import JobStore
from adgen.service_db import connect, service_db_path

MANIFEST = "approved.csv"


@dataclass(frozen=True)
class Exported:
    """What export_approved did: the files written, and (asset id, state or problem) of those it left out."""

    files: tuple[Path, ...]
    left_out: tuple[tuple[str, str], ...]
    manifest: Path


def submit(out: Path, done: list[tuple[Path, Path]], key_id: str, *, fingerprint: str = "") -> list[str]:
    """Record a batch's made assets ((image, report.json) under out) as pending review, made by key_id; their ids."""
    db = service_db_path()
    key = live_key(key_id, db)
    by_brand: dict[str, list[tuple[Path, dict]]] = {}
    for image, report_path in done:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        by_brand.setdefault(report["recipe"]["brand"], []).append((image, report))
    for brand in by_brand:
        if not key.may_use(brand):
            raise InputError(f"this API key is not scoped to brand {brand}", field="--key-id", value=key_id)
    store, ids = JobStore(db), []
    for brand, assets in sorted(by_brand.items()):
        job = _job(store, out, brand, key, len(assets), fingerprint)
        for position, (image, report) in enumerate(assets):
            recipe = report["recipe"]
            findings = {name: report.get(name) for name in ("verdict", "findings", "attempts")}
            ids.append(store.record_asset(job.id, position, recipe["product"]["sku"], recipe["format"],
                                          recipe["variant"], verdict=report["verdict"], image_path=image.resolve(),
                                          report=findings, seconds=0.0, plate_path=_kept_plate(image)).id)
    return ids


def _kept_plate(image: Path) -> Path | None:
    """The plate the batch kept beside the asset (adgen.export.keep_plate), if it did."""
    plate = image.with_name(f"{image.stem}.plate.png")
    return plate.resolve() if plate.is_file() else None


def export_approved(out: Path, to: Path, key_id: str) -> Exported:
    """Copy the batch's approved assets to `to` (<sku>/<format>-v<k>.<ext>), re-signed with their approval."""
    from adgen.signing import load_or_init_signer

    db = service_db_path()
    key = live_key(key_id, db)
    jobs, reviews = JobStore(db), ReviewStore(db)
    job_ids = _batch_jobs(db, out, key.tenant)
    if not job_ids:
        raise NotFoundError("no batch made with --require-approval in this folder for this key's tenant",
                            field="OUT", value=str(out))
    signer, files, left_out, rows = None, [], [], []
    for asset in (a for job_id in job_ids for a in jobs.assets(job_id)):
        review = reviews.get(asset.id, key.tenant)
        if review is None or not key.may_use(review.brand):
            continue
        if review.state != "approved":
            left_out.append((asset.id, review.state))
            continue
        source = Path(asset.image_path)
        if not source.is_file() or hashlib.sha256(source.read_bytes()).hexdigest() != review.sha256:
            left_out.append((asset.id, "changed since it was approved"))
            continue
        signer = signer or load_or_init_signer()
        signed = approved_export(asset, review, signer)
        target = to / asset.sku / f"{asset.format}-v{asset.variant}{source.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(signed, target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        reviews.record_export(review, key, digest)
        files.append(target)
        rows.append({"asset_id": asset.id, "path": target.relative_to(to).as_posix(), "sku": asset.sku,
                     "format": asset.format, "variant": asset.variant, "verdict": review.verdict,
                     "approved_by": review.reviewer_key, "approved_at": time.strftime(
                         "%Y-%m-%dT%H:%M:%SZ", time.gmtime(review.decided_at)), "comment": review.comment or "",
                     "sha256": digest})
    to.mkdir(parents=True, exist_ok=True)
    manifest = to / MANIFEST
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=("asset_id", "path", "sku", "format", "variant", "verdict",
                                                    "approved_by", "approved_at", "comment", "sha256"))
        writer.writeheader()
        writer.writerows(rows)
    return Exported(tuple(files), tuple(left_out), manifest)


def live_key(key_id: str, db: Path):
    """The live API key of ADGEN_HOME with this id; NotFoundError naming --key-id otherwise."""
    from adgen.apikeys import ensure_schema, get_key

    ensure_schema(db)
    key = get_key(key_id, db=db)
    if key is None or key.revoked_at is not None:
        raise NotFoundError("no such live API key (adgen keys list)", field="--key-id", value=key_id)
    return key


def _batch_key(out: Path) -> str:
    """The idempotency-key prefix of a batch folder's jobs (one per brand)."""
    return "batch:" + hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:24] + ":"


def _job(store: JobStore, out: Path, brand: str, key, total: int, fingerprint: str):
    """The batch folder's job for this brand: made now (done: the worker never takes it), or the one made before."""
    idempotency = _batch_key(out) + brand
    body = hashlib.sha256(idempotency.encode()).hexdigest()
    found = store.find_idempotent(key.tenant, idempotency, body)
    if found is not None:
        return found
    request = {"source": "adgen batch", "out": str(out.resolve()), "fingerprint": fingerprint, "products": [],
               "formats": [], "variants": 0}
    job, _ = store.create(store.new_id(), tenant=key.tenant, key_id=key.id, brand=brand, request=request,
                          body_sha256=body, idempotency_key=idempotency, callback_url=None, total=total,
                          max_queued=1 << 30, max_queued_per_tenant=1 << 30, status="done")
    return job


def _batch_jobs(db: Path, out: Path, tenant: str) -> list[str]:
    with connect(db, write=False) as conn:
        rows = conn.execute("SELECT id FROM jobs WHERE tenant = ? AND substr(idempotency_key, 1, ?) = ?"
                            " ORDER BY created_at", (tenant, len(_batch_key(out)), _batch_key(out))).fetchall()
    return [row[0] for row in rows]
