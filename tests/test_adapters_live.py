"""Brand adapters over a real socket (tests/live_server.py): a training job on the worker with progress and a
signed webhook, versions listed with their figures and grid, promote and rollback; roles (a creator gets 403)
and tenants (another tenant's version is a 404); approved copy joins the brand's copy history."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from api_helpers import Receiver, bearer, job_body, wait_for
from live_server import LiveApp
from PIL import Image

from adgen import lora_registry as registry
from adgen.apikeys import create_key
from adgen.service import ServiceSettings
from adgen.service.store import JobStore
from adgen.service_db import service_db_path
from adgen.settings import adgen_home
from adgen.webhooks import SIGNATURE_HEADER, CallbackPolicy, verify

CALL = 60
HOOKS = CallbackPolicy(allowed_hosts=("127.0.0.1",), first_delay_s=0.05)


def settings(**overrides) -> ServiceSettings:
    return ServiceSettings(**{"home": adgen_home(), "run_worker": False, **overrides})


@pytest.fixture
def keys():
    """Tenant "shop": a creator, a reviewer and an admin for northwind; tenant "rival": an admin for every brand."""
    made = {"creator": create_key(["northwind"], "shop", role="creator"),
            "reviewer": create_key(["northwind"], "shop", role="reviewer"),
            "admin": create_key(["northwind"], "shop", role="admin"),
            "rival": create_key(["*"], "rival", role="admin")}
    return {name: record for name, (record, _) in made.items()}, {name: bearer(p) for name, (_, p) in made.items()}


def test_training_job_with_progress_webhook_figures_grid_promote_and_rollback(keys, sd15_dir):
    records, headers = keys
    receiver = Receiver()
    body = {"steps": 2, "rank": 4, "callback_url": receiver.url}
    try:
        with LiveApp(settings(run_worker=True, model=str(sd15_dir), steps=1, callbacks=HOOKS)) as live, \
                httpx.Client(base_url=live.url, timeout=CALL) as client:
            idem = {**headers["admin"], "Idempotency-Key": "train-nw-1"}
            accepted = client.post("/v1/brands/northwind/adapters", headers=idem, json=body)
            assert accepted.status_code == 202, accepted.text
            again = client.post("/v1/brands/northwind/adapters", headers=idem, json=body)
            assert again.json()["id"] == accepted.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
            other = client.post("/v1/brands/northwind/adapters", headers=idem, json={**body, "steps": 3})
            assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
            seen = set()
            job = wait_for(client, accepted.json()["status_url"], headers["admin"],
                           lambda d: seen.add(d["progress"]["done"]) or d["status"] in ("done", "failed"), timeout=600)
            assert job["status"] == "done", job
            assert job["progress"] == {"done": 4, "total": 4} and seen <= {0, 1, 2, 3, 4}
            result = job["adapter"]
            assert result["version"] == 1 and result["training_data"]["source"] == "style"
            conditions = result["eval"]["conditions"]
            assert set(conditions) == {"base", "adapter"}  # nothing active yet to compare with
            for figures in conditions.values():
                assert figures["plates"] == 4 and 0 <= figures["stray_text_rate"] <= 1
                assert figures["palette_de00"] > 0 and figures["held_out_lab_distance"] > 0
                assert 0 <= figures["diversity"] <= 2
            listed = client.get("/v1/brands/northwind/adapters", headers=headers["creator"]).json()
            assert listed["active"] is None and [v["version"] for v in listed["versions"]] == [1]
            grid = client.get(result["grid_url"], headers=headers["creator"])
            assert grid.status_code == 200 and grid.headers["content-type"] == "image/png"
            promoted = client.post("/v1/brands/northwind/adapters/1/promote", headers=headers["admin"])
            if result["promotable"]["ok"]:
                assert promoted.status_code == 200, promoted.text
            else:  # the gate decided from the figures: refused with its reason, then forced
                assert promoted.status_code == 409 and promoted.json()["error"]["code"] == "not_improved"
                assert promoted.json()["error"]["message"] == f"not promoted: {result['promotable']['reason']} " \
                                                              "(--force promotes anyway)"
                promoted = client.post("/v1/brands/northwind/adapters/1/promote", headers=headers["admin"],
                                       json={"force": True})
            assert promoted.status_code == 200 and promoted.json()["active"] is True
            assert registry.active("northwind", "shop").version == 1 and registry.active("northwind") is None
            rolled = client.post("/v1/brands/northwind/adapters/rollback", headers=headers["admin"])
            assert rolled.json() == {"brand": "northwind", "active": None}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not receiver.calls:
                time.sleep(0.1)
            hook_headers, hook_body = receiver.calls[0]
            assert verify(hook_body, hook_headers[SIGNATURE_HEADER], records["admin"].webhook_secret)
            hook = json.loads(hook_body)
            assert hook["type"] == "job.done" and hook["job"]["adapter"]["version"] == 1
    finally:
        receiver.close()


def test_roles_brands_and_tenants(keys, tmp_path):
    records, headers = keys
    number, folder = registry.new_version_dir("northwind", "shop")  # shop's v1, as a training job leaves it
    (folder / "northwind.safetensors").write_bytes(b"weights")
    (folder / "adapter.json").write_text(json.dumps({"version": number, "trigger": "northwind style"}))
    with LiveApp(settings()) as live, httpx.Client(base_url=live.url, timeout=CALL) as client:
        for who in ("creator", "reviewer"):
            for path in ("/v1/brands/northwind/adapters", "/v1/brands/northwind/adapters/1/promote",
                         "/v1/brands/northwind/adapters/rollback"):
                refused = client.post(path, headers=headers[who], json={})
                assert refused.status_code == 403 and refused.json()["error"]["code"] == "role", (who, path)
        assert client.post("/v1/brands/sakura/adapters", headers=headers["admin"], json={}).status_code == 403
        assert client.get("/v1/brands/sakura/adapters", headers=headers["creator"]).status_code == 403
        # Another tenant: shop's version does not exist for it, with every brand in its key's scope.
        assert client.get("/v1/brands/northwind/adapters", headers=headers["rival"]).json()["versions"] == []
        for method, path in (("post", "/v1/brands/northwind/adapters/1/promote"),
                             ("get", "/v1/brands/northwind/adapters/1/grid")):
            missing = getattr(client, method)(path, headers=headers["rival"])
            assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found", path
        assert client.post("/v1/brands/no-such-brand/adapters", headers=headers["rival"], json={}).status_code == 404
        nothing = client.post("/v1/brands/northwind/adapters/rollback", headers=headers["admin"])
        assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "nothing_active"
        unevaluated = client.post("/v1/brands/northwind/adapters/1/promote", headers=headers["admin"])
        assert unevaluated.status_code == 409 and "has not been evaluated" in unevaluated.json()["error"]["message"]
        bad = client.post("/v1/brands/northwind/adapters", headers=headers["admin"], json={"steps": 0})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "steps"


def test_approved_copy_goes_to_the_brands_copy_history(keys, tmp_path):
    from adgen.knowledge import KnowledgeBase

    records, headers = keys
    with LiveApp(settings()) as live, httpx.Client(base_url=live.url, timeout=CALL) as client:
        job = client.post("/v1/jobs", headers=headers["creator"], json=job_body()).json()
        image = tmp_path / "out" / "iab-300x250-v1.png"
        image.parent.mkdir()
        Image.new("RGB", (300, 250), "navy").save(image)
        layers = [{"name": "headline", "kind": "text", "text": "Smooth cold brew"},
                  {"name": "cta", "kind": "text", "text": "Shop now"}, {"name": "logo", "kind": "image", "text": None}]
        image.with_name("iab-300x250-v1.report.json").write_text(json.dumps({"layers": layers}))
        asset = JobStore(service_db_path()).record_asset(job["id"], 0, "NW-CB-001", "iab-300x250", 1, verdict="pass",
                                                         image_path=image, report={}, seconds=0.1)
        kb = KnowledgeBase("shop", "northwind")
        assert kb.count() == 0 if kb.path.is_file() else True
        decided = client.post(f"/v1/assets/{asset.id}/review", headers=headers["reviewer"],
                              json={"decision": "approved", "expected_state": "pending"})
        assert decided.status_code == 200, decided.text
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (kb.path.is_file() and kb.count()):
            time.sleep(0.2)
        assert [s["source"] for s in kb.sources()] == [f"approved-{asset.id}.txt"]
        assert [s["kind"] for s in kb.sources()] == ["copy-history"]
        hits = kb.search("cold brew", kind="copy-history")
        assert "headline: Smooth cold brew" in hits[0].passage.text and "cta: Shop now" in hits[0].passage.text
