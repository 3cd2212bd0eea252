"""/v1/brands/{id}/kb in-process: upload, list, search, remove; scoped to the key's brands and tenant."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from adgen.apikeys import create_key
from adgen.service import ServiceSettings, create_app
from adgen.settings import adgen_home

BOOK = b"# Logo\n\nKeep the logo in a corner, never over the product.\n\n# Claims\n\nOur cold brew gets an 18-hour steep.\n"


@pytest.fixture
def client():
    with TestClient(create_app(ServiceSettings(home=adgen_home(), run_worker=False))) as test_client:
        yield test_client


def bearer(brands, name):
    return {"Authorization": f"Bearer {create_key(brands, name)[1]}"}


def test_upload_list_search_remove(client):
    shop = bearer(["northwind"], "shop-a")
    added = client.post("/v1/brands/northwind/kb", headers=shop, data={"kind": "claim-evidence"},
                        files=[("files", ("evidence.md", BOOK, "text/markdown"))])
    assert added.status_code == 200, added.text
    assert added.json() == {"files": 1, "added": 2, "kept": 0, "removed": 0}
    assert client.get("/v1/brands/northwind/kb", headers=shop).json() == [
        {"source": "evidence.md", "kind": "claim-evidence", "passages": 2, "pages": None}]
    hits = client.get("/v1/brands/northwind/kb/search", headers=shop, params={"q": "steeped for 18 hours"}).json()
    assert hits[0]["source"] == "evidence.md" and hits[0]["heading"] == "Claims" and 0 < hits[0]["score"] <= 1
    assert client.delete("/v1/brands/northwind/kb/evidence.md", headers=shop).json() == {"removed": 2}
    assert client.get("/v1/brands/northwind/kb", headers=shop).json() == []


def test_scoped_to_the_keys_brands_and_tenant(client):
    shop_a, shop_b = bearer(["northwind"], "shop-a"), bearer(["northwind", "sakura"], "shop-b")
    client.post("/v1/brands/northwind/kb", headers=shop_a, data={"kind": "guideline"},
                files=[("files", ("book.md", BOOK, "text/markdown"))])
    assert client.get("/v1/brands/northwind/kb", headers=shop_b).json() == []  # another tenant's documents
    assert client.get("/v1/brands/northwind/kb/search", headers=shop_b, params={"q": "logo"}).json() == []
    assert client.get("/v1/brands/sakura/kb", headers=shop_a).status_code == 403  # brand outside the key
    assert client.get("/v1/brands/northwind/kb", headers={}).status_code == 401


def test_bad_files_are_named_and_nothing_is_lost(client):
    shop = bearer(["northwind"], "shop-a")
    client.post("/v1/brands/northwind/kb", headers=shop, data={"kind": "guideline"},
                files=[("files", ("book.md", BOOK, "text/markdown"))])
    bad = client.post("/v1/brands/northwind/kb", headers=shop, data={"kind": "guideline"},
                      files=[("files", ("new.md", b"# New\n\nNew text.\n", "text/markdown")),
                             ("files", ("empty.txt", b"", "text/plain"))])
    assert bad.status_code == 422
    assert {k: bad.json()["error"][k] for k in ("message", "field", "value")} == {
        "message": "the file is empty", "field": "files", "value": "empty.txt"}
    assert [s["source"] for s in client.get("/v1/brands/northwind/kb", headers=shop).json()] == ["book.md"]
    missing = client.delete("/v1/brands/northwind/kb/nope.md", headers=shop)
    assert missing.status_code == 422 and missing.json()["error"]["value"] == "nope.md"


@pytest.mark.slow
def test_an_http_job_checks_claims_against_its_own_tenants_evidence(sd15_dir):
    """The worker passes the job's tenant: shop A's evidence backs shop A's claim; shop B has none (skip)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from api_helpers import job_body, product, wait_for

    settings = ServiceSettings(home=adgen_home(), run_worker=True, model=str(sd15_dir), steps=1)
    with TestClient(create_app(settings)) as client:
        shop_a, shop_b = bearer(["northwind"], "shop-a"), bearer(["northwind"], "shop-b")
        client.post("/v1/brands/northwind/kb", headers=shop_a, data={"kind": "claim-evidence"},
                    files=[("files", ("evidence.md", BOOK, "text/markdown"))])
        body = job_body(products=[product(claims=["Steeped for 18 hours"])])
        statuses = {}
        for name, key in (("a", shop_a), ("b", shop_b)):
            accepted = client.post("/v1/jobs", headers=key, json=body).json()
            job = wait_for(client, accepted["status_url"], key, lambda d: d["status"] in ("done", "failed"))
            assert job["status"] == "done", job
            findings = job["assets"][0]["report"]["findings"]
            statuses[name] = next(f["status"] for f in findings if f["rule"] == "copy.claim-substantiated")
    assert statuses == {"a": "pass", "b": "skip"}, statuses
