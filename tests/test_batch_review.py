"""A catalogue batch under review: `adgen batch --require-approval` records its assets pending in ADGEN_HOME's
review queue, reviewers decide with `adgen review`, and `adgen batch-export-approved` exports the approved
ones only, re-signed with their approval, refusing a file changed since it was approved.

The batch runs as a real process (the tiny SD 1.5 at one step); the review and export commands in-process.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from adgen.apikeys import create_key
from adgen.cli import app
from adgen.errors import NotFoundError
from adgen.provenance import verify_provenance
from adgen.service.batch_reviews import submit
from adgen.service.reviews import ReviewStore
from adgen.service_db import service_db_path
from adgen.settings import adgen_home
from adgen.signing import CA_FILE
from conftest import REPO

FORMAT = "iab-320x50"  # the smallest canvas: compose and checks stay quick


def adgen(*args, check_code: int | None = 0) -> subprocess.CompletedProcess:
    """`python -m adgen ...` from the repo, in ADGEN_HOME of this test."""
    done = subprocess.run([sys.executable, "-m", "adgen", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200"})
    if check_code is not None:
        assert done.returncode == check_code, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def cli(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def batch(tmp_path, sd15_dir, monkeypatch):
    """A batch of one product in three variants, made with --require-approval by the creator's key; the brand
    may approve a failing verdict (the tiny model's banners may fail a rule)."""
    kits = tmp_path / "kits"
    shutil.copytree(REPO / "brand_kits" / "northwind", kits / "northwind")
    with open(kits / "northwind" / "brand.yaml", "a") as kit:
        kit.write("review: {approve_fail: true, warn_needs_comment: false}\n")
    monkeypatch.setenv("ADGEN_BRAND_KITS", str(kits))
    creator, _ = create_key(["northwind"], "shop")
    reviewer, _ = create_key(["northwind"], "shop", role="reviewer")
    shutil.copy(REPO / "examples" / "images" / "matcha-can.png", tmp_path / "can.png")
    (tmp_path / "products.csv").write_text("sku,name,headline,price,brand,product_image\n"
                                           "A-1,Alpha Brew,Cold brew for busy mornings,4.50,northwind,can.png\n",
                                           encoding="utf-8")
    out = tmp_path / "out"
    done = adgen("batch", tmp_path / "products.csv", "--out", out, "--model", sd15_dir, "--steps", "1", "--format",
                 FORMAT, "--variants", "3", "--workers", "0", "--require-approval", "--key-id", creator.id,
                 check_code=None)
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 asset(s) pending review" in done.stdout
    return out, creator, reviewer


def test_require_approval_then_export_only_the_approved(batch, tmp_path):
    out, creator, reviewer = batch
    store = ReviewStore(service_db_path())
    queue = store.list("shop")
    assert [(r.state, r.generated_by, r.brand) for r in queue] == [("pending", creator.id, "northwind")] * 3
    first, second, third = (r.asset_id for r in queue)
    # Each plate is kept beside its asset and recorded, for `adgen lora train --from-approved`.
    from adgen.service.store import JobStore

    kept = JobStore(service_db_path()).get_asset(first, "shop").plate_path
    assert kept and Path(kept).is_file() and Path(kept).with_suffix(".txt").read_text().strip()
    approved = cli("review", "approve", first, "--reviewer", reviewer.id, "--comment", "on brand")
    assert approved.exit_code == 0, approved.output
    # The approved copy is in the brand's copy history of the key's tenant; the rejected one's is not.
    from adgen.knowledge import KnowledgeBase

    history = [s for s in KnowledgeBase("shop", "northwind").sources() if s.get("kind") == "copy-history"]
    assert [s["source"] for s in history] == [f"approved-{first}.txt"], history
    assert cli("review", "reject", second, "--reviewer", reviewer.id, "--reason", "off_brand_colour").exit_code == 0

    to = tmp_path / "publish"
    exported = cli("batch-export-approved", out, "--to", to, "--key-id", creator.id)
    assert exported.exit_code == 0, exported.output
    assert "exported 1 approved" in exported.output and "1 rejected" in exported.output
    assert "1 pending" in exported.output
    files = sorted(p.relative_to(to).as_posix() for p in to.rglob("*") if p.is_file())
    assert files == ["A-1/iab-320x50-v1.jpg", "approved.csv"] or files == ["A-1/iab-320x50-v1.png", "approved.csv"]
    shipped = to / files[0]
    [row] = list(csv.DictReader((to / "approved.csv").open(encoding="utf-8")))
    assert (row["asset_id"], row["approved_by"], row["comment"]) == (first, reviewer.id, "on brand")
    assert row["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()
    source = out / "A-1" / f"{FORMAT}-v1{shipped.suffix}"
    with Image.open(shipped) as mine, Image.open(source) as made:
        assert mine.tobytes() == made.tobytes()  # the same pixels, re-signed with the approval
    signed = verify_provenance(shipped.read_bytes(), "png" if shipped.suffix == ".png" else "jpeg",
                               trust_anchors=adgen_home() / "keys" / CA_FILE)
    assert signed.c2pa_state == "Trusted", signed.c2pa_message
    assert signed.approval["reviewer"]["key_id"] == reviewer.id and signed.approval["asset_id"] == first

    log = store.audit("shop")
    assert [(e["event"], e["actor_key"], e["to_state"]) for e in log] == [
        ("job.created", creator.id, None), *[("asset.generated", creator.id, "pending")] * 3,
        ("asset.reviewed", reviewer.id, "approved"), ("asset.reviewed", reviewer.id, "rejected"),
        ("asset.exported", creator.id, "approved")]
    assert log[-1]["digest"] == row["sha256"]

    # Recording the same batch again (a --resume) adds nothing: the same job, the same three reviews.
    made = [(out / "A-1" / f"{FORMAT}-v{k}{shipped.suffix}", out / "A-1" / f"{FORMAT}-v{k}.report.json")
            for k in (1, 2, 3)]
    assert submit(out, made, creator.id) == [first, second, third]
    assert len(store.audit("shop")) == len(log)

    # An approved file changed on disk afterwards is refused, not exported with an approval it never got.
    source.write_bytes(source.read_bytes() + b"\0")
    again = cli("batch-export-approved", out, "--to", tmp_path / "again", "--key-id", creator.id)
    assert again.exit_code == 1 and first in again.output and "changed" in again.output
    assert not (tmp_path / "again" / "A-1").exists()
    assert store.get(third, "shop").state == "pending"


def test_require_approval_needs_a_live_key_before_any_work(tmp_path):
    (tmp_path / "products.csv").write_text("sku,name\nA-1,Alpha\n", encoding="utf-8")
    sakura_only, _ = create_key(["sakura"], "shop")
    for extra in ([], ["--key-id", "nosuchkey"], ["--key-id", sakura_only.id, "--brand", "northwind"]):
        done = adgen("batch", tmp_path / "products.csv", "--out", tmp_path / "out", "--require-approval", *extra,
                     check_code=2)
        assert "--key-id" in done.stdout + done.stderr
    assert not (tmp_path / "out").exists()


def test_batch_export_approved_needs_only_the_folder_to_and_key(tmp_path):
    """On a folder no --require-approval batch was made in: an error naming OUT (no export, no manifest)."""
    creator, _ = create_key(["northwind"], "shop")
    done = cli("batch-export-approved", tmp_path / "out", "--to", tmp_path / "to", "--key-id", creator.id)
    assert isinstance(done.exception, NotFoundError) and done.exception.field == "OUT", done.output
    assert not (tmp_path / "to").exists()
