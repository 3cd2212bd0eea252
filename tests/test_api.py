"""The HTTP API in-process (FastAPI TestClient): auth scoping, idempotency, limits, errors, webhooks."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
from api_helpers import BAG_PNG, Receiver, bearer, job_body, product, wait_for
from fastapi.testclient import TestClient
from PIL import Image

from adgen.service import ServiceSettings, create_app, field_name
from adgen.apikeys import authenticate, create_key, list_keys, revoke_key
from adgen.limits import Limits
from adgen.settings import adgen_home
from adgen.webhooks import SIGNATURE_HEADER, CallbackPolicy, sign, verify


@pytest.fixture
def make_client():
    clients = []

    def make(**settings) -> TestClient:
        settings = {"home": adgen_home(), "run_worker": False, **settings}
        client = TestClient(create_app(ServiceSettings(**settings)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def keys():
    """Two tenants: shop A (northwind only) and shop B (both brands)."""
    _, a = create_key(["northwind"], "shop-a")
    _, b = create_key(["northwind", "sakura"], "shop-b")
    return bearer(a), bearer(b)


def test_keys_are_stored_hashed_and_revocable():
    record, plaintext = create_key(["northwind"], "shop")
    stored = b"".join(path.read_bytes() for path in adgen_home().glob("service.sqlite3*"))  # with the WAL
    secret = plaintext.split("_", 2)[2]
    assert plaintext.encode() not in stored and secret.encode() not in stored
    assert authenticate(plaintext).id == record.id
    assert authenticate(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert authenticate("adg_nope_nope") is None and authenticate("") is None
    revoke_key(record.id)
    assert authenticate(plaintext) is None
    assert [k.id for k in list_keys()] == [record.id]


def test_auth_is_required_and_scoped_to_brands(make_client, keys):
    client = make_client()
    a, b = keys
    missing = client.get("/v1/formats")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["error"]["field"] == "Authorization"
    assert client.get("/v1/formats", headers=bearer("adg_0_wrong")).status_code == 401
    assert [brand["id"] for brand in client.get("/v1/brands", headers=a).json()] == ["northwind"]
    refused = client.post("/v1/jobs", headers=a, json=job_body(brand="sakura"))
    assert refused.status_code == 403
    assert refused.json()["error"] == {"code": "forbidden", "field": "brand", "value": "sakura",
                                       "message": "this API key is not scoped to that brand"}


def test_another_tenants_jobs_are_not_found(make_client, keys):
    client = make_client()
    a, b = keys
    job = client.post("/v1/jobs", headers=b, json=job_body()).json()
    assert client.get(job["status_url"], headers=b).status_code == 200
    theirs = client.get(job["status_url"], headers=a)
    nonexistent = client.get("/v1/jobs/job_00000000000000000000", headers=a)
    assert theirs.status_code == nonexistent.status_code == 404
    assert theirs.json()["error"]["message"] == nonexistent.json()["error"]["message"]


def test_job_is_persisted_before_the_202(make_client, keys):
    client = make_client()
    accepted = client.post("/v1/jobs", headers=keys[0], json=job_body(formats=["iab-300x250", "ig-square"],
                                                                      variants=2))
    assert accepted.status_code == 202 and accepted.headers["Location"] == accepted.json()["status_url"]
    # A new app on the same home (a restart) sees it.
    job = make_client().get(accepted.json()["status_url"], headers=keys[0]).json()
    assert job["status"] == "queued" and job["progress"] == {"done": 0, "total": 4}


def test_idempotency_key_replays_the_job_or_conflicts(make_client, keys):
    client = make_client()
    a, b = keys
    first = client.post("/v1/jobs", headers={**a, "Idempotency-Key": "order-1"}, json=job_body())
    again = client.post("/v1/jobs", headers={**a, "Idempotency-Key": "order-1"}, json=job_body())
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/v1/jobs", headers={**a, "Idempotency-Key": "order-1"}, json=job_body(seed=2))
    assert other.status_code == 409 and other.json()["error"]["field"] == "Idempotency-Key"
    # Keys are per tenant: shop B's "order-1" is its own job.
    assert client.post("/v1/jobs", headers={**b, "Idempotency-Key": "order-1"}, json=job_body()).json()["id"] \
        != first.json()["id"]
    assert client.post("/v1/jobs", headers=a, json=job_body()).json()["id"] != first.json()["id"]


@pytest.mark.parametrize("case, body, status, field", [
    ("unknown field", job_body(extra=1), 422, "extra"),
    ("bad sku", job_body(products=[product("no spaces")]), 422, "products.0.sku"),
    ("unknown format", job_body(formats=["ig-square", "nope"]), 422, "formats.1"),
    ("unknown brand", job_body(brand="acme"), 403, "brand"),
    ("repeated sku", job_body(products=[product("A"), product("A")]), 422, "products.1.sku"),
    ("a path is not an image", job_body(products=[product(product_image="/etc/passwd")]), 422,
     "products.0.product_image"),
    ("not an image", job_body(products=[product(product_image=base64.b64encode(b"hello").decode())]), 422,
     "products.0.product_image"),
    ("callback host not allowed", job_body(callback_url="http://169.254.169.254/latest"), 422, "callback_url"),
    ("callback scheme", job_body(callback_url="file:///etc/passwd"), 422, "callback_url"),
    ("too many products", job_body(products=[product(f"S{i}") for i in range(3)]), 413, "products"),
    ("variants bounded", job_body(variants=99), 422, "variants"),
])
def test_bad_jobs_name_the_field(make_client, keys, case, body, status, field):
    client = make_client(limits=Limits(max_products_per_job=2))
    response = client.post("/v1/jobs", headers=keys[0], json=body)
    assert response.status_code == status, (case, response.json())
    assert response.json()["error"]["field"] == field, case


def test_body_size_limit_is_413(make_client, keys):
    client = make_client(limits=Limits(max_body_bytes=10_000))
    big = job_body(products=[product(image=True)])  # ~50 KB of base64
    response = client.post("/v1/jobs", headers=keys[0], json=big)
    assert response.status_code == 413 and response.json()["error"]["field"] == "body"
    chunked = client.post("/v1/jobs", headers={**keys[0], "Content-Type": "application/json"},
                          content=iter([json.dumps(big).encode()]))  # no Content-Length: counted as it streams
    assert chunked.status_code == 413


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_decompression_bombs_are_refused_before_decoding(make_client, keys):
    client = make_client(limits=Limits(max_image_pixels=1_000_000))
    bomb = _png(4000, 4000)  # 16 Mpx in a few KB
    assert len(bomb) < 20_000
    job = client.post("/v1/jobs", headers=keys[0],
                      json=job_body(products=[product(product_image=base64.b64encode(bomb).decode())]))
    assert job.status_code == 400 and job.json()["error"]["field"] == "products.0.product_image"
    check = client.post("/v1/check", headers=keys[0], data={"brand": "northwind", "format": "iab-300x250"},
                        files={"image": ("bomb.png", bomb, "image/png")})
    assert check.status_code == 400 and check.json()["error"]["code"] == "bad_image"


def test_upload_bytes_limit(make_client, keys):
    client = make_client(limits=Limits(max_upload_bytes=20_000))
    response = client.post("/v1/check", headers=keys[0], data={"brand": "northwind", "format": "iab-300x250"},
                           files={"image": ("bag.png", BAG_PNG.read_bytes(), "image/png")})
    assert response.status_code == 413 and response.json()["error"]["field"] == "image"


def test_rate_limit_is_429_with_retry_after(make_client, keys):
    client = make_client(limits=Limits(rate_per_minute=3))
    codes = [client.get("/v1/formats", headers=keys[0]).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/v1/formats", headers=keys[0])
    assert int(limited.headers["Retry-After"]) >= 1 and limited.json()["error"]["code"] == "rate_limited"
    assert client.get("/v1/formats", headers=keys[1]).status_code == 200  # per key


def test_check_endpoint_returns_the_report(make_client, keys):
    client = make_client()
    image = io.BytesIO()
    Image.new("RGB", (300, 250), "#F7F3E9").save(image, format="PNG")
    response = client.post("/v1/check", headers=keys[0], files={"image": ("a.png", image.getvalue(), "image/png")},
                           data={"brand": "northwind", "format": "iab-300x250", "copy": json.dumps({"headline": "Hi"})})
    assert response.status_code == 200, response.json()
    report = response.json()
    assert report["verdict"] in ("pass", "warn", "fail")
    assert {"format.size", "format.file-type"} <= {f["rule"] for f in report["findings"]}
    bad_copy = client.post("/v1/check", headers=keys[0], files={"image": ("a.png", image.getvalue(), "image/png")},
                           data={"brand": "northwind", "format": "iab-300x250", "copy": '{"slogan": "x"}'})
    assert bad_copy.status_code == 422 and bad_copy.json()["error"]["field"] == "copy.slogan"
    # A photo of unknown provenance is not held to AI labels unless the caller says it was generated.
    statuses = {}
    for generated in (None, "true"):
        data = {"brand": "northwind", "format": "iab-300x250"} | ({"generated": generated} if generated else {})
        answer = client.post("/v1/check", headers=keys[0], files={"image": ("a.png", image.getvalue(), "image/png")},
                             data=data).json()
        statuses[generated] = next(f["status"] for f in answer["findings"] if f["rule"] == "label.ai-metadata")
    assert statuses == {None: "skip", "true": "fail"}, statuses


def test_a_job_can_ask_for_framed_product_photos(make_client, keys):
    client = make_client()
    accepted = client.post("/v1/jobs", headers=keys[0], json=job_body(cutout=False)).json()
    job = client.app.state.service.store.get(accepted["id"])
    assert job.request["cutout"] is False


def test_error_locations_become_field_names():
    assert field_name(("body", "products", 0, "sku")) == "products.0.sku"
    assert field_name(("header", "Idempotency-Key")) == "Idempotency-Key"
    assert field_name(("body",)) == "body"


def test_callback_policy_refuses_inward_addresses():
    policy = CallbackPolicy(allowed_hosts=("localhost", "hooks.example.com"))
    with pytest.raises(Exception, match="not allowed"):
        policy.resolve_allowed("http://localhost:9/hook")  # a listed name, but it resolves to loopback
    with pytest.raises(Exception, match="allow-list"):
        policy.check_url("http://127.0.0.1:9/hook")
    with pytest.raises(Exception, match="credentials"):
        policy.check_url("http://user:pw@hooks.example.com/")
    CallbackPolicy(allowed_hosts=("127.0.0.0/8",)).resolve_allowed("http://127.0.0.1:9/hook")


def test_signatures_verify_and_expire():
    body, secret = b'{"a":1}', "whsec_test"
    header = sign(body, secret)
    assert verify(body, header, secret)
    assert not verify(body + b" ", header, secret) and not verify(body, header, "other")
    assert not verify(body, sign(body, secret, int(time.time()) - 3600), secret)


def test_a_job_runs_serves_assets_and_calls_back_signed(make_client, keys, sd15_dir):
    receiver = Receiver(statuses=(500,))  # the first delivery fails: it is retried
    try:
        client = make_client(run_worker=True, model=str(sd15_dir), steps=1,
                             callbacks=CallbackPolicy(allowed_hosts=("127.0.0.1",), first_delay_s=0.05))
        a, b = keys
        record = next(k for k in list_keys() if k.name == "shop-a")
        accepted = client.post("/v1/jobs", headers=a, json=job_body(products=[product(image=True)],
                                                                    callback_url=receiver.url)).json()
        job = wait_for(client, accepted["status_url"], a, lambda d: d["status"] in ("done", "failed"), timeout=300)
        assert job["status"] == "done", job
        assert job["progress"] == {"done": 1, "total": 1}
        asset = job["assets"][0]
        assert (asset["format"], asset["variant"], asset["sku"]) == ("iab-300x250", 1, "NW-CB-001")
        assert asset["verdict"] == asset["report"]["verdict"]
        image = client.get(asset["url"], headers=a)
        assert image.status_code == 200 and image.headers["content-type"] in ("image/png", "image/jpeg")
        assert Image.open(io.BytesIO(image.content)).size == (300, 250)
        cached = client.get(asset["url"], headers={**a, "If-None-Match": image.headers["ETag"]})
        assert cached.status_code == 304 and not cached.content
        assert client.get(asset["url"], headers=b).status_code == 404  # another tenant
        # The webhook: retried after a 500, signed with the key's webhook secret.
        job = wait_for(client, accepted["status_url"], a, lambda d: (d["webhook"] or {}).get("state") != "pending",
                       timeout=60)
        assert job["webhook"] == {"state": "delivered", "attempts": 2, "outcome": "HTTP 200"}
        assert len(receiver.calls) == 2
        headers, body = receiver.calls[-1]
        assert verify(body, headers[SIGNATURE_HEADER], record.webhook_secret)
        payload = json.loads(body)
        assert payload["type"] == "job.done" and payload["job"]["assets"][0]["id"] == asset["id"]
        metrics = client.get("/metrics").text
        assert 'adgen_jobs{state="done"} 1.0' in metrics and "adgen_asset_seconds_count 1.0" in metrics
        assert client.get("/readyz").json()["status"] == "ready"
    finally:
        receiver.close()


def test_openapi_documents_fields_and_examples(make_client):
    doc = make_client().get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "not a path" in schemas["JobProduct"]["properties"]["product_image"]["description"].lower()
    assert schemas["JobCreate"]["examples"][0]["brand"] == "northwind"
    assert set(doc["paths"]) >= {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/assets/{asset_id}", "/v1/check",
                                 "/v1/brands", "/v1/formats", "/healthz", "/readyz", "/metrics"}
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_keys_cli_creates_lists_and_revokes():
    from typer.testing import CliRunner

    from adgen.cli import app

    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--brands", "northwind,sakura", "--name", "shop"])
    assert created.exit_code == 0, created.output
    plaintext = created.output.strip().splitlines()[-1]
    key = authenticate(plaintext)
    assert key.brands == ("northwind", "sakura") and key.tenant == "shop"
    listed = runner.invoke(app, ["keys", "list"])
    assert key.id in listed.output and plaintext not in listed.output
    assert runner.invoke(app, ["keys", "revoke", key.id]).exit_code == 0
    assert authenticate(plaintext) is None


def test_real_ui_mounts_beside_the_api_only_behind_a_key(make_client, keys):
    pytest.importorskip("gradio")
    assert make_client().get("/ui/").status_code == 404  # not mounted unless asked for (serve --ui)
    client = make_client(ui=True)
    assert client.get("/ui/").status_code == 401
    assert client.get("/ui/config").status_code == 401
    assert client.get("/ui/", headers=keys[0]).status_code == 200
    assert "/ui" not in "".join(client.get("/openapi.json").json()["paths"])  # the API document stays the API's


def test_the_finding_document_carries_every_field_a_finding_has():
    """FindingOut is written out for OpenAPI; a field added to Finding must be added there too."""
    import dataclasses

    from adgen.compliance.report import Finding
    from adgen.service.bodies import FindingOut

    assert {f.name for f in dataclasses.fields(Finding)} <= set(FindingOut.model_fields)
