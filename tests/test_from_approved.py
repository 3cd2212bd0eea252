"""Learning from decisions: the worker keeps each asset's plate and prompt; `adgen lora train --from-approved`
trains on approved plates (prompts as captions) and `adgen lora eval` reports the palette distance on approved
plates and on the off-brand-colour rejects (the negatives)."""

from __future__ import annotations

import json
import threading

from api_helpers import product
from typer.testing import CliRunner

from adgen import lora_registry as registry
from adgen.apikeys import create_key
from adgen.cli import app
from adgen.service.reviews import Decision, ReviewStore
from adgen.service.store import JobStore
from adgen.service.worker import JobRunner
from adgen.service_db import service_db_path
from adgen.settings import adgen_home
from adgen.training.style_set import render_style_set

NORTHWIND = {"primary": "#1B2A41", "accent": "#F2A541", "background": "#F7F3E9"}
OFF_BRAND = {"red": "#D0202A", "green": "#2FA84F", "purple": "#7B2FBE"}


def queued_job(store: JobStore, job_id: str, products: list[dict], key) -> object:
    request = {"products": products, "formats": ["iab-300x250"], "variants": 1, "seed": 1, "cutout": True}
    job, _ = store.create(job_id, tenant=key.tenant, key_id=key.id, brand="northwind", request=request,
                          body_sha256=job_id, idempotency_key=None, callback_url=None, total=len(products),
                          max_queued=100, max_queued_per_tenant=100)
    return job


def test_the_worker_keeps_each_assets_plate_and_its_prompt(sd15_dir):
    creator, _ = create_key(["northwind"], "shop")
    store = JobStore(service_db_path())
    job = queued_job(store, "job_plates", [product()], creator)
    events = []
    JobRunner(store, jobs_dir=adgen_home() / "jobs", model=str(sd15_dir), steps=1, stop=threading.Event(),
              emit=events.append).run_job(job)
    [asset] = store.assets(job.id)
    assert ("finished", job.id) in events and store.get(job.id).status == "done"
    plate = adgen_home() / "jobs" / job.id / "out" / "NW-CB-001" / "iab-300x250-v1.plate.png"
    assert asset.plate_path == str(plate) and plate.is_file()
    recipe = json.loads(plate.with_name("iab-300x250-v1.report.json").read_text())["recipe"]
    assert plate.with_suffix(".txt").read_text().strip() == recipe["prompt"]


def test_train_from_approved_plates_and_eval_on_approved_and_negatives(sd15_dir, tmp_path):
    creator, _ = create_key(["northwind"], "shop")
    reviewer, _ = create_key(["northwind"], "shop", role="reviewer")
    plates = render_style_set(NORTHWIND, tmp_path / "approved", trigger="x", count=14, size=64, seed=3)
    rejects = render_style_set(OFF_BRAND, tmp_path / "rejected", trigger="x", count=4, size=64, seed=4)
    store, reviews = JobStore(service_db_path()), ReviewStore(service_db_path())
    made = plates + rejects
    job = queued_job(store, "job_decided", [product(sku=f"S{i}") for i in range(len(made))], creator)
    for i, plate in enumerate(made):
        plate.with_suffix(".txt").write_text(f"studio backdrop number {i}, warm light\n")
        asset = store.record_asset(job.id, i, f"S{i}", "iab-300x250", 1, verdict="pass", image_path=plate,
                                   report={}, seconds=0.1, plate_path=plate)
        if i < len(plates):
            decision = Decision("approved", expected_state="pending")
        else:  # three off-brand colour rejects (the negatives) and one rejected for its copy (not a negative)
            decision = Decision("rejected", reasons=("copy",) if i == len(made) - 1 else ("off_brand_colour",),
                                expected_state="pending")
        reviews.decide(asset.id, reviewer, decision)
    runner = CliRunner()
    trained = runner.invoke(app, ["lora", "train", "--brand", "northwind", "--from-approved", "--tenant", "shop",
                                  "--steps", "2", "--base", str(sd15_dir)])
    assert trained.exit_code == 0, trained.output
    assert "14 approved plates, 3 off-brand-colour negatives" in trained.output
    version = registry.get_version("northwind", 1, "shop")
    data = version.info["training_data"]
    assert (data["source"], data["images"], data["train_images"], data["negatives"]) == ("approved", 14, 12, 3)
    # The recipes' prompts after the trigger (the trainer leads every caption with it), not the fallback caption.
    captions = [row["caption"] for row in version.info["data"]]
    assert len(captions) == 12 and all(c.startswith("northwind style, studio backdrop number ") for c in captions), captions
    evaluated = runner.invoke(app, ["lora", "eval", "--brand", "northwind", "--tenant", "shop", "--base",
                                    str(sd15_dir), "--steps", "1", "--seeds", "0,1", "--prompts", "1"],
                              env={"COLUMNS": "220"})
    assert evaluated.exit_code == 0, evaluated.output
    assert "ΔE00 to negatives" in evaluated.output and "rejected off-brand-colour" in evaluated.output
    figures = registry.get_version("northwind", 1, "shop").info["eval"]
    assert figures["data"]["negative_images"] == 3 and figures["data"]["held_out_images"] == 2
    # The reviewers' rejects are further from the palette than what they approved.
    assert figures["data"]["negative_palette_de00"] > figures["data"]["approved_palette_de00"] + 10
    adapter = figures["conditions"]["adapter"]
    assert adapter["to_approved_de00"] > 0 and adapter["to_negatives_de00"] > 0
    assert (version.path / "eval_grid.png").is_file()
