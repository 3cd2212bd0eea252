"""The app's Review tab in headless Chromium, served by the service (`adgen serve --ui`) on a real 127.0.0.1
socket: a reviewer logs in with her key, approves with `a`, rejects with a comment and reason with `r`,
meets a decision made meanwhile over HTTP (409) and four-eyes, and the store, the audit log and the
approved-only download agree with what she saw.

Assets are seeded as in test_review_live: a job accepted over HTTP, its assets recorded as the worker
records them; only the screenshot regenerator runs the model.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import time

import httpx
import pytest
from api_helpers import BAG_PNG, Receiver, bearer, job_body
from live_server import LiveApp
from PIL import Image

from adgen.apikeys import create_key
from adgen.service import ServiceSettings
from adgen.service.reviews import ReviewStore
from adgen.service.store import JobStore
from adgen.service_db import service_db_path
from adgen.settings import adgen_home
from adgen.webhooks import SIGNATURE_HEADER, CallbackPolicy, verify
from conftest import REPO

CALL = 60
WAIT_MS = 60_000
SCREENSHOT = REPO / "docs" / "img" / "review-queue.png"



@pytest.fixture
def people():
    """One tenant: a creator and two reviewers for northwind (records, plaintext keys)."""
    made = {name: create_key(["northwind"], "shop", role=role)
            for name, role in (("creator", "creator"), ("ann", "reviewer"), ("bob", "reviewer"))}
    return {name: record for name, (record, _) in made.items()}, {name: key for name, (_, key) in made.items()}


def seeded_job(live: LiveApp, plaintext: str, tmp_path, variants: int, **job) -> list[str]:
    """A job accepted over HTTP and its variants recorded as the worker records them: real images whose
    report has a finding with a box (drawn in the tab); the asset ids, oldest first."""
    accepted = httpx.post(live.url + "/v1/jobs", headers=bearer(plaintext), timeout=CALL,
                          json=job_body(variants=variants, **job))
    assert accepted.status_code == 202, accepted.text
    store, ids = JobStore(service_db_path()), []
    for variant in range(1, variants + 1):
        image = tmp_path / f"{accepted.json()['id']}-v{variant}.png"
        canvas = Image.new("RGB", (300, 250), ("#F7F3E9", "#E8DCC4", "#1B2A41")[variant % 3])
        with Image.open(BAG_PNG) as bag:
            bag = bag.convert("RGBA")
            bag.thumbnail((140, 200))
            canvas.paste(bag, (150, 30), bag)
        canvas.save(image)
        report = {"verdict": "pass", "attempts": [], "findings": [
            {"rule": "format.size", "status": "pass", "severity": "error", "message": "300x250 px",
             "measured": [300, 250], "threshold": [300, 250]},
            {"rule": "logo.clear-space", "status": "pass", "severity": "warning", "message": "clear space kept",
             "element": "logo", "box": [12, 12, 92, 48]}]}
        ids.append(store.record_asset(accepted.json()["id"], variant - 1, "NW-CB-001", "iab-300x250", variant,
                                      verdict="pass", image_path=image, report=report, seconds=0.1).id)
    return ids


def logged_in(browser, live: LiveApp, plaintext: str):
    """A page on the Review tab of the served app, logged in at /ui-login with this key."""
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    foreign = []
    page.on("request", lambda r: foreign.append(r.url)
            if not r.url.startswith((live.url, "data:", "blob:")) else None)
    page.goto(live.url + "/ui-login")
    page.locator("input[name=key]").fill(plaintext)
    page.locator("button[type=submit]").click()
    page.get_by_role("tab", name="Review").click()
    page.foreign = foreign
    return page


def shows(page, asset_id: str) -> None:
    page.locator("#review-title").get_by_text(asset_id).wait_for(timeout=WAIT_MS)


def said(page, text: str) -> str:
    note = page.locator("#review-message").get_by_text(text)
    note.wait_for(timeout=WAIT_MS)
    return note.inner_text()


def test_review_tab_keys_approve_and_reject_and_the_store_agrees(people, browser, tmp_path):
    records, keys = people
    receiver = Receiver()
    hooks = CallbackPolicy(allowed_hosts=("127.0.0.1",), first_delay_s=0.05)
    with LiveApp(ServiceSettings(home=adgen_home(), run_worker=False, ui=True, callbacks=hooks)) as live:
        first, second, third = seeded_job(live, keys["creator"], tmp_path, variants=3, callback_url=receiver.url)
        (annes,) = seeded_job(live, keys["ann"], tmp_path, variants=1)  # Ann made this one herself
        page = logged_in(browser, live, keys["ann"])
        shows(page, first)
        assert records["ann"].id in page.locator("#review-who").inner_text()
        page.locator("#review-image img").first.wait_for(timeout=WAIT_MS)  # the asset, findings drawn
        assert page.locator("#review-variants .thumbnail-item").count() == 3  # v1..v3 side by side
        assert "4" in page.locator("#review-counter").inner_text()

        page.keyboard.press("j")
        shows(page, second)
        page.keyboard.press("k")
        shows(page, first)
        page.keyboard.press("a")
        assert "approved" in said(page, f"{first} approved by key {records['ann'].id}")
        shows(page, second)  # it left the pending queue; the next one is shown

        page.locator("#review-comment textarea").fill("the amber reads orange")
        page.keyboard.press("Escape")  # out of the comment box: the keys act again
        page.locator("#review-reasons").get_by_label("off-brand colour").check()
        page.keyboard.press("r")
        said(page, f"{second} rejected by key {records['ann'].id}")
        shows(page, third)
        assert page.locator("#review-comment textarea").input_value() == ""

        # The app's decisions send their asset.reviewed callbacks themselves (before any API call could).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(receiver.calls) < 2:
            time.sleep(0.1)
        assert sorted((json.loads(body)["review"]["asset_id"], json.loads(body)["review"]["state"])
                      for _, body in receiver.calls) == sorted([(first, "approved"), (second, "rejected")])

        # Bob approves the third over HTTP while Ann looks at it: her `a` is refused, by name.
        bobs = httpx.post(f"{live.url}/v1/assets/{third}/review", headers=bearer(keys["bob"]), timeout=CALL,
                          json={"decision": "approved", "expected_state": "pending"})
        assert bobs.status_code == 200, bobs.text
        page.keyboard.press("a")
        text = said(page, "Someone decided first")
        assert f"approved by key {records['bob'].id}" in text and "not recorded" in text.lower()
        shows(page, annes)
        page.keyboard.press("a")
        assert "four eyes" in said(page, "you generated this asset")

        # The rejected one, found under its state, cannot be approved from the app either.
        page.locator("#review-state input").first.click()
        page.get_by_role("option", name="rejected").click()
        shows(page, second)
        page.keyboard.press("a")
        text = said(page, "cannot become approved")
        assert "Someone decided first" not in text

        store = ReviewStore(service_db_path())
        states = {asset: store.get(asset, "shop") for asset in (first, second, third, annes)}
        assert {a: (r.state, r.reviewer_key) for a, r in states.items()} == {
            first: ("approved", records["ann"].id), second: ("rejected", records["ann"].id),
            third: ("approved", records["bob"].id), annes: ("pending", None)}
        assert states[second].comment == "the amber reads orange"
        assert states[second].reasons == ("off_brand_colour",)
        log = list(csv.DictReader(io.StringIO(httpx.get(live.url + "/v1/audit", params={"format": "csv"},
                                                        headers=bearer(keys["bob"]), timeout=CALL).text)))
        assert [(e["asset_id"], e["actor_key"], e["from_state"], e["to_state"]) for e in log
                if e["event"] == "asset.reviewed"] == [
            (first, records["ann"].id, "pending", "approved"), (second, records["ann"].id, "pending", "rejected"),
            (third, records["bob"].id, "pending", "approved")]

        # The approved-only download serves the approved one and never the rejected one, to anyone.
        url = f"{live.url}/v1/assets/{{}}"
        ok = httpx.get(url.format(first), params={"approved": "true"}, headers=bearer(keys["creator"]), timeout=CALL)
        assert ok.status_code == 200 and ok.headers["Adgen-Review"].endswith(f"by={records['ann'].id}")
        for who in ("creator", "ann", "bob"):
            refused = httpx.get(url.format(second), params={"approved": "true"}, headers=bearer(keys[who]),
                                timeout=CALL)
            assert refused.status_code == 409 and refused.json()["error"]["value"] == "rejected", who
            assert not refused.headers["content-type"].startswith("image/")
        assert page.foreign == []
        page.close()
        # Every decision's callback, signed with the creator's secret, the app's as the API's.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(receiver.calls) < 3:
            time.sleep(0.1)
    receiver.close()
    sent = sorted((json.loads(body)["review"]["asset_id"], json.loads(body)["review"]["state"])
                  for _, body in receiver.calls)
    assert sent == sorted([(first, "approved"), (second, "rejected"), (third, "approved")])
    assert all(verify(body, headers[SIGNATURE_HEADER], records["creator"].webhook_secret)
               for headers, body in receiver.calls)


def test_review_tab_for_a_creator_shows_the_queue_and_refuses_decisions(people, browser, tmp_path):
    records, keys = people
    with LiveApp(ServiceSettings(home=adgen_home(), run_worker=False, ui=True)) as live:
        (asset,) = seeded_job(live, keys["ann"], tmp_path, variants=1)
        page = logged_in(browser, live, keys["creator"])
        shows(page, asset)
        assert "deciding needs a reviewer" in page.locator("#review-who").inner_text()
        page.locator("#review-approve").click()
        said(page, "cannot decide on assets")
        assert ReviewStore(service_db_path()).get(asset, "shop").state == "pending"
        page.close()


def test_a_local_app_decides_as_its_key_id_and_without_one_says_how(people, browser, tmp_path):
    """`adgen ui --key-id` (build_ui's reviewer): the tab decides as that key of ADGEN_HOME; without it, it says so."""
    from adgen.ui import build_ui, launch_ui

    records, keys = people
    with LiveApp(ServiceSettings(home=adgen_home(), run_worker=False)) as live:
        (asset,) = seeded_job(live, keys["creator"], tmp_path, variants=1)
    for reviewer in (None, records["ann"].id):
        blocks = build_ui(reviewer=reviewer)
        _, url, _ = launch_ui(blocks, port=_free_port(), prevent_thread_lock=True, quiet=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url)
            page.get_by_role("tab", name="Review").click()
            if reviewer is None:
                said(page, "adgen ui --key-id")
                page.keyboard.press("a")  # nothing to decide as: nothing recorded
            else:
                shows(page, asset)
                assert records["ann"].id in page.locator("#review-who").inner_text()
                page.locator("#review-reasons").get_by_label("copy").check()
                page.keyboard.press("c")
                said(page, f"{asset} changes requested by key {reviewer}")
            page.close()
        finally:
            blocks.close()
        review = ReviewStore(service_db_path()).get(asset, "shop")
        assert (review.state, review.reviewer_key) == (("pending", None) if reviewer is None
                                                        else ("changes_requested", reviewer))


def test_a_stored_report_reads_back_as_the_report_it_was():
    """The tab draws a stored report's evidence: Report.from_dict inverts as_dict, boxes, outlines and regions too."""
    from adgen.compliance.report import Finding, Report
    from adgen.geometry import Box

    report = Report((Finding("product.halo", "warn", "warning", "ring", 0.4, 0.3, "product", Box(1, 2, 30, 40),
                             (((0, 0), (9, 0), (9, 9)),), (("band", Box(0, 30, 40, 40)),)),
                     Finding("format.size", "pass", "error", "300x250 px", [300, 250], [300, 250])),
                    attempts=({"round": 1},))
    assert Report.from_dict(report.as_dict()) == report


def test_adgen_ui_key_id_must_be_a_live_reviewer_key(people):
    from typer.testing import CliRunner

    from adgen.cli import app
    from adgen.errors import InputError, NotFoundError

    records, _ = people
    unknown = CliRunner().invoke(app, ["ui", "--key-id", "nosuchkey"])
    assert isinstance(unknown.exception, NotFoundError) and unknown.exception.field == "--key-id"
    creator = CliRunner().invoke(app, ["ui", "--key-id", records["creator"].id])
    assert isinstance(creator.exception, InputError) and "creator key cannot decide" in str(creator.exception)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(not os.environ.get("ADGEN_REGEN_SCREENSHOTS"), reason="ADGEN_REGEN_SCREENSHOTS=1 rewrites "
                                                                          "docs/img/review-queue.png")
def test_review_queue_screenshot_for_the_docs(people, browser, tmp_path):
    """Three variants made by the worker (adgen-tiny, or $ADGEN_SCREENSHOT_MODEL), the first approved, the second
    on screen with a comment and reasons typed."""
    from api_helpers import product, wait_for

    records, keys = people
    settings = ServiceSettings(home=adgen_home(), run_worker=True, ui=True,
                               model=os.environ.get("ADGEN_SCREENSHOT_MODEL") or None)
    with LiveApp(settings) as live, httpx.Client(base_url=live.url, timeout=CALL) as client:
        body = job_body(products=[product(image=True, subhead="Slow-steeped for 18 hours")],
                        formats=["ig-square"], variants=3)
        accepted = client.post("/v1/jobs", headers=bearer(keys["creator"]), json=body).json()
        job = wait_for(client, accepted["status_url"], bearer(keys["creator"]),
                       lambda d: d["status"] in ("done", "failed"), timeout=900)
        assert job["status"] == "done", job
        page = logged_in(browser, live, keys["ann"])
        page.locator("#review-state input").first.click()
        page.get_by_role("option", name="all states").click()
        shows(page, job["assets"][0]["id"])
        first = job["assets"][0]
        page.locator("#review-comment textarea").fill("warm, on palette; fine to ship")
        page.keyboard.press("Escape")
        page.keyboard.press("a")
        said(page, "approved by key")
        shows(page, job["assets"][1]["id"])  # the approved one stays listed (all states): the next is shown
        assert first["verdict"] in ("pass", "warn")
        page.locator("#review-comment textarea").fill("the backdrop reads orange, not our amber")
        page.locator("#review-reasons").get_by_label("off-brand colour").check()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.close()
