"""The designer app over a real socket: gradio_client against its named endpoints, and a user in
headless Chromium (Debian's, through playwright) who fills the form, generates, inspects, remakes
and downloads the zip. The server runs in-process on a free 127.0.0.1 port with the tiny SD model.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from api_helpers import wait_for_http

from adgen.spec import ProductSpec
from adgen.ui_render import STATUS_ICONS
from conftest import EXAMPLES, REPO

SCREENSHOT = REPO / "docs" / "img" / "ui.png"
FORMAT = "iab-300x250"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(scope="module")
def outbound():
    """Every non-loopback address the process tries to reach while the app runs (should be none)."""
    attempts, original = [], socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            attempts.append(address)
        return original(sock, address)

    socket.socket.connect = connect
    yield attempts
    socket.socket.connect = original


@pytest.fixture(scope="module")
def server(sd15_dir, outbound, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADGEN_HOME", str(tmp_path_factory.mktemp("ui-home")))
        patch.setenv("ADGEN_DEVICE", "cpu")
        from adgen.ui import build_ui, launch_ui

        blocks = build_ui(model=str(sd15_dir))
        _, url, _ = launch_ui(blocks, port=_free_port(), prevent_thread_lock=True, quiet=True)
        yield url.rstrip("/")
        blocks.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _form(sd15_dir, **changes) -> dict:
    """/generate's arguments by name: brand, every ProductSpec field, formats, variants, seed, model, steps."""
    from gradio_client import handle_file

    from adgen.spec import load_product
    from adgen.ui_session import form_from_product

    values = form_from_product(load_product(EXAMPLES / "products" / "northwind-cold-brew.yaml"))
    values.update(sku="UI-CLIENT-1", product_image=handle_file(str(EXAMPLES / "images" / "cold-brew-bag.png")))
    return {"brand": "northwind", **values, "formats": [FORMAT], "variants": 1, "seed": 7, "model": str(sd15_dir),
            "steps": 2, **changes}


def _zip_names(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_client_generates_relays_out_and_checks(server, sd15_dir, outbound, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    assert {"/generate", "/check", "/regenerate", "/relayout"} <= set(client.view_api(return_format="dict")["named_endpoints"])
    job = client.submit(**_form(sd15_dir), api_name="/generate")
    progress, deadline = set(), time.monotonic() + 600
    while not job.done():
        status = job.status()
        assert time.monotonic() < deadline, f"/generate did not finish within 600 s; last status: {status}"
        progress |= {unit.desc for unit in (status.progress_data or []) if unit.desc}
        time.sleep(0.1)
    summary, bundle = job.result()
    assert f"generating {FORMAT} v1" in progress
    assert [(r["format"], r["variant"], r["base_seed"]) for r in summary] == [(FORMAT, 1, 7)]
    assert summary[0]["verdict"] in ("pass", "warn", "fail")
    files = _zip_names(bundle)
    assert set(files) == {"manifest.csv", f"UI-CLIENT-1/{FORMAT}-v1.jpg", f"UI-CLIENT-1/{FORMAT}-v1.report.json"}
    rows = list(csv.DictReader(io.StringIO(files["manifest.csv"].decode())))
    assert rows[0]["verdict"] == summary[0]["verdict"] and rows[0]["path"] == f"UI-CLIENT-1/{FORMAT}-v1.jpg"

    # The same client session re-lays out its asset with new copy: same plate seed, new headline.
    form = _form(sd15_dir, headline="Now in cans")
    _, relaid = client.predict(**{name: form[name] for name in ProductSpec.model_fields}, api_name="/relayout")
    report = json.loads(_zip_names(relaid)[f"UI-CLIENT-1/{FORMAT}-v1.report.json"])
    assert report["recipe"]["product"]["headline"] == "Now in cans"
    assert report["recipe"]["seed"] == summary[0]["seed"]

    image = tmp_path / "asset.jpg"
    image.write_bytes(files[f"UI-CLIENT-1/{FORMAT}-v1.jpg"])
    checked, verdict_html, _, table = client.predict(
        image_path=handle_file(str(image)), brand="northwind", format_id=FORMAT, category="coffee",
        copy_json=json.dumps({"headline": "Smooth cold brew"}), locale="en-US", api_name="/check")
    assert checked["verdict"] in verdict_html.lower()
    assert {"rule": "format.size", "status": "pass"}.items() <= next(
        f for f in checked["findings"] if f["rule"] == "format.size").items()
    assert table["data"] and outbound == []


@pytest.mark.parametrize("change, field", [({"sku": "bad sku!"}, "sku"), ({"currency": "dollars"}, "currency")])
def test_client_errors_name_the_field(server, sd15_dir, change, field):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=f"field '{field}'"):
        Client(server, verbose=False).predict(**_form(sd15_dir, **change), api_name="/generate")


def test_client_error_when_no_format_is_chosen(server, sd15_dir):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="field 'formats'"):
        Client(server, verbose=False).predict(**_form(sd15_dir, formats=[]), api_name="/generate")


def test_launch_ui_takes_gradio_server_env_and_explicit_arguments_win(monkeypatch):
    import gradio as gr

    from adgen.ui import launch_ui

    env_port, arg_port = _free_port(), _free_port()
    monkeypatch.setenv("GRADIO_SERVER_NAME", "localhost")
    monkeypatch.setenv("GRADIO_SERVER_PORT", str(env_port))
    for arguments, expected in (({}, f"http://localhost:{env_port}"),
                                ({"host": "127.0.0.1", "port": arg_port}, f"http://127.0.0.1:{arg_port}")):
        with gr.Blocks() as blocks:
            gr.Markdown("hello")
        _, url, _ = launch_ui(blocks, prevent_thread_lock=True, quiet=True, **arguments)
        try:
            assert url.rstrip("/") == expected, arguments
            assert httpx.get(expected + "/", timeout=30, trust_env=False).status_code == 200
        finally:
            blocks.close()


def test_launch_ui_names_a_bad_gradio_server_port(monkeypatch):
    from adgen.errors import InputError
    from adgen.ui import launch_ui

    monkeypatch.setenv("GRADIO_SERVER_PORT", "http")
    with pytest.raises(InputError, match="GRADIO_SERVER_PORT") as error:
        launch_ui(object(), prevent_thread_lock=True)
    assert error.value.field == "GRADIO_SERVER_PORT"


def test_python_app_py_serves_where_gradio_env_says_and_prints_no_warnings():
    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    env.pop("PYTHONWARNINGS", None)
    app = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", app)
    finally:
        app.terminate()
        output, _ = app.communicate(timeout=60)
    assert f"http://127.0.0.1:{port}" in output
    assert "Warning" not in output, output



def test_browser_generate_inspect_regenerate_and_download(server, browser, outbound, tmp_path):
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    foreign = []
    page.on("request", lambda request: foreign.append(request.url)
            if not request.url.startswith((server, "data:", "blob:")) else None)
    page.goto(server + "/")
    _text_input(page, "field-sku").fill("UI-E2E-1")
    _text_input(page, "field-headline").fill("Cold brew, ready when you are")
    page.get_by_label("ig-square · 1080×1080").uncheck()
    assert page.get_by_label(f"{FORMAT} · 300×250").is_checked()
    _number_input(page, "variants").fill("1")
    _number_input(page, "steps").fill("2")
    page.locator("#generate").click()

    badge = page.locator("#summary .adgen-badge").first
    badge.wait_for(timeout=300_000)
    verdict = badge.inner_text().split()[-1].lower()
    assert verdict in ("pass", "warn", "fail")
    gallery = page.locator(".adgen-gallery").filter(has_text=f"{FORMAT} · 300×250")
    gallery.get_by_text(f"v1 · {STATUS_ICONS[verdict]} {verdict.upper()}").wait_for(timeout=30_000)

    gallery.locator("button.thumbnail-item, .thumbnail-item").first.click()
    title = page.locator("#detail-title")
    title.get_by_text(f"{FORMAT} v1").wait_for(timeout=60_000)
    assert "seed" in title.inner_text() and page.locator("#detail table").first.is_visible()

    first_title = title.inner_text()
    _number_input(page, "regen-seed").fill("99")
    page.locator("#regenerate").click()
    page.locator("#detail-title").get_by_text("base 99").wait_for(timeout=300_000)
    assert title.inner_text() != first_title
    page.screenshot(path=str(tmp_path / "ui.png"), full_page=True)

    with page.expect_download(timeout=60_000) as download:
        page.locator("#bundle a").first.click()
    files = _zip_names(download.value.path())
    assert {"manifest.csv", f"UI-E2E-1/{FORMAT}-v1.jpg", f"UI-E2E-1/{FORMAT}-v1.report.json"} <= set(files)
    rows = list(csv.DictReader(io.StringIO(files["manifest.csv"].decode())))
    report = json.loads(files[f"UI-E2E-1/{FORMAT}-v1.report.json"])
    assert rows[0]["verdict"] == report["verdict"] and report["recipe"]["base_seed"] == 99
    assert foreign == [] and outbound == []
    page.close()


def test_browser_untouched_form_generates(server, browser):
    """Opened fresh, Generate works as is: example product, default formats and variants, Steps
    left at the model's default (a fresh form once failed at once: Steps 0 was below its minimum 1)."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(server + "/")
    page.locator("#field-sku").wait_for(timeout=60_000)
    page.locator("#generate").click()
    _wait_without_error(page, page.locator("#summary .adgen-badge").first, timeout_ms=600_000)
    for format_id in ("ig-square", FORMAT):
        gallery = page.locator(".adgen-gallery").filter(has_text=format_id)
        gallery.get_by_text("v2 · ").wait_for(timeout=60_000)
    assert page.locator("#summary .adgen-badge").count() == 4  # 2 formats x 2 variants
    assert page.locator("#bundle a").first.is_visible()
    page.close()


def test_browser_check_with_only_an_image(server, browser):
    """The Check tab with nothing but an upload: the default brand, format, copy and locale do."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(server + "/")
    page.get_by_role("tab", name="Check").click()
    page.locator("#check-image input[type=file]").set_input_files(str(EXAMPLES / "images" / "cold-brew-bag.png"))
    page.locator("#check-image").get_by_text("cold-brew-bag.png").wait_for(timeout=120_000)  # an upload under a loaded CI machine
    page.locator("#check-button").click()
    badge = page.locator("#check-verdict .adgen-badge")
    _wait_without_error(page, badge, timeout_ms=300_000)
    assert badge.inner_text().split()[-1].lower() in ("pass", "warn", "fail")
    page.close()


def _wait_without_error(page, locator, *, timeout_ms: int):
    """Wait for locator or an error toast, whichever shows first; an error toast fails the test."""
    error = page.locator(".toast-body.error")
    locator.or_(error).first.wait_for(timeout=timeout_ms)
    assert not error.count(), f"the app showed an error: {error.first.inner_text()}"


def _text_input(page, elem_id: str):
    return page.locator(f"#{elem_id}").locator("textarea, input").first


def _number_input(page, elem_id: str):
    return page.locator(f"#{elem_id}").locator("input[type=number]").first


@pytest.mark.skipif(not os.environ.get("ADGEN_REGEN_SCREENSHOTS"), reason="ADGEN_REGEN_SCREENSHOTS=1 rewrites docs/img/ui*.png")
def test_browser_screenshots_for_the_docs(server, browser):
    """Three formats, two variants, a banned term caught and drawn; then the Check tab on one asset."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(server + "/")
    _text_input(page, "field-subhead").fill("The cheapest cold brew in town.")
    page.get_by_label("iab-728x90 · 728×90").check()
    if os.environ.get("ADGEN_SCREENSHOT_MODEL"):
        _text_input(page, "model").fill(os.environ["ADGEN_SCREENSHOT_MODEL"])
    else:
        _number_input(page, "steps").fill("2")
    page.locator("#generate").click()
    page.locator(".adgen-gallery").filter(has_text="iab-728x90").get_by_text("v2 · ").wait_for(timeout=600_000)
    page.locator(".adgen-gallery").filter(has_text="ig-square").locator(".thumbnail-item").first.click()
    page.locator("#detail-title").get_by_text("ig-square v1").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    with page.expect_download() as download:
        page.locator("#bundle a").first.click()
    asset = Path(download.value.path()).parent / "asset.jpg"
    asset.write_bytes(_zip_names(download.value.path())["NW-CB-001/iab-300x250-v1.jpg"])
    page.get_by_role("tab", name="Check").click()
    page.locator("#check-image input[type=file]").set_input_files(str(asset))
    choose = page.locator("#check-format input").first
    choose.click()
    choose.fill("iab-300x250")
    page.get_by_role("option", name="iab-300x250").click()
    page.locator("#check-button").click()
    page.locator("#check-verdict .adgen-badge").wait_for(timeout=120_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SCREENSHOT.with_name("ui-check.png")), full_page=True)
    page.close()
