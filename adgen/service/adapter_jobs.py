"""Adapter training as a service job (POST /v1/brands/{brand}/adapters), run by the job worker.

The job is a row of the jobs table like any other (idempotency, queue limits, restarts and the
job.done / job.failed webhook are the same); its request says kind "adapter". The worker
trains a new registry version for the job's tenant on the kit's style images or on the
tenant's approved plates (adgen.service.approved_set), evaluates it against the version active
now, and records the version's document as the job's result. Progress counts PHASES.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import replace
from pathlib import Path

from adgen.errors import AdgenError

log = logging.getLogger("adgen.worker")
PHASES = ("prepare", "train", "evaluate", "record")
SOURCES = ("style", "approved")
EVAL_PROMPTS = 2   # held-out prompts x EVAL_SEEDS per condition: enough to decide, cheap enough for a job
EVAL_SEEDS = (0, 1)


def run_adapter_job(runner, job) -> None:
    """Train, evaluate and record one version; the job ends done (result: the version) or failed."""
    try:
        result = _train_and_evaluate(runner, job)
    except AdgenError as exc:
        runner.store.finish(job.id, "failed", exc.reason, exc.field)
        return runner.emit(("finished", job.id))
    except Exception as exc:  # a bug must not wedge the queue: fail this job, keep serving
        log.exception("adapter job %s failed", job.id)
        runner.store.finish(job.id, "failed", f"internal error: {type(exc).__name__}")
        return runner.emit(("finished", job.id))
    runner.store.set_progress(job.id, len(PHASES))
    runner.store.finish(job.id, "done", result=result)
    runner.emit(("finished", job.id))


def _train_and_evaluate(runner, job) -> dict:
    from adgen.brand import load_brand
    from adgen.generation import load_pipeline, model_fingerprint
    from adgen.lora_registry import active, comparable, update_info
    from adgen.request import DEFAULT_MODEL, model_defaults
    from adgen.service.approved_set import build_approved_set
    from adgen.training.adapter_eval import evaluate_version
    from adgen.training.adapter_versions import train_version
    from adgen.training.lora import LoraTrainConfig
    from adgen.training.lora_eval import HELD_OUT_PROMPTS

    request = job.request
    model = runner.model or DEFAULT_MODEL
    kit = load_brand(job.brand)
    pipe = load_pipeline(model)
    fingerprint = model_fingerprint(model)
    config = replace(LoraTrainConfig(), steps=request["steps"], rank=request["rank"], alpha=float(request["rank"]),
                     seed=request["seed"])
    with tempfile.TemporaryDirectory(prefix="adgen-approved-") as staging:
        if request["source"] == "approved":
            found = build_approved_set(job.brand, job.tenant, Path(staging), db=runner.store.db)
            images, negatives = found.images, found.negatives
        else:
            images, negatives = Path(kit.kit_dir) / "style", None
        runner.store.set_progress(job.id, 1)
        version = train_version(pipe, kit, images, tenant=job.tenant, config=config, base_model_sha256=fingerprint,
                                negatives_dir=negatives, source=request["source"])
    runner.store.set_progress(job.id, 2)
    steps, guidance = model_defaults(model)
    previous = comparable(active(kit.id, job.tenant), fingerprint)
    figures = evaluate_version(pipe, kit, version, previous, prompts=HELD_OUT_PROMPTS[:EVAL_PROMPTS],
                               seeds=EVAL_SEEDS, steps=runner.steps or steps, guidance=guidance)
    version = update_info(version, eval=figures)
    runner.store.set_progress(job.id, 3)
    return version_document(version, active(kit.id, job.tenant))


def version_document(version, current) -> dict:
    """A version as the API shows it: its record, its figures, and whether promote would take it."""
    from adgen.lora_registry import promotion_gate

    info = version.info
    return {"brand": version.brand, "version": version.version, "active": bool(current and current.version ==
                                                                               version.version),
            "parent": info.get("parent"), "created_at": info.get("created_at"),
            "base_model_sha256": info.get("base_model_sha256"), "trigger": info.get("trigger"),
            "rank": info.get("rank"), "steps": info.get("steps"), "final_loss": info.get("final_loss"),
            "training_data": info.get("training_data"), "eval": info.get("eval"),
            "promotable": None if current and current.version == version.version else
            {"ok": promotion_gate(version, current) is None, "reason": promotion_gate(version, current)},
            "grid_url": f"/v1/brands/{version.brand}/adapters/{version.version}/grid" if version.grid else None}
