"""The app's Knowledge tab through the real served app (`adgen serve --ui` on a 127.0.0.1 socket, gradio_client
with API keys): upload, list, search, remove, each key scoped to its brands and its tenant's knowledge base, and
the passages shown beside findings."""

from __future__ import annotations

import pytest

BOOK = """# Logo

Keep the logo in the top left corner with clear space of a quarter of its height.

# Words

Never call the coffee "the cheapest". Say "cold brew", never "iced coffee".
"""
EVIDENCE = "# Steeping\n\nEvery batch of cold brew is steeped for 18 hours (lab log 2024-03, p. 2).\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The service with the app mounted, and three keys: two tenants on northwind, one on sakura only."""
    from live_server import LiveApp

    from adgen.apikeys import create_key
    from adgen.service import ServiceSettings

    home = tmp_path_factory.mktemp("kb-ui-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADGEN_HOME", str(home))
        keys = {"acme": create_key(["northwind"], "acme")[1], "rival": create_key(["northwind"], "rival")[1],
                "acme-sakura": create_key(["sakura"], "acme")[1]}
        with LiveApp(ServiceSettings(home=home, run_worker=False, ui=True)) as live:
            yield live.url, keys


def _client(served, who):
    from gradio_client import Client

    url, keys = served
    return Client(f"{url}/ui/", headers={"Authorization": f"Bearer {keys[who]}"}, verbose=False)


def test_upload_list_search_remove_within_the_keys_tenant(served, tmp_path):
    from gradio_client import handle_file

    (tmp_path / "book.md").write_text(BOOK, encoding="utf-8")
    (tmp_path / "evidence.md").write_text(EVIDENCE, encoding="utf-8")
    acme, rival = _client(served, "acme"), _client(served, "rival")

    summary, files, _ = acme.predict("northwind", [handle_file(str(tmp_path / "book.md"))], "guideline",
                                     api_name="/kb_add")
    assert "2 passage(s) embedded" in summary
    summary, files, _ = acme.predict("northwind", [handle_file(str(tmp_path / "evidence.md"))], "claim-evidence",
                                     api_name="/kb_add")
    assert [row[:3] for row in files["data"]] == [["book.md", "guideline", 2], ["evidence.md", "claim-evidence", 1]]

    hits = acme.predict("northwind", "where does the logo go", "any", api_name="/kb_search")["data"]
    score, source, page, heading, kind, text = hits[0]
    assert (source, heading, kind) == ("book.md", "Logo", "guideline") and text.startswith("Keep the logo")
    assert 0 < score <= 1 and page == ""
    claim = acme.predict("northwind", "steeped for 18 hours", "claim-evidence", api_name="/kb_search")["data"]
    assert [row[1] for row in claim] == ["evidence.md"]

    # Another tenant's key on the same brand sees none of it, and its own upload stays its own.
    assert rival.predict("northwind", api_name="/kb_list")[0]["data"] == []
    assert rival.predict("northwind", "where does the logo go", "any", api_name="/kb_search")["data"] == []

    _, files, _ = acme.predict("northwind", "book.md", api_name="/kb_remove")
    assert [row[0] for row in files["data"]] == ["evidence.md"]
    with pytest.raises(Exception, match="no such file"):
        acme.predict("northwind", "book.md", api_name="/kb_remove")


def test_a_key_cannot_reach_a_brand_outside_its_scope(served, tmp_path):
    from gradio_client import handle_file

    (tmp_path / "book.md").write_text(BOOK, encoding="utf-8")
    sakura_only = _client(served, "acme-sakura")
    with pytest.raises(Exception, match="not scoped to that brand"):
        sakura_only.predict("northwind", api_name="/kb_list")
    with pytest.raises(Exception, match="not scoped to that brand"):
        sakura_only.predict("northwind", [handle_file(str(tmp_path / "book.md"))], "guideline", api_name="/kb_add")
    assert sakura_only.predict("sakura", api_name="/kb_list")[0]["data"] == []  # same tenant, its own brand


def test_findings_get_their_passage_with_file_and_page(served, tmp_path):
    from gradio_client import handle_file

    from adgen.ui_render import FINDING_COLUMNS

    (tmp_path / "guide.md").write_text(BOOK, encoding="utf-8")
    (tmp_path / "proof.md").write_text(EVIDENCE, encoding="utf-8")
    acme = _client(served, "acme")
    acme.predict("northwind", [handle_file(str(tmp_path / "guide.md"))], "guideline", api_name="/kb_add")
    acme.predict("northwind", [handle_file(str(tmp_path / "proof.md"))], "claim-evidence", api_name="/kb_add")
    findings = {"headers": FINDING_COLUMNS, "data": [
        ["brand.logo-clearspace", "✗ fail", "logo", "headline inside the logo's clear space", "", ""],
        ["format.size", "✓ pass", "", "1080x1080", "", ""],
        ["copy.claim-substantiated", "✓ pass", "claims", "'18-hour steep' substantiated by proof.md (0.81)", "", ""]]}
    guides = acme.predict("northwind", findings, api_name="/kb_guides")["data"]
    assert [(g[0], g[3]) for g in guides] == [("brand.logo-clearspace", "guide.md"),
                                              ("copy.claim-substantiated", "proof.md")]
    assert guides[0][5].startswith("Keep the logo") and 0 < guides[0][4] <= 1
    # The rival tenant's findings find no passage: the knowledge above is acme's.
    assert _client(served, "rival").predict("northwind", findings, api_name="/kb_guides")["data"] == []


def test_selecting_a_findings_passage_opens_the_knowledge_search(tmp_path):
    import gradio as gr

    from adgen.knowledge import KnowledgeBase
    from adgen.ui_knowledge import GUIDE_COLUMNS, _open_search

    (tmp_path / "book.md").write_text(BOOK, encoding="utf-8")
    KnowledgeBase("local", "northwind").add([tmp_path / "book.md"], "guideline")
    guides = [["brand.logo-clearspace", "✗ fail", "headline inside the logo's clear space", "book.md", 0.8, "Keep"]]
    event = gr.SelectData(None, {"index": [0, 3], "value": "book.md", "row_value": guides[0]})
    brand, query, kind, hits = _open_search("northwind", {"headers": GUIDE_COLUMNS, "data": guides},
                                                  event)
    assert brand == "northwind" and kind == "guideline"
    assert "headline inside the logo's clear space" in query
    assert hits[0][1] == "book.md" and hits[0][3] == "Logo"


@pytest.mark.slow
def test_the_apps_generate_regenerate_and_relayout_check_claims_against_the_knowledge(sd15_dir, tmp_path):
    """The Design tab's session is made for a tenant: its claims are checked against that tenant's knowledge."""
    from adgen import ui_session
    from adgen.knowledge import KnowledgeBase
    from adgen.settings import examples_dir
    from adgen.spec import load_product

    (tmp_path / "proof.md").write_text(EVIDENCE, encoding="utf-8")
    KnowledgeBase("local", "northwind").add([tmp_path / "proof.md"], "claim-evidence")
    product = load_product(examples_dir() / "products" / "northwind-cold-brew.yaml").model_copy(
        update={"features": ("Steeped for 18 hours",), "claims": (), "subhead": None})
    requests = ui_session.plan_requests(product, "northwind", ["iab-320x50"], 1, 0, str(sd15_dir), 1, cutout=False)

    def claim_statuses(session):
        return {f.measured["claim"]: f.status for result in session.assets.values()
                for f in result.report.findings if f.rule == "copy.claim-substantiated"}

    session = ui_session.generate_all(requests, lambda *_: None, tenant="local")
    assert claim_statuses(session) == {"Steeped for 18 hours": "pass"}
    ui_session.regenerate(session, next(iter(session.assets)), 5)
    assert claim_statuses(session) == {"Steeped for 18 hours": "pass"}
    ui_session.relayout_all(session, product.model_copy(update={"features": ("Clinically proven to boost energy",)}))
    assert claim_statuses(session) == {"Clinically proven to boost energy": "fail"}
    other = ui_session.generate_all(requests, lambda *_: None, tenant="rival")  # no knowledge base: skipped
    assert [f.status for r in other.assets.values() for f in r.report.findings
            if f.rule == "copy.claim-substantiated"] == ["skip"]


@pytest.mark.slow
def test_browser_upload_search_and_a_checked_findings_passage_opens_the_search(tmp_path):
    """Headless Chromium (Debian's, through playwright) against the local app: upload a brand book in the
    Knowledge tab, search it, then check an image and select a finding's passage: the Knowledge tab opens on it."""
    from pathlib import Path

    from api_helpers import free_port
    from conftest import EXAMPLES

    chromium_path = Path("/usr/bin/chromium")
    if not chromium_path.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    from adgen.knowledge import KnowledgeBase
    from adgen.ui import build_ui, launch_ui

    (tmp_path / "book.md").write_text(BOOK, encoding="utf-8")
    (tmp_path / "already.md").write_text(EVIDENCE, encoding="utf-8")
    KnowledgeBase("local", "northwind").add([tmp_path / "already.md"], "claim-evidence")
    blocks = build_ui()
    _, url, _ = launch_ui(blocks, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium_path), args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url)
            page.get_by_role("tab", name="Knowledge").click()
            _wait_for_text(page, "kb-sources", "already.md", timeout_ms=60_000)  # opening the tab lists the files
            page.locator("#kb-files input[type=file]").set_input_files(str(tmp_path / "book.md"))
            page.locator("#kb-files").get_by_text("book.md").wait_for(timeout=120_000)
            page.locator("#kb-add").click()
            page.locator("#kb-added").get_by_text("2 passage(s) embedded").wait_for(timeout=120_000)
            page.locator("#kb-query textarea, #kb-query input").first.fill("where does the logo go")
            page.locator("#kb-search").click()
            _wait_for_text(page, "kb-hits", "Keep the logo in the top left corner", timeout_ms=60_000)

            page.get_by_role("tab", name="Check").click()
            page.locator("#check-image input[type=file]").set_input_files(str(EXAMPLES / "images" / "cold-brew-bag.png"))
            page.locator("#check-image").get_by_text("cold-brew-bag.png").wait_for(timeout=120_000)
            page.locator("#check-button").click()
            _wait_for_text(page, "check-guides", "book.md", timeout_ms=300_000)  # a failing finding's passage
            page.locator("#check-guides").get_by_test_id("cell-0-3").click()
            knowledge = page.get_by_role("tab", name="Knowledge")
            page.wait_for_function("() => [...document.querySelectorAll('button[role=tab]')].some("
                                   "b => b.textContent.trim() === 'Knowledge' && b.getAttribute('aria-selected') === 'true')",
                                   timeout=60_000)
            assert knowledge.get_attribute("aria-selected") == "true"
            query = page.locator("#kb-query textarea, #kb-query input").first
            page.wait_for_function("(el) => el.value.length > 0", arg=query.element_handle(), timeout=60_000)
            assert query.input_value() != "where does the logo go"  # the finding's search, not the earlier one
            _wait_for_text(page, "kb-hits", "book.md", timeout_ms=60_000)
            browser.close()
    finally:
        blocks.close()


def _wait_for_text(page, elem_id: str, text: str, *, timeout_ms: int) -> None:
    """Until the component's visible text contains `text` (a Dataframe also renders hidden copies of its cells)."""
    page.wait_for_function("([id, text]) => (document.getElementById(id)?.innerText || '').includes(text)",
                           arg=[elem_id, text], timeout=timeout_ms)
