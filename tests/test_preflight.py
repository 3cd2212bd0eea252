"""Print preflight (`adgen check FILE.pdf`): a clean PDF/X-4 passes; each planted problem fails its rule.

The PDFs are made here by reportlab + pikepdf (tests/press_pdfs.py), not by adgen's writer, so
these are PDFs "others made". Each failing finding must carry its evidence: the page, the area in
mm where the problem was planted, the measured value and the threshold. Independent readers
(pypdf, Ghostscript) confirm what the rules read.
"""

from __future__ import annotations

import json
import shutil

import pytest
from press_pdfs import CMYK_PROFILE, GTIN, PAGE_H, PAGE_W, PLANT_AREAS, make_press_pdf
from typer.testing import CliRunner

from adgen.cli import app
from adgen.compliance.preflight import PREFLIGHT_RULES, open_pdf, preflight

pytestmark = pytest.mark.skipif(shutil.which("gs") is None or not CMYK_PROFILE.is_file(),
                                reason="needs Ghostscript (apt-get install ghostscript; .ci/run installs it)")

# Renders for the ink rules at 72 dpi keep the tests quick; barcodes keep their 300 dpi (the
# decoder needs about 3 px per module). Passed the way a brand kit overrides thresholds.
LOW_DPI = {"ink.total-coverage.dpi": 72, "ink.gamut.dpi": 72}

# (planted problem, PDF/X flavour declared, locale, the one rule that must fail)
CASES = [
    ("no-trimbox", "PDF/X-4", "de-DE", "pdf.boxes"),
    ("short-bleed", "PDF/X-4", "de-DE", "pdf.bleed"),
    ("no-pdfx", "PDF/X-4", "de-DE", "pdf.pdfx-version"),
    ("pdfx-info-only", "PDF/X-4", "de-DE", "pdf.pdfx-version"),  # X-4 is declared in XMP too
    ("no-output-intent", "PDF/X-4", "de-DE", "pdf.output-intent"),
    ("rgb-image", "PDF/X-1a:2001", "de-DE", "pdf.no-rgb"),
    ("unembedded-font", "PDF/X-4", "de-DE", "pdf.fonts-embedded"),
    ("transparency", "PDF/X-1a:2001", "de-DE", "pdf.transparency"),
    ("tac-360", "PDF/X-4", "de-DE", "ink.total-coverage"),
    ("rgb-green", "PDF/X-4", "de-DE", "ink.gamut"),
    ("mandatory-4pt", "PDF/X-4", "de-DE", "print.mandatory-text-size"),
    ("thin-line", "PDF/X-4", "de-DE", "print.thin-lines"),
    ("rich-black-8pt", "PDF/X-4", "de-DE", "print.rich-black-text"),
    ("image-150ppi", "PDF/X-4", "de-DE", "print.image-resolution"),
    ("barcode-small", "PDF/X-4", "de-DE", "barcode.size"),
    ("barcode-check-digit", "PDF/X-4", "de-DE", "barcode.check-digit"),
    ("barcode-quiet-zone", "PDF/X-4", "de-DE", "barcode.quiet-zone"),
]


@pytest.fixture(scope="module")
def clean_pdf(tmp_path_factory):
    return make_press_pdf(tmp_path_factory.mktemp("press") / "clean.pdf")


def run(path, locale="de-DE", **options):
    subject = open_pdf(path, locale=locale, brand_thresholds=LOW_DPI, **options)
    try:
        return preflight(subject)
    finally:
        subject.close()


def test_a_clean_pdf_x4_passes_every_rule(clean_pdf):
    report = run(clean_pdf)
    assert report.verdict == "pass", [f.message for f in report.findings if f.status != "pass"]
    assert {f.rule for f in report.findings} == {r.id for r in PREFLIGHT_RULES}
    assert all(f.status == "pass" for f in report.findings)
    decoded = [f for f in report.findings if f.rule == "barcode.check-digit"]
    assert [f.measured["gtin"] for f in decoded] == [GTIN]  # the one barcode, read once, right


@pytest.mark.parametrize("plant,pdfx,locale,rule", CASES, ids=[c[0] for c in CASES])
def test_a_planted_problem_fails_its_rule_with_evidence(tmp_path, plant, pdfx, locale, rule):
    report = run(make_press_pdf(tmp_path / f"{plant}.pdf", plant, pdfx=pdfx), locale)
    failed = [f for f in report.findings if f.status == "fail"]
    assert {f.rule for f in failed} == {rule}, [f.message for f in failed]
    for finding in failed:
        assert finding.page == 1 and finding.threshold is not None
        assert finding.measured is not None or rule in ("pdf.pdfx-version", "pdf.output-intent")
        if plant in PLANT_AREAS:  # the evidence box is where the problem was put
            assert _overlaps(finding.box_mm, PLANT_AREAS[plant]), (finding.box_mm, PLANT_AREAS[plant])


def test_a_trimbox_outside_the_bleedbox_fails_boxes_and_bleed(tmp_path):
    report = run(make_press_pdf(tmp_path / "inside.pdf", "bleed-inside-trim"))
    failed = {f.rule: f for f in report.findings if f.status == "fail"}
    assert set(failed) == {"pdf.boxes", "pdf.bleed"}
    assert "TrimBox is not inside BleedBox" in failed["pdf.boxes"].message
    assert failed["pdf.bleed"].measured["left"] == pytest.approx(-1.0, abs=0.01)


def test_every_preflight_rule_has_a_failing_case():
    assert {case[3] for case in CASES} == {r.id for r in PREFLIGHT_RULES}


def test_measured_values_are_the_planted_ones(tmp_path):
    pdf = make_press_pdf(tmp_path / "many.pdf", "tac-360", "rgb-green", "thin-line", "mandatory-4pt",
                         "rich-black-8pt", "image-150ppi", "barcode-small")
    report = run(pdf)
    first = {f.rule: f for f in reversed(report.findings) if f.status == "fail"}
    assert 355 <= first["ink.total-coverage"].measured["max_percent"] <= 361  # 4 x 90 %
    assert first["ink.gamut"].measured["colour"] == "#00FF00" and first["ink.gamut"].measured["max_delta_e00"] > 10
    assert first["print.thin-lines"].measured == {"pt": 0.1}
    # 4 pt NotoSans, x-height 536/1000 em: 4 * 0.3528 * 0.536 = 0.756 mm, EU needs 1.2 mm
    assert first["print.mandatory-text-size"].measured["mm"] == pytest.approx(0.756, abs=0.01)
    assert first["print.mandatory-text-size"].measured["metric"] == "the embedded font"
    assert first["print.rich-black-text"].measured["colour"] == [0.6, 0.4, 0.4, 1.0]
    assert first["print.image-resolution"].measured["ppi"] == pytest.approx(150, abs=3)
    assert first["barcode.size"].measured["magnification"] == pytest.approx(0.7, abs=0.02)


def test_the_locale_table_sets_the_legal_size(tmp_path):
    """Noto Sans's x-height is 0.536 em. EU: x-height >= 1.2 mm; US: 1/16 in (1.5875 mm); JP: an 8 pt (2.81 mm) em.

    A 200 cm² pack: no small-pack rule (EU < 80 cm², JP <= 150 cm²) applies.
    """
    rule = tuple(r for r in PREFLIGHT_RULES if r.id == "print.mandatory-text-size")
    verdicts = {}
    for size, plants in ((9, ()), (8, ("mandatory-8pt",)), (7, ("mandatory-7pt",))):
        pdf = make_press_pdf(tmp_path / f"{size}.pdf", *plants)
        for locale in ("de-DE", "en-US", "ja-JP"):
            subject = open_pdf(pdf, locale=locale, pack_surface_cm2=200)
            verdicts[size, locale] = preflight(subject, rule).verdict
            subject.close()
    assert verdicts == {
        (9, "de-DE"): "pass", (9, "en-US"): "pass", (9, "ja-JP"): "pass",   # x-height 1.70 mm, em 3.18 mm
        (8, "de-DE"): "pass", (8, "en-US"): "fail", (8, "ja-JP"): "pass",   # x-height 1.51 mm, em 2.82 mm
        (7, "de-DE"): "pass", (7, "en-US"): "fail", (7, "ja-JP"): "fail"}   # x-height 1.32 mm, em 2.47 mm
    # EU small pack (largest surface < 80 cm²): 0.9 mm; 4 pt text (0.76 mm) still fails, 5 pt (0.95 mm) passes.
    small = open_pdf(make_press_pdf(tmp_path / "s.pdf", "mandatory-4pt"), locale="de-DE", pack_surface_cm2=50)
    finding = next(f for f in preflight(small, rule).findings if f.status == "fail")
    assert finding.threshold["mm"] == 0.9 and "80 cm²" in finding.message
    small.close()


def test_the_printer_asking_for_x1a_fails_an_x4_file_with_rgb(tmp_path):
    pdf = make_press_pdf(tmp_path / "x4.pdf", "rgb-image")
    assert run(pdf).verdict != "fail"  # PDF/X-4 allows RGB (ink.gamut may warn on its greens)
    failed = {f.rule for f in run(pdf, pdfx="x-1a").findings if f.status == "fail"}
    assert failed == {"pdf.pdfx-version", "pdf.no-rgb"}


def test_independent_readers_agree_with_the_findings(clean_pdf, tmp_path):
    """pypdf (not pikepdf) reads the same boxes, output intent and embedded font; Ghostscript renders every page."""
    from pypdf import PdfReader

    report = run(clean_pdf)
    boxes = next(f for f in report.findings if f.rule == "pdf.boxes").measured
    page = PdfReader(clean_pdf).pages[0]
    to_mm = 25.4 / 72
    trim = [float(v) * to_mm for v in page.trimbox]
    assert boxes["trim_mm"] == pytest.approx([trim[0], PAGE_H - trim[3], trim[2], PAGE_H - trim[1]], abs=0.01)
    assert float(page.bleedbox[0]) * to_mm == pytest.approx(5.0, abs=0.01)
    reader = PdfReader(clean_pdf)
    intent = reader.trailer["/Root"]["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFX" and intent["/DestOutputProfile"].get_object()["/N"] == 4
    fonts = page["/Resources"]["/Font"]
    embedded = {str(f.get_object()["/BaseFont"]) for f in fonts.values()
                if "/FontDescriptor" in f.get_object() and "/FontFile2" in f.get_object()["/FontDescriptor"]}
    assert any(name.endswith("+NotoSans-Regular") for name in embedded)

    result = CliRunner().invoke(app, ["check", str(clean_pdf), "--locale", "de-DE", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    from PIL import Image

    render = Image.open(tmp_path / "r" / "clean-page-1.png")
    dpi = 150  # ink.gamut.dpi, the report's render
    assert render.size == (round(PAGE_W / 25.4 * dpi), round(PAGE_H / 25.4 * dpi))


def test_check_a_pdf_needs_only_the_file(tmp_path):
    """`adgen check FILE.pdf` (no --brand, no --format): exit 1 on a planted problem, the report draws it."""
    pdf = make_press_pdf(tmp_path / "bad.pdf", "tac-360")
    result = CliRunner().invoke(app, ["check", str(pdf)])
    assert result.exit_code == 1, result.output
    assert "ink.total-coverage" in result.output
    folder = tmp_path / "bad-preflight"
    page = json.loads((folder / "bad-page-1.report.json").read_text())
    finding = next(f for f in page["findings"] if f["rule"] == "ink.total-coverage")
    left, top, _, _ = finding["box"]  # pixels at 150 dpi of the mm evidence
    assert (left, top) == pytest.approx((20 / 25.4 * 150, 50 / 25.4 * 150), abs=2)
    html = (folder / "report.html").read_text()
    assert f'<rect x="{left}" y="{top}"' in html and "bad.pdf · page 1 of 1" in html
    boxes = next(f for f in page["findings"] if f["rule"] == "pdf.boxes")  # the TrimBox, drawn dashed
    trim = next(r["box"] for r in boxes["regions"] if r["label"] == "trim")
    assert trim[:2] == [round(8 / 25.4 * 150), round(8 / 25.4 * 150)] and "pdf.boxes: trim" in html


def test_check_an_image_still_needs_brand_and_format():
    from adgen.errors import InputError

    with pytest.raises(InputError, match="--brand and --format"):
        CliRunner().invoke(app, ["check", "examples/images/cold-brew-bag.png"], catch_exceptions=False)


def test_a_file_that_is_not_a_pdf_is_bad_input(tmp_path):
    from adgen.errors import InputError

    fake = tmp_path / "fake.pdf"
    fake.write_text("hello")
    with pytest.raises(InputError, match="not a PDF"):
        open_pdf(fake)


def _overlaps(a, b) -> bool:
    return a is not None and a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def test_findings_name_the_page_they_are_on(tmp_path):
    """Two pages, the problem on the second: the evidence says page 2, and the report draws it on page 2's render."""
    import pikepdf

    pdf = make_press_pdf(tmp_path / "two.pdf")
    with pikepdf.open(pdf, allow_overwriting_input=True) as first, \
            pikepdf.open(make_press_pdf(tmp_path / "bad.pdf", "thin-line")) as second:
        first.pages.extend(second.pages)
        first.save(pdf)
    report = run(pdf)
    failed = [f for f in report.findings if f.status == "fail"]
    assert {(f.rule, f.page) for f in failed} == {("print.thin-lines", 2)}
    result = CliRunner().invoke(app, ["check", str(pdf), "--locale", "de-DE", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    pages = [json.loads((tmp_path / "r" / f"two-page-{n}.report.json").read_text()) for n in (1, 2)]
    assert [p["verdict"] for p in pages] == ["pass", "fail"]


def test_the_cmyk_pdf_of_an_image_export_is_not_press_ready(tmp_path):
    """adgen.print_export's CMYK PDF (Pillow, a picture on a page) has no PDF/X, boxes or output intent."""
    from PIL import Image

    from adgen.formats import get_format
    from adgen.print_export import print_file

    fmt = get_format("pack-front")
    pdf = tmp_path / "export.pdf"
    pdf.write_bytes(print_file(Image.new("RGB", fmt.size.as_tuple(), (30, 60, 120)), fmt, "pdf"))
    failed = {f.rule for f in run(pdf).findings if f.status == "fail"}
    assert {"pdf.pdfx-version", "pdf.boxes", "pdf.output-intent"} <= failed


def test_adgen_rules_lists_the_preflight_rules_with_their_thresholds():
    result = CliRunner().invoke(app, ["rules"], env={"COLUMNS": "240"})
    assert result.exit_code == 0
    for rule in PREFLIGHT_RULES:
        assert rule.id in result.output
    assert "max_percent 300" in result.output and "min_x_height_mm 1.2" in result.output


def test_a_pdf_from_another_producer(tmp_path):
    """Rewritten by Ghostscript's pdfwrite: fonts re-subset (Helvetica now embedded as bare CFF), content
    streams and resources its own. The planted problems are still found where they were put, and the
    x-heights come from the fonts it embedded."""
    import subprocess

    made = make_press_pdf(tmp_path / "made.pdf", "tac-360", "thin-line", "mandatory-4pt", "unembedded-font")
    pdf = tmp_path / "gs.pdf"
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-dPDFSETTINGS=/prepress",
                    "-dEmbedAllFonts=true", f"-sOutputFile={pdf}", str(made)], check=True, timeout=120)
    report = run(pdf)
    failed = {f.rule: f for f in report.findings if f.status == "fail"}
    # pdfwrite keeps the boxes but drops the output intent and the PDF/X identification.
    assert set(failed) == {"pdf.pdfx-version", "pdf.output-intent", "ink.total-coverage", "print.thin-lines",
                           "print.mandatory-text-size"}
    for rule, plant in (("ink.total-coverage", "tac-360"), ("print.thin-lines", "thin-line"),
                        ("print.mandatory-text-size", "mandatory-4pt")):
        assert _overlaps(failed[rule].box_mm, PLANT_AREAS[plant]), rule
    assert failed["print.mandatory-text-size"].measured["mm"] == pytest.approx(0.756, abs=0.01)
    helvetica = [f for f in report.findings if f.rule == "pdf.fonts-embedded" and "Helvetica" in f.message]
    assert helvetica and all(f.status == "pass" and f.measured["subset"] for f in helvetica)


def test_x_height_of_a_bare_cff_font(tmp_path):
    """Type 1 fonts embedded as FontFile3/Type1C (no OS/2 table): the top of the 'x' glyph, / em."""
    import subprocess

    import pikepdf
    from reportlab.pdfgen import canvas

    from adgen.compliance.pdf_text_rules import _x_height

    source, pdf = tmp_path / "t.pdf", tmp_path / "cff.pdf"
    sheet = canvas.Canvas(str(source))
    sheet.setFont("Times-Roman", 10)
    sheet.drawString(100, 100, "xyz")
    sheet.save()
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-dPDFSETTINGS=/prepress",
                    "-dEmbedAllFonts=true", f"-sOutputFile={pdf}", str(source)], check=True, timeout=120)
    with pikepdf.open(pdf) as document:
        font = next(iter(document.pages[0].Resources.Font.values()))
        assert str(font.FontDescriptor.FontFile3.Subtype) == "/Type1C"
        ratio, source_name = _x_height(font, str(font.BaseFont)[1:])
    assert source_name == "the embedded font"
    assert ratio == pytest.approx(0.45, abs=0.01)  # Nimbus Roman (Times), Adobe's AFM says 0.448


def test_a_mediabox_away_from_the_origin(tmp_path):
    """Boxes and content moved 100 pt up and right: the evidence is still where the problems are on the page."""
    import pikepdf

    pdf = make_press_pdf(tmp_path / "moved.pdf", "tac-360", "thin-line", "rich-black-8pt")
    with pikepdf.open(pdf, allow_overwriting_input=True) as document:
        page = document.pages[0]
        page.contents_add(document.make_stream(b"q 1 0 0 1 100 100 cm"), prepend=True)
        page.contents_add(document.make_stream(b"Q"))
        for name in ("/MediaBox", "/BleedBox", "/TrimBox"):
            page.obj[name] = pikepdf.Array([float(v) + 100 for v in page.obj[name]])
        document.save(pdf)
    failed = {f.rule: f for f in run(pdf).findings if f.status == "fail"}
    assert set(failed) == {"ink.total-coverage", "print.thin-lines", "print.rich-black-text"}
    for rule, plant in (("ink.total-coverage", "tac-360"), ("print.thin-lines", "thin-line"),
                        ("print.rich-black-text", "rich-black-8pt")):
        assert _overlaps(failed[rule].box_mm, PLANT_AREAS[plant]), (rule, failed[rule].box_mm)


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_a_turned_page(tmp_path, rotate):
    """/Rotate turns the render; the evidence boxes turn with it, text keeps its size, the barcode still reads
    (its size and quiet zones measured along its scan line)."""
    import pikepdf

    pdf = make_press_pdf(tmp_path / "turned.pdf", "tac-360", "thin-line")
    with pikepdf.open(pdf, allow_overwriting_input=True) as document:
        document.pages[0].obj.Rotate = rotate
        document.save(pdf)
    failed = {f.rule: f for f in run(pdf).findings if f.status == "fail"}
    assert set(failed) == {"ink.total-coverage", "print.thin-lines"}
    left, top, right, bottom = PLANT_AREAS["tac-360"]
    turned = {90: (PAGE_H - bottom, left, PAGE_H - top, right),
              180: (PAGE_W - right, PAGE_H - bottom, PAGE_W - left, PAGE_H - top),
              270: (top, PAGE_W - right, bottom, PAGE_W - left)}[rotate]
    assert failed["ink.total-coverage"].box_mm == pytest.approx(turned, abs=0.5)  # measured on the render
    line = failed["print.thin-lines"].box_mm  # read by pdfplumber, turned with the page
    assert (line[2] - line[0] < 2 and line[3] - line[1] > 40) if rotate != 180 else (line[2] - line[0] > 40)


def test_image_options_given_with_a_pdf_are_named_as_unused(tmp_path):
    pdf = make_press_pdf(tmp_path / "p.pdf")
    result = CliRunner().invoke(app, ["check", str(pdf), "--format", "ig-square", "--locale", "de-DE"])
    assert result.exit_code == 0 and "--format: for images" in result.output


def test_an_unknown_pdfx_version_fails_only_its_own_rule(tmp_path):
    report = run(make_press_pdf(tmp_path / "x5.pdf", pdfx="PDF/X-5g"))
    failed = [f for f in report.findings if f.status == "fail"]
    assert [(f.rule, f.measured) for f in failed] == [("pdf.pdfx-version", "PDF/X-5g")]
