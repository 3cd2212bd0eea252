"""A client generated from our OpenAPI document (openapi-python-client) covers every route and reads an asset's bytes."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from live_server import LiveApp
from PIL import Image

from adgen.apikeys import create_key
from adgen.service import ServiceSettings, create_app
from adgen.settings import adgen_home

# image/*, PDF and text/csv as bytes or text: without this the generator drops those responses.
CONFIG = "content_type_overrides:\n  image/png: application/octet-stream\n  image/jpeg: application/octet-stream\n" \
         "  application/pdf: application/octet-stream\n" \
         "  text/csv: text/plain\n"


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory):
    pytest.importorskip("openapi_python_client", reason="make test installs it: pip install --no-deps "
                                                        "openapi-python-client==0.29.1")
    folder = tmp_path_factory.mktemp("client")
    document = create_app(ServiceSettings(home=folder / "home", run_worker=False)).openapi()
    (folder / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    bin_dir = str(Path(sys.executable).parent)  # the generator formats its output with ruff from here
    result = subprocess.run([os.path.join(bin_dir, "openapi-python-client"), "generate", "--path", "openapi.json",
                             "--config", "config.yaml", "--output-path", "client"], cwd=folder, capture_output=True,
                            text=True, timeout=300, env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]})
    assert result.returncode == 0 and "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder / "client"))
    yield document, folder / "client" / "adgen_client"
    sys.path.remove(str(folder / "client"))


def test_every_route_has_a_generated_call(generated_client):
    document, package = generated_client
    routes = {(method, path) for path, item in document["paths"].items() for method in item}
    generated = set()
    for module in package.glob("api/*/*.py"):
        text = module.read_text(encoding="utf-8")
        method = re.search(r'"method": "(\w+)"', text)
        url = re.search(r'"url": "([^"]+)"', text)
        if method and url:
            generated.add((method.group(1), url.group(1)))
    assert routes == generated, routes ^ generated


def test_the_generated_client_downloads_an_asset(generated_client, tmp_path):
    from adgen.service.store import JobStore
    from adgen.service_db import service_db_path

    _, plaintext = create_key(["northwind"], "shop")
    store = JobStore(service_db_path())
    job, _ = store.create("job_1", tenant="shop", key_id="k", brand="northwind", request={}, body_sha256="x",
                          idempotency_key=None, callback_url=None, total=1, max_queued=10, max_queued_per_tenant=10)
    image = tmp_path / "a.png"
    Image.new("RGB", (16, 16), "navy").save(image)
    asset = store.record_asset(job.id, 0, "SKU", "ig-square", 1, verdict="pass", image_path=image, report={},
                               seconds=0.1)
    client_module = importlib.import_module("adgen_client")
    get_asset = importlib.import_module("adgen_client.api.jobs.get_asset_v1_assets_asset_id_get")
    with LiveApp(ServiceSettings(home=adgen_home(), run_worker=False)) as live:
        client = client_module.AuthenticatedClient(base_url=live.url, token=plaintext)
        response = get_asset.sync_detailed(asset.id, client=client)
    assert response.status_code == 200
    assert response.parsed.payload.read() == image.read_bytes()
