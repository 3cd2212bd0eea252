"""Brand knowledge base: ingest by headings and pages, re-adding replaces only what changed, bad files named."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from adgen.errors import InputError, NotFoundError
from adgen.kb_ingest import passages_of
from adgen.knowledge import KnowledgeBase, existing, kb_path

BOOK = """# Logo

Keep the logo in the top left corner with clear space of a quarter of its height.

# Words

Never call the coffee "the cheapest". Say "cold brew", never "iced coffee".

- Headlines are sentence case.
- No exclamation marks.
"""


def text_pdf(pages: list[list[str]]) -> bytes:
    """A real PDF with a text layer: one Helvetica line per string, one page per list."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                                NameObject("/Subtype"): NameObject("/Type1"),
                                                NameObject("/BaseFont"): NameObject("/Helvetica")}))
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data("".join(f"BT /F1 12 Tf 72 {720 - 20 * i} Td ({line}) Tj ET\n"
                                for i, line in enumerate(lines)).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_markdown_passages_follow_headings_and_list_items():
    passages = passages_of(BOOK.encode(), "book.md", "guideline")
    assert [(p.heading, p.text[:20]) for p in passages] == [
        ("Logo", "Keep the logo in the"), ("Words", "Never call the coffe"),
        ("Words", "Headlines are senten"), ("Words", "No exclamation marks")]
    assert all(p.source == "book.md" and p.page is None and len(p.hash) == 64 for p in passages)


def test_html_sections_and_pdf_pages():
    html = b"<html><style>p{}</style><h1>Colour</h1><p>Navy on cream.</p><h2>Type</h2><p>Noto Sans.</p></html>"
    assert [(p.heading, p.text) for p in passages_of(html, "book.html", "guideline")] == [
        ("Colour", "Navy on cream."), ("Type", "Noto Sans.")]
    pdf = text_pdf([["Cold brew is steeped for 18 hours."], ["Beans are roasted in small batches."]])
    assert [(p.page, p.text) for p in passages_of(pdf, "evidence.pdf", "claim-evidence")] == [
        (1, "Cold brew is steeped for 18 hours."), (2, "Beans are roasted in small batches.")]


def _scanned_pdf() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(out, "PDF")
    return out.getvalue()


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["secret"]]))))
    writer.encrypt("password")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("name, data, message", [
    ("empty.md", b"  \n", "the file is empty"),
    ("scan.pdf", _scanned_pdf(), "no text layer"),
    ("locked.pdf", _encrypted_pdf(), "encrypted"),
    ("slides.pptx", b"PK..", "unsupported file type"),
])
def test_bad_files_are_named(name, data, message):
    with pytest.raises(InputError) as caught:
        passages_of(data, name, "guideline")
    assert name in str(caught.value) and message in str(caught.value)


def test_readding_a_changed_file_replaces_only_what_changed(tmp_path):
    book = tmp_path / "book.md"
    book.write_text(BOOK, encoding="utf-8")
    kb = KnowledgeBase("local", "northwind")
    assert vars(kb.add([book], "guideline")) == {"files": 1, "added": 4, "kept": 0, "removed": 0}
    book.write_text(BOOK.replace("No exclamation marks.", "One exclamation mark at most."), encoding="utf-8")
    assert vars(kb.add([book], "guideline")) == {"files": 1, "added": 1, "kept": 3, "removed": 1}
    assert kb.sources() == [{"source": "book.md", "kind": "guideline", "passages": 4, "pages": None}]
    hit = kb.search("how many exclamation marks may a headline have?", k=1)[0]
    assert hit.passage.text == "One exclamation mark at most." and hit.passage.heading == "Words"


def test_a_bad_file_in_a_batch_stores_nothing_and_loses_nothing(tmp_path):
    book, empty = tmp_path / "book.md", tmp_path / "empty.txt"
    book.write_text(BOOK, encoding="utf-8")
    empty.write_bytes(b"")
    kb = KnowledgeBase("local", "northwind")
    kb.add([book], "guideline")
    (tmp_path / "new.md").write_text("# New\n\nSomething new.\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty.txt"):
        kb.add([tmp_path / "new.md", empty], "guideline")
    assert [s["source"] for s in kb.sources()] == ["book.md"] and kb.count() == 4


def test_search_gives_score_source_and_page_and_remove_forgets(tmp_path):
    (tmp_path / "evidence.pdf").write_bytes(text_pdf([["Beans are roasted in small batches."],
                                                      ["Cold brew is steeped for 18 hours in filtered water."]]))
    kb = KnowledgeBase("local", "northwind")
    kb.add([tmp_path / "evidence.pdf"], "claim-evidence")
    best = kb.search("18-hour steep", kind="claim-evidence")[0]
    assert (best.passage.source, best.passage.page) == ("evidence.pdf", 2) and 0 < best.score <= 1
    assert kb.search("18-hour steep", kind="guideline") == []
    assert kb.remove("evidence.pdf") == 2 and existing("local", "northwind") is None
    with pytest.raises(NotFoundError, match="evidence.pdf"):
        kb.remove("evidence.pdf")


def test_tenants_and_brands_are_apart(tmp_path):
    (tmp_path / "a.txt").write_text("Tenant A's secret launch date is in May.", encoding="utf-8")
    KnowledgeBase("tenant-a", "northwind").add([tmp_path / "a.txt"], "copy-history")
    assert existing("tenant-a", "northwind") is not None
    assert existing("tenant-b", "northwind") is None and existing("tenant-a", "sakura") is None
    assert KnowledgeBase("tenant-b", "northwind").search("launch date") == []
    assert kb_path("../../etc", "northwind").parent.name.startswith("h-")  # no tenant name escapes kb/


def test_cli_add_search_and_unknown_brand(tmp_path):
    book = tmp_path / "book.md"
    book.write_text(BOOK, encoding="utf-8")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "adgen", "kb", *map(str, args)], capture_output=True,
                              text=True, timeout=120)

    added = cli("add", "--brand", "northwind", "--kind", "guideline", book)
    assert added.returncode == 0, added.stderr
    assert "4 passage(s) added" in added.stdout
    found = cli("search", "--brand", "northwind", "--json", "where does the logo go")
    assert '"source": "book.md"' in found.stdout and '"heading": "Logo"' in found.stdout
    unknown = cli("add", "--brand", "no-such-brand", "--kind", "guideline", book)
    assert unknown.returncode == 2 and "no-such-brand" in unknown.stderr


def _claim_findings(claims, *, brand="northwind", locale="en-US", evidence=None, kit=None, tenant="local"):
    from adgen.brand import load_brand
    from adgen.compliance import RULES, CheckSubject, check
    from adgen.formats import get_format

    if evidence:
        KnowledgeBase("local", brand).add_bytes([("evidence.md", evidence.encode())], "claim-evidence")
    fmt = get_format("ig-square")
    subject = CheckSubject(image=Image.new("RGB", fmt.size.as_tuple()), format=fmt, brand=kit or load_brand(brand),
                           locale=locale, claims=tuple(claims), tenant=tenant)
    return check(subject, tuple(r for r in RULES if r.id == "copy.claim-substantiated")).findings


def test_claim_evidence_names_passage_score_source_and_a_brand_may_only_warn():
    from adgen.brand import load_brand

    evidence = "# Steep\n\nOur cold brew gets an 18-hour steep.\n\n# Roast\n\nBeans are drum-roasted in small batches.\n"
    backed, unbacked = _claim_findings(["Steeped for 18 hours", "Clinically proven"], evidence=evidence)
    assert backed.status == "pass" and backed.measured["source"] == "evidence.md"
    assert backed.measured["heading"] == "Steep" and backed.measured["score"] >= backed.threshold
    assert unbacked.status == "fail" and unbacked.measured["score"] < unbacked.threshold
    lenient = load_brand("northwind").model_copy(update={"unsubstantiated_claims": "warn"})
    assert [f.status for f in _claim_findings(["Clinically proven"], kit=lenient)] == ["warn"]
    # A caller that names no tenant (the service's worker today) reads no one's knowledge base.
    assert [f.status for f in _claim_findings(["Clinically proven"], tenant=None)] == ["skip"]


# Ten cases of bench/data/claims_labelled.yaml (the whole set runs in `python -m bench knowledge recall`).
QUICK = [("en", "18-hour steep", True), ("en", "Fair Trade certified", True), ("en", "Clinically proven to boost energy", False),
         ("en", "Gluten free", False), ("ja", "一番茶だけを使用", True), ("ja", "有機JAS認証取得", True),
         ("ja", "日本で売上No.1", False), ("zh", "七次窨制", True), ("zh", "全国销量第一", False), ("zh", "医生推荐", False)]


@pytest.mark.parametrize("language", ["en", "ja", "zh"])
def test_labelled_claims_in_three_languages(language):
    import yaml

    labelled = Path(__file__).resolve().parents[1] / "bench" / "data" / "claims_labelled.yaml"
    evidence = yaml.safe_load(labelled.read_text(encoding="utf-8"))[language]["evidence"]
    brand, locale = {"en": ("northwind", "en-US"), "ja": ("sakura", "ja-JP"), "zh": ("sakura", "zh-CN")}[language]
    cases = [(claim, backed) for lang, claim, backed in QUICK if lang == language]
    findings = _claim_findings([c for c, _ in cases], brand=brand, locale=locale,
                               evidence="\n\n".join(evidence.values()))
    assert [(f.measured["claim"], f.status == "pass") for f in findings] == cases


def test_a_broken_pdf_is_named_not_a_crash():
    with pytest.raises(InputError, match="broken.pdf: not a readable PDF"):
        passages_of(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
                    "broken.pdf", "guideline")


def test_report_html_shows_the_guideline_beside_a_failing_finding(tmp_path):
    import json

    from adgen.evidence import write_evidence

    (tmp_path / "book.md").write_text(BOOK, encoding="utf-8")
    KnowledgeBase("local", "northwind").add([tmp_path / "book.md"], "guideline")
    out = tmp_path / "out" / "SKU"
    out.mkdir(parents=True)
    Image.new("RGB", (100, 100), "white").save(out / "ig-square-v1.png")
    findings = [{"rule": "brand.logo-clearspace", "status": "fail", "severity": "error", "box": None,
                 "message": "headline inside the logo's clear space"},
                {"rule": "format.size", "status": "pass", "severity": "error", "box": None, "message": "1080x1080"}]
    (out / "ig-square-v1.report.json").write_text(json.dumps(
        {"verdict": "fail", "findings": findings, "recipe": {"brand": "northwind"}}), encoding="utf-8")
    page = write_evidence(tmp_path / "out", [out / "ig-square-v1.report.json"])[0].read_text(encoding="utf-8")
    assert page.count('class="guide"') == 1  # the failing finding only
    assert "brand book (book.md" in page and "Keep the logo in the top left corner" in page


@pytest.mark.parametrize("product, brand, unbacked", [
    ("northwind-cold-brew.yaml", "northwind", {"Recyclable bag"}),
    ("sakura-matcha.yaml", "sakura", {"国内売上No.1"}),
])
def test_the_demo_knowledge_backs_some_claims_and_not_others(product, brand, unbacked):
    """`make demo` adds brand_kits/*/knowledge; each bundled product then shows the rule pass and fail."""
    from adgen.settings import brand_kits_dir, examples_dir
    from adgen.spec import load_product

    spec = load_product(examples_dir() / "products" / product)
    kb = KnowledgeBase("local", brand)
    for kind in ("guideline", "claim-evidence"):
        kb.add(sorted((brand_kits_dir() / brand / "knowledge" / kind).glob("*")), kind)
    from adgen.compliance.claim_rules import spec_claims

    findings = _claim_findings(spec_claims(spec), brand=brand, locale=spec.locale)
    assert {f.measured["claim"] for f in findings if f.status == "fail"} == unbacked
    assert sum(f.status == "pass" for f in findings) >= 2


def test_vectors_kept_in_memory_follow_every_write_and_a_file_made_anew(tmp_path):
    import shutil

    (tmp_path / "a.md").write_text("# A\n\nThe flask keeps drinks hot for 12 hours.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n\nThe beans are roasted in small batches.\n", encoding="utf-8")
    reader, writer = KnowledgeBase("local", "northwind"), KnowledgeBase("local", "northwind")
    writer.add([tmp_path / "a.md"], "guideline")
    assert [h.passage.source for h in reader.search("roasting")] == ["a.md"]  # now in memory
    writer.add([tmp_path / "b.md"], "guideline")
    assert reader.search("roasting")[0].passage.source == "b.md"
    writer.remove("b.md")
    assert [h.passage.source for h in reader.search("roasting")] == ["a.md"]
    shutil.rmtree(kb_path("local", "northwind").parent)  # the same path made again, same write count
    writer.add([tmp_path / "b.md"], "guideline")
    assert [h.passage.source for h in reader.search("roasting")] == ["b.md"]


def test_embedding_from_many_threads_gives_the_same_vectors():
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from adgen.kb_embed import embed

    texts = ["18-hour steep", "石臼挽き", "七次窨制", "Low acid"] * 4
    alone = embed(texts[:4], is_query=True)
    with ThreadPoolExecutor(8) as pool:
        vectors = list(pool.map(lambda t: embed([t], is_query=True)[0], texts))
    assert np.allclose(np.stack(vectors), np.tile(alone, (4, 1)), atol=1e-5)


def test_copy_sentences_with_figures_are_claims_too():
    from adgen.compliance.claim_rules import claim_like_sentences

    assert claim_like_sentences("Hot for 12 hours. Cold for 24.", "Double-wall steel that goes where you go.") == (
        "Hot for 12 hours.", "Cold for 24.")
    assert claim_like_sentences("Smooth cold brew, ready when you are", None) == ()
    assert claim_like_sentences("春の香り。有機栽培率１００％。") == ("有機栽培率１００％。",)
