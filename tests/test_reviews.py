"""Review states, roles, four-eyes and the audit log on the real SQLite store (no HTTP: see test_review_live.py)."""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest
from PIL import Image

from adgen.apikeys import authenticate, create_key, list_keys
from adgen.brand import ReviewPolicy
from adgen.errors import InputError
from adgen.service.reviews import Decision, ReviewConflict, ReviewForbidden, ReviewStore
from adgen.service.store import JobStore
from adgen.service_db import service_db_path
from adgen.settings import adgen_home



def policy(**changes):
    return lambda brand: ReviewPolicy(**changes)


@pytest.fixture
def made(tmp_path):
    """A creator's job with one recorded asset (verdict warn), and a reviewer and an admin of the same tenant."""
    db = service_db_path()
    creator, _ = create_key(["northwind"], "shop")
    reviewer, _ = create_key(["northwind"], "shop", role="reviewer")
    admin, _ = create_key(["*"], "shop", role="admin")
    store = JobStore(db)
    job, _ = store.create("job_1", tenant="shop", key_id=creator.id, brand="northwind", request={}, body_sha256="x",
                          idempotency_key=None, callback_url=None, total=1, max_queued=10, max_queued_per_tenant=10)
    image = tmp_path / "a.png"
    Image.new("RGB", (8, 8), "navy").save(image)
    asset = store.record_asset(job.id, 0, "SKU", "ig-square", 1, verdict="warn", image_path=image, report={},
                               seconds=0.1)
    return ReviewStore(db), asset.id, creator, reviewer, admin


def test_an_asset_starts_pending_and_a_reviewer_approves_it_once(made):
    reviews, asset_id, creator, reviewer, _ = made
    assert reviews.get(asset_id, "shop").state == "pending"
    assert reviews.get(asset_id, "other-tenant") is None
    decision = Decision("approved", comment="the warning is a tolerable contrast", expected_state="pending")
    review, replayed = reviews.decide(asset_id, reviewer, decision, policy())
    assert (review.state, review.version, review.reviewer_key, replayed) == ("approved", 2, reviewer.id, False)
    again, replayed = reviews.decide(asset_id, reviewer, decision, policy())  # a retry: the same answer
    assert (again, replayed) == (review, True)
    with pytest.raises(ReviewConflict) as stale:  # another reviewer on the pending view
        reviews.decide(asset_id, made[4], Decision("rejected", reasons=("legal",), expected_state="pending"), policy())
    assert stale.value.current.state == "approved"


@pytest.mark.parametrize("case, key_index, decision, rules, refusal", [
    ("a creator cannot decide", 2, Decision("rejected", reasons=("copy",)), {}, ReviewForbidden),
    ("four-eyes: the generating key", 2, Decision("approved", comment="ok"), {}, ReviewForbidden),
    ("a warn needs a comment", 3, Decision("approved"), {}, InputError),
    ("a rejection needs a reason", 3, Decision("rejected"), {}, InputError),
    ("an unknown reason", 3, Decision("rejected", reasons=("ugly",)), {}, InputError),
    ("an unknown decision", 3, Decision("published"), {}, InputError),
    ("a stale version", 3, Decision("approved", comment="ok", expected_version=7), {}, ReviewConflict),
])
def test_refusals(made, case, key_index, decision, rules, refusal):
    reviews, asset_id = made[0], made[1]
    with pytest.raises(refusal):
        reviews.decide(asset_id, made[key_index], decision, policy(**rules))
    assert reviews.get(asset_id, "shop").state == "pending", case


def test_four_eyes_binds_a_reviewer_who_generated_and_can_be_turned_off(made, tmp_path):
    reviews, asset_id, _, reviewer, _ = made
    store = JobStore(service_db_path())
    store.create("job_2", tenant="shop", key_id=reviewer.id, brand="northwind", request={}, body_sha256="y",
                 idempotency_key=None, callback_url=None, total=1, max_queued=10, max_queued_per_tenant=10)
    image = tmp_path / "b.png"
    Image.new("RGB", (8, 8), "red").save(image)
    own = store.record_asset("job_2", 0, "SKU", "ig-square", 1, verdict="pass", image_path=image, report={},
                             seconds=0.1)
    with pytest.raises(ReviewForbidden) as refused:
        reviews.decide(own.id, reviewer, Decision("approved"), policy())
    assert refused.value.code == "four_eyes"
    assert reviews.decide(own.id, reviewer, Decision("approved"), policy(four_eyes=False))[0].state == "approved"


def test_a_fail_cannot_be_approved_unless_the_brand_allows_it_and_rejected_is_final(made, tmp_path):
    reviews, _, creator, reviewer, admin = made
    store = JobStore(service_db_path())
    image = tmp_path / "c.png"
    Image.new("RGB", (8, 8), "red").save(image)
    failing = store.record_asset("job_1", 1, "SKU2", "ig-square", 1, verdict="fail", image_path=image, report={},
                                 seconds=0.1)
    with pytest.raises(InputError, match="fail cannot be approved"):
        reviews.decide(failing.id, reviewer, Decision("approved", comment="fine"), policy())
    assert reviews.decide(failing.id, reviewer, Decision("rejected", reasons=("legal",)), policy())[0].state == "rejected"
    with pytest.raises(ReviewConflict, match="rejected; it cannot become approved"):
        reviews.decide(failing.id, admin, Decision("approved", comment="fine"), policy(approve_fail=True))


def test_the_audit_log_tells_the_story_and_cannot_be_rewritten(made):
    reviews, asset_id, creator, reviewer, _ = made
    reviews.decide(asset_id, reviewer, Decision("changes_requested", reasons=("off_brand_colour",),
                                                comment="the amber is too orange"), policy())
    reviews.decide(asset_id, reviewer, Decision("approved", comment="fixed", expected_state="changes_requested"),
                   policy())
    log = reviews.audit("shop")
    story = [(e["event"], e["actor_key"], e["from_state"], e["to_state"]) for e in log]
    assert story == [("job.created", creator.id, None, None), ("asset.generated", creator.id, None, "pending"),
                     ("asset.reviewed", reviewer.id, "pending", "changes_requested"),
                     ("asset.reviewed", reviewer.id, "changes_requested", "approved")]
    assert log[2]["reasons"] == "off_brand_colour" and len(log[1]["digest"]) == 64
    assert reviews.audit("other-tenant") == []
    conn = sqlite3.connect(service_db_path())
    for statement in ("UPDATE audit_log SET actor_key = 'someone'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    conn.close()
    assert len(reviews.audit("shop")) == 4


def test_keys_have_roles_and_an_older_store_is_migrated_to_creators():
    db = service_db_path()
    adgen_home().mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db)  # the table as the release before roles made it, with one key in it
    conn.execute("CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, brands TEXT NOT NULL,"
                 " key_sha256 TEXT NOT NULL, webhook_secret TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL)")
    conn.execute("INSERT INTO api_keys VALUES ('old', 'shop', '[\"northwind\"]', 'h', 's', 1.0, NULL)")
    conn.commit()
    conn.close()
    assert [k.role for k in list_keys()] == ["creator"]
    record, plaintext = create_key(["northwind"], "shop", role="reviewer")
    assert authenticate(plaintext).role == "reviewer" and authenticate(plaintext).may_decide
    with pytest.raises(InputError, match="role"):
        create_key(["northwind"], "shop", role="owner")
    from typer.testing import CliRunner

    from adgen.cli import app

    made = CliRunner().invoke(app, ["keys", "create", "--brands", "northwind", "--name", "shop", "--role", "admin"])
    assert made.exit_code == 0 and "role:           admin" in made.output, made.output
    assert authenticate(made.output.strip().splitlines()[-1]).role == "admin"


def test_review_cli_lists_decides_and_exports_the_audit_log(made):
    from typer.testing import CliRunner

    from adgen.cli import app

    _, asset_id, creator, reviewer, admin = made
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list", "--key-id", reviewer.id, "--state", "pending"])
    assert listed.exit_code == 0 and asset_id in listed.output, listed.output
    bare = runner.invoke(app, ["review", "approve", asset_id, "--reviewer", reviewer.id])  # a warn: no comment
    assert isinstance(bare.exception, InputError) and bare.exception.field == "comment"
    by_creator = runner.invoke(app, ["review", "reject", asset_id, "--key-id", creator.id, "--reason", "copy"])
    assert isinstance(by_creator.exception, InputError) and "creator key cannot decide" in str(by_creator.exception)
    approved = runner.invoke(app, ["review", "approve", asset_id, "--reviewer", reviewer.id, "--comment", "fine"])
    assert approved.exit_code == 0 and "approved by " + reviewer.id in approved.output, approved.output
    withdrawn = runner.invoke(app, ["review", "reject", asset_id, "--key-id", admin.id, "--reason", "legal",
                                    "--comment", "claim not cleared"])
    assert withdrawn.exit_code == 0, withdrawn.output
    exported = runner.invoke(app, ["review", "audit", "--key-id", admin.id, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert [(r["event"], r["from_state"], r["to_state"], r["actor_key"]) for r in rows][2:] == [
        ("asset.reviewed", "pending", "approved", reviewer.id), ("asset.reviewed", "approved", "rejected", admin.id)]
    assert rows[3]["reasons"] == "legal" and rows[3]["comment"] == "claim not cleared"

    story = runner.invoke(app, ["review", "audit", "--key-id", admin.id, "--format", "text"]).output.splitlines()
    assert len(story) == 4 and story[0].endswith(f"Creator key {creator.id} (shop) asked for job job_1 in brand "
                                                 "northwind.")
    assert f"Asset {asset_id} (" in story[1] and "compliance warn" in story[1]
    assert story[1].endswith("It waits for review.")
    assert f"Reviewer key {reviewer.id} (shop) approved asset {asset_id} (" in story[2]
    assert "which was pending: compliance warn" in story[2] and story[2].endswith(" Comment: \u201cfine\u201d")
    assert f"Admin key {admin.id} (shop) rejected asset {asset_id} (" in story[3] and "which was approved" in story[3]
    assert story[3].endswith("Reasons: legal. Comment: \u201cclaim not cleared\u201d")


def test_the_csv_export_does_not_run_a_comment_as_a_formula_and_keeps_to_the_keys_brands(made):
    from adgen.service import audit

    reviews, asset_id, creator, reviewer, admin = made
    reviews.decide(asset_id, reviewer, Decision("approved", comment='=HYPERLINK("http://evil.example","ok")'),
                   policy())
    JobStore(service_db_path()).create("job_s", tenant="shop", key_id=creator.id, brand="sakura", request={},
                                       body_sha256="s", idempotency_key=None, callback_url=None, total=1,
                                       max_queued=10, max_queued_per_tenant=10)
    rows = list(csv.DictReader(io.StringIO(audit.export(reviews.audit("shop", reviewer.brands), "csv"))))
    assert rows[-1]["comment"] == '\'=HYPERLINK("http://evil.example","ok")'
    assert {r["brand"] for r in rows} == {"northwind"}  # the reviewer's key is for northwind only
    assert "sakura" in {e["brand"] for e in reviews.audit("shop", admin.brands)}  # the admin's is for every brand
    assert reviews.audit("shop", reviewer.brands)[-1]["comment"].startswith("=")  # JSON keeps the text as written
