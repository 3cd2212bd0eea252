"""The preflight's evidence people look at: each page rendered, its findings drawn on it, one HTML report.

Writes, per page, OUT/<pdf stem>-page-N.png (Ghostscript's sRGB render) and a report JSON beside
it whose findings carry pixel boxes converted from their mm evidence; then adgen.evidence draws
them as it does for images (report.html, contact-sheet.png). Findings about the whole file (its
PDF/X version, output intent) go with page 1.
"""

from __future__ import annotations

import json
from pathlib import Path

from adgen.compliance import Report
from adgen.compliance.pdf_subject import PdfSubject, pixel_box
from adgen.compliance.report import STATUS_ORDER


def write_preflight_report(subject: PdfSubject, report: Report, out_dir: Path) -> tuple[Path, Path]:
    """Write the page renders, their reports and OUT/report.html + OUT/contact-sheet.png; the two paths."""
    from adgen.evidence import write_evidence

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dpi = subject.threshold("ink.gamut.dpi")  # the gamut rule's render: already made, and enough to see by
    reports = []
    for page, image in zip(subject.pages, subject.rgb(dpi)):
        stem = f"{subject.path.stem}-page-{page.number}"
        image.save(out_dir / f"{stem}.png", optimize=True)
        findings = [_with_pixels(f.as_dict(), dpi) for f in report.findings if (f.page or 1) == page.number]
        worst = max((STATUS_ORDER[f["status"]] for f in findings), default=1)
        document = {"verdict": {0: "pass", 1: "pass", 2: "warn", 3: "fail"}[worst],
                    "title": f"{subject.path.name} · page {page.number} of {len(subject.pages)}",
                    "preflight": {"file": str(subject.path), "locale": subject.locale,
                                  "conformance": subject.conformance, "render_dpi": dpi,
                                  "page_mm": [round(v, 2) for v in page.size_mm]},
                    "findings": findings}
        path = out_dir / f"{stem}.report.json"
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        reports.append(path)
    return write_evidence(out_dir, reports)


def _with_pixels(finding: dict, dpi: float) -> dict:
    """The finding with `box` in pixels of the page render, from its mm evidence; boxes it measured
    (pdf.boxes' bleed_mm and trim_mm; not the MediaBox, which is the whole render) become named regions,
    drawn dashed whatever the status."""
    if finding.get("box_mm"):
        finding["box"] = list(pixel_box(tuple(finding["box_mm"]), dpi))
    measured = finding.get("measured")
    if isinstance(measured, dict):
        regions = [{"label": key[:-3], "box": list(pixel_box(tuple(value), dpi))} for key, value in measured.items()
                   if key.endswith("_mm") and key != "media_mm" and isinstance(value, (list, tuple))
                   and len(value) == 4]
        finding["regions"] = regions or finding.get("regions")
    return finding
