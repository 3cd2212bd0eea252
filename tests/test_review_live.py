"""Review and approval over a real socket (tests/live_server.py): generate -> pending -> approved download,
four-eyes, two reviewers at once, a restart in the middle, and a rejected asset never served as approved.

Only the first test runs the worker (a tiny real SD 1.5 at one step); the others create the job over
HTTP and record its asset in the store as the worker would, so they cost no model.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import threading
import time

import httpx
import pytest
from api_helpers import REPO, Receiver, bearer, job_body, product, wait_for
from live_server import LiveApp
from PIL import Image

from adgen.apikeys import create_key
from adgen.provenance import verify_provenance
from adgen.service import ServiceSettings
from adgen.service.store import JobStore
from adgen.service_db import service_db_path
from adgen.settings import adgen_home
from adgen.signing import CA_FILE
from adgen.webhooks import SIGNATURE_HEADER, CallbackPolicy, verify

CALL = 60
HOOKS = CallbackPolicy(allowed_hosts=("127.0.0.1",), first_delay_s=0.05)


def settings(**overrides) -> ServiceSettings:
    return ServiceSettings(**{"home": adgen_home(), "run_worker": False, **overrides})


@pytest.fixture
def people():
    """One tenant: a creator, two reviewers and an admin, all for northwind (records, headers)."""
    made = {role: create_key(["northwind"], "shop", role=kind) for role, kind in
            (("creator", "creator"), ("ann", "reviewer"), ("bob", "reviewer"), ("admin", "admin"))}
    return {name: record for name, (record, _) in made.items()}, {name: bearer(p) for name, (_, p) in made.items()}


def made_asset(live: LiveApp, headers: dict, tmp_path, verdict: str = "pass", **job) -> str:
    """A job accepted over HTTP, its asset recorded as the worker records one; the asset id."""
    accepted = httpx.post(live.url + "/v1/jobs", headers=headers, json=job_body(**job), timeout=CALL)
    assert accepted.status_code == 202, accepted.text
    image = tmp_path / f"{accepted.json()['id']}.png"
    Image.new("RGB", (30, 25), "navy").save(image)
    asset = JobStore(service_db_path()).record_asset(accepted.json()["id"], 0, "NW-CB-001", "iab-300x250", 1,
                                                     verdict=verdict, image_path=image, report={}, seconds=0.1)
    return asset.id


def review(live: LiveApp, headers: dict, asset_id: str, decision: str, **body) -> httpx.Response:
    return httpx.post(f"{live.url}/v1/assets/{asset_id}/review", headers=headers, timeout=CALL,
                      json={"decision": decision, **body})


def test_generate_then_approve_then_download_approved(people, sd15_dir, tmp_path, monkeypatch):
    """The whole path, with the brand requiring review: creators get the bytes only once approved."""
    kits = tmp_path / "kits"
    shutil.copytree(REPO / "brand_kits" / "northwind", kits / "northwind")
    with open(kits / "northwind" / "brand.yaml", "a") as kit:
        kit.write("review: {required: true, approve_fail: true}\n")
    monkeypatch.setenv("ADGEN_BRAND_KITS", str(kits))
    records, keys = people
    receiver = Receiver()
    try:
        with LiveApp(settings(run_worker=True, model=str(sd15_dir), steps=1, callbacks=HOOKS)) as live, \
                httpx.Client(base_url=live.url, timeout=CALL) as client:
            accepted = client.post("/v1/jobs", headers=keys["creator"],
                                   json=job_body(products=[product(image=True)], callback_url=receiver.url)).json()
            job = wait_for(client, accepted["status_url"], keys["creator"],
                           lambda d: d["status"] in ("done", "failed"), timeout=300)
            assert job["status"] == "done", job
            asset = job["assets"][0]
            assert asset["review_state"] == "pending"
            queue = client.get("/v1/reviews", params={"state": "pending"}, headers=keys["ann"]).json()["reviews"]
            assert [(r["asset_id"], r["state"], r["generated_by"]) for r in queue] == [
                (asset["id"], "pending", records["creator"].id)]
            refused = client.get(asset["url"], headers=keys["creator"])  # review required: not yet
            assert refused.status_code == 409 and refused.json()["error"]["value"] == "pending"
            preview = client.get(asset["url"], headers=keys["ann"])  # a reviewer sees what she decides on
            assert preview.status_code == 200
            decided = review(live, keys["ann"], asset["id"], "approved", comment="on brand; warnings acceptable",
                             expected_state="pending")
            assert decided.status_code == 200, decided.text
            assert decided.json()["reviewer"] == {"key_id": records["ann"].id, "tenant": "shop"}
            job = client.get(accepted["status_url"], headers=keys["creator"]).json()
            assert job["assets"][0]["review_state"] == "approved"
            served = client.get(asset["url"], params={"approved": "true"}, headers=keys["creator"])
            assert served.status_code == 200 and served.headers["Cache-Control"] == "private, no-cache"
            assert hashlib.sha256(preview.content).hexdigest() == decided.json()["digest"]
            with Image.open(io.BytesIO(served.content)) as mine, Image.open(io.BytesIO(preview.content)) as made:
                assert mine.tobytes() == made.tobytes()  # the same pixels, re-signed with the approval
            signed = verify_provenance(served.content, "png" if "png" in served.headers["content-type"] else "jpeg",
                                       trust_anchors=adgen_home() / "keys" / CA_FILE)
            assert signed.c2pa_state == "Trusted", signed.c2pa_message
            assert signed.approval["reviewer"] == {"key_id": records["ann"].id, "tenant": "shop"}
            assert signed.approval["original_sha256"] == decided.json()["digest"]
            assert {r["rule"] for r in signed.approval["rules"]} == {f["rule"] for f in asset["report"]["findings"]}
            again = client.get(asset["url"], params={"approved": "true"}, headers=keys["creator"])
            assert again.content == served.content  # made once per approval
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(b'"asset.reviewed"' in body for _, body in receiver.calls):
                time.sleep(0.1)
            headers, body = next((h, b) for h, b in receiver.calls if b'"asset.reviewed"' in b)
            assert verify(body, headers[SIGNATURE_HEADER], records["creator"].webhook_secret)
            assert json.loads(body)["review"]["state"] == "approved"
            log = list(csv.DictReader(io.StringIO(client.get("/v1/audit", params={"format": "csv"},
                                                             headers=keys["admin"]).text)))
            assert [(e["event"], e["actor_key"], e["to_state"]) for e in log] == [
                ("job.created", records["creator"].id, ""), ("asset.generated", records["creator"].id, "pending"),
                ("asset.reviewed", records["ann"].id, "approved"),
                ("asset.exported", records["creator"].id, "approved")]  # taken twice, the same file: one entry
            assert log[2]["digest"] == decided.json()["digest"] and log[2]["comment"].startswith("on brand")
            assert log[3]["digest"] == hashlib.sha256(served.content).hexdigest()
            story = client.get("/v1/audit", params={"format": "text"}, headers=keys["ann"]).text.splitlines()
            assert story[-1].endswith(f"Creator key {records['creator'].id} (shop) took the approved export of asset "
                                      f"{asset['id']} (NW-CB-001, iab-300x250, variant 1): approved by key "
                                      f"{records['ann'].id} in review version 2, exported file sha256 "
                                      f"{log[3]['digest'][:16]}.")
    finally:
        receiver.close()


def test_four_eyes_and_roles(people, tmp_path):
    records, keys = people
    with LiveApp(settings()) as live:
        own = made_asset(live, keys["ann"], tmp_path)  # Ann generated this one
        creator = review(live, keys["creator"], own, "approved", expected_state="pending")
        assert creator.status_code == 403 and creator.json()["error"]["code"] == "role"
        refused = review(live, keys["ann"], own, "approved", expected_state="pending")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "four_eyes"
        assert review(live, keys["bob"], own, "approved", expected_state="pending").status_code == 200
        approved = httpx.get(f"{live.url}/v1/assets/{own}", params={"approved": "true"}, headers=keys["creator"],
                             timeout=CALL)  # an export with no manifest of its own is signed too
        assert approved.status_code == 200 and approved.headers["Adgen-Review"].endswith(f"by={records['bob'].id}")
        sakura_only, plaintext = create_key(["sakura"], "shop", role="reviewer")
        elsewhere = review(live, bearer(plaintext), own, "rejected", reasons=["legal"], expected_state="approved")
        assert elsewhere.status_code == 403 and elsewhere.json()["error"]["code"] == "forbidden"
        assert httpx.get(live.url + "/v1/reviews", headers=bearer(plaintext)).json() == {"reviews": []}
        assert 'adgen_assets_by_review{state="approved"} 1.0' in httpx.get(live.url + "/metrics").text
        assert httpx.get(live.url + "/v1/audit", headers=keys["creator"]).status_code == 403
        unlocked = review(live, keys["bob"], own, "rejected", reasons=["legal"])  # no expected state, no If-Match
        assert unlocked.status_code == 428


def test_two_reviewers_at_once_one_wins_one_gets_409(people, tmp_path):
    records, keys = people
    with LiveApp(settings()) as live:
        asset_id = made_asset(live, keys["creator"], tmp_path)
        start, answers = threading.Barrier(2), {}

        def decide(name, decision, reasons):
            start.wait()
            answers[name] = review(live, keys[name], asset_id, decision, reasons=reasons, expected_state="pending")

        threads = [threading.Thread(target=decide, args=("ann", "approved", [])),
                   threading.Thread(target=decide, args=("bob", "rejected", ["off_brand_colour"]))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(CALL)
        assert sorted(a.status_code for a in answers.values()) == [200, 409]
        winner = next(a for a in answers.values() if a.status_code == 200).json()
        loser = next(a for a in answers.values() if a.status_code == 409).json()["error"]
        assert loser["code"] == "review_conflict" and loser["value"] == winner["state"]
        assert winner["state"] in loser["message"]
        # The winner's retry is idempotent: the same answer, and no second audit entry.
        name = "ann" if winner["state"] == "approved" else "bob"
        retry = review(live, keys[name], asset_id, winner["state"], reasons=["off_brand_colour"],
                       expected_state="pending")
        assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json() == winner
        log = httpx.get(live.url + "/v1/audit", headers=keys["admin"]).json()
        assert [e["event"] for e in log].count("asset.reviewed") == 1


def test_a_restart_in_the_middle_loses_nothing(people, tmp_path):
    records, keys = people
    with LiveApp(settings()) as live:
        asset_id = made_asset(live, keys["creator"], tmp_path)
        asked = review(live, keys["ann"], asset_id, "changes_requested", reasons=["copy"],
                       comment="headline says cold brew twice", expected_state="pending")
        assert asked.status_code == 200 and asked.headers["ETag"] == '"r2"'
    with LiveApp(settings()) as live:  # a new server on the same home
        queue = httpx.get(live.url + "/v1/reviews", headers=keys["bob"], timeout=CALL).json()["reviews"]
        assert [(r["state"], r["reasons"], r["comment"]) for r in queue] == [
            ("changes_requested", ["copy"], "headline says cold brew twice")]
        for bad in ({"limit": 0}, {"state": "published"}):
            refused = httpx.get(live.url + "/v1/reviews", params=bad, headers=keys["bob"], timeout=CALL)
            assert refused.status_code == 422 and refused.json()["error"]["field"] == next(iter(bad))
        stale = httpx.post(f"{live.url}/v1/assets/{asset_id}/review", headers={**keys["bob"], "If-Match": '"r1"'},
                           json={"decision": "approved"}, timeout=CALL)
        assert stale.status_code == 409 and stale.json()["error"]["value"] == "changes_requested"
        approved = httpx.post(f"{live.url}/v1/assets/{asset_id}/review", headers={**keys["bob"], "If-Match": '"r2"'},
                              json={"decision": "approved"}, timeout=CALL)
        assert approved.status_code == 200 and approved.json()["version"] == 3
        log = httpx.get(live.url + "/v1/audit", headers=keys["admin"], timeout=CALL).json()
        assert [(e["from_state"], e["to_state"]) for e in log if e["event"] == "asset.reviewed"] == [
            ("pending", "changes_requested"), ("changes_requested", "approved")]


def test_a_rejected_asset_is_never_served_as_approved(people, tmp_path):
    records, keys = people
    receiver = Receiver()
    try:
        with LiveApp(settings(callbacks=HOOKS)) as live:
            asset_id = made_asset(live, keys["creator"], tmp_path, verdict="fail", callback_url=receiver.url)
            url = f"{live.url}/v1/assets/{asset_id}"
            failing = review(live, keys["ann"], asset_id, "approved", comment="ship it", expected_state="pending")
            assert failing.status_code == 422 and failing.json()["error"]["field"] == "decision"
            rejected = review(live, keys["ann"], asset_id, "rejected", reasons=["product_looks_wrong"],
                              expected_state="pending")
            assert rejected.status_code == 200
            for who in ("creator", "ann", "admin"):
                answer = httpx.get(url, params={"approved": "true"}, headers=keys[who], timeout=CALL)
                assert answer.status_code == 409 and answer.json()["error"]["value"] == "rejected", who
                assert not answer.headers["content-type"].startswith("image/")
            again = review(live, keys["admin"], asset_id, "approved", comment="overrule", expected_state="rejected")
            assert again.status_code == 409 and "cannot become approved" in again.json()["error"]["message"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not receiver.calls:
                time.sleep(0.1)
            assert json.loads(receiver.calls[0][1])["review"]["state"] == "rejected"
    finally:
        receiver.close()


def test_a_decisions_callback_cut_short_by_a_restart_is_sent_after_it(people, tmp_path):
    """The first server's only attempt gets a 500 and it stops before its retry (an hour away); the next sends it."""
    records, keys = people
    receiver = Receiver(statuses=(500,))
    try:
        slow = CallbackPolicy(allowed_hosts=("127.0.0.1",), attempts=2, first_delay_s=3600)
        with LiveApp(settings(callbacks=slow)) as live:
            asset_id = made_asset(live, keys["creator"], tmp_path, callback_url=receiver.url)
            assert review(live, keys["ann"], asset_id, "rejected", reasons=["copy"],
                          expected_state="pending").status_code == 200
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not receiver.calls:
                time.sleep(0.1)
            assert len(receiver.calls) == 1
        with LiveApp(settings(callbacks=HOOKS)) as live:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(receiver.calls) < 2:
                time.sleep(0.1)
            headers, body = receiver.calls[1]
            assert verify(body, headers[SIGNATURE_HEADER], records["creator"].webhook_secret)
            assert json.loads(body)["review"]["state"] == "rejected" and body == receiver.calls[0][1]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and live.service.reviews.pending_webhooks():
                time.sleep(0.1)
            assert live.service.reviews.pending_webhooks() == []
    finally:
        receiver.close()
