"""Preflight stage: every print rule over one PDF -> a Report whose findings carry page and mm evidence.

Runs on adgen's own press PDFs and on PDFs made elsewhere alike: nothing here reads what adgen's
writer knows, only what the file says (its boxes, output intent, fonts, objects) and what
Ghostscript renders of it. `adgen check FILE.pdf` calls it; docs/preflight.md lists the rules.
"""

from __future__ import annotations

from pathlib import Path

from adgen.compliance import Report, Rule, check
from adgen.compliance import pdf_image_rules as images
from adgen.compliance import pdf_ink_rules as ink
from adgen.compliance import pdf_structure_rules as structure
from adgen.compliance import pdf_text_rules as text
from adgen.compliance.pdf_subject import PdfSubject

# The registry: adding a rule is adding a row. Thresholds: adgen/data/thresholds.yaml (keys "<rule id>.<name>").
PREFLIGHT_RULES: tuple[Rule, ...] = (
    Rule("pdf.pdfx-version", "error", structure.pdfx_version, "declares PDF/X (Info and XMP), the flavour asked for"),
    Rule("pdf.boxes", "error", structure.boxes, "every page has a TrimBox; MediaBox ⊇ BleedBox ⊇ TrimBox"),
    Rule("pdf.bleed", "error", structure.bleed, "BleedBox at least the minimum beyond the TrimBox on every side"),
    Rule("pdf.output-intent", "error", structure.output_intent, "a GTS_PDFX output intent with a CMYK ICC profile"),
    Rule("pdf.fonts-embedded", "error", structure.fonts_embedded, "every font embedded (subsets noted)"),
    Rule("pdf.no-rgb", "error", structure.no_rgb, "no RGB images, text or vectors when PDF/X-1a is asked"),
    Rule("pdf.transparency", "error", structure.transparency, "live transparency only in PDF/X-4"),
    Rule("ink.total-coverage", "error", ink.total_coverage,
         "C+M+Y+K per pixel of Ghostscript's separation through the output intent under the limit"),
    Rule("ink.gamut", "error", ink.gamut, "rendered sRGB within CIEDE2000 of its round trip through the press profile"),
    Rule("print.mandatory-text-size", "error", text.mandatory_text_size,
         "mandatory text's x-height (or em) at the locale's legal minimum (EU FIC 1.2 mm)"),
    Rule("print.thin-lines", "error", text.thin_lines, "no stroke thinner than the minimum"),
    Rule("print.rich-black-text", "error", text.rich_black_text, "small text in K only, not rich black"),
    Rule("print.image-resolution", "error", images.image_resolution, "placed images' effective ppi"),
    Rule("barcode.check-digit", "error", images.check_digit,
         "GTIN barcodes decode (zxing-cpp) with a right check digit"),
    Rule("barcode.size", "error", images.size, "EAN/UPC magnification within 80-200 % of the 0.330 mm module"),
    Rule("barcode.quiet-zone", "error", images.quiet_zone,
         "light quiet zones beside the bars (EAN-13: 11 and 7 modules)"),
)


def open_pdf(path: Path, *, locale: str = "en-US", brand_thresholds: dict[str, float] | None = None,
             pdfx: str | None = None, pack_surface_cm2: float | None = None) -> PdfSubject:
    """The subject the preflight rules read; pdfx: the flavour the printer asked for ('x-1a', 'x-4'), None: the
    file's."""
    from adgen.compliance.pdf_subject import normalise_conformance
    from adgen.errors import InputError, NotFoundError

    path = Path(path)
    if not path.is_file():
        raise NotFoundError("no such PDF", file=str(path))
    with path.open("rb") as handle:
        if not handle.read(1024).lstrip().startswith(b"%PDF-"):
            raise InputError("not a PDF (no %PDF- header)", file=str(path))
    return PdfSubject(path, locale=locale, brand_thresholds=dict(brand_thresholds or {}),
                      asked=normalise_conformance(pdfx) if pdfx else None, pack_surface_cm2=pack_surface_cm2)


def preflight(subject: PdfSubject, rules: tuple[Rule, ...] = PREFLIGHT_RULES) -> Report:
    """Run each preflight rule; a rule that crashes is itself a failing finding (adgen.compliance.check)."""
    return check(subject, rules)
