"""`adgen check FILE.pdf`: the print preflight on a press PDF (adgen's or anyone's), with its HTML evidence."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()
EXIT_OK, EXIT_FAILED_RULE = 0, 1
STATUS_COLOURS = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


def check_pdf(pdf: Path, *, brand: str | None, locale: str, pdfx: str | None, out: Path | None,
              pack_surface_cm2: float | None, as_json: bool) -> int:
    """Run the preflight, write OUT/report.html with every finding drawn on its page; the exit code."""
    from adgen.compliance.preflight import open_pdf, preflight
    from adgen.preflight_report import write_preflight_report

    overrides = {}
    if brand:
        from adgen.brand import load_brand

        overrides = load_brand(brand).thresholds
    subject = open_pdf(pdf, locale=locale, brand_thresholds=overrides, pdfx=pdfx, pack_surface_cm2=pack_surface_cm2)
    try:
        started = time.perf_counter()
        report = preflight(subject)
        seconds = time.perf_counter() - started
        html_path, _ = write_preflight_report(subject, report, out or pdf.with_name(f"{pdf.stem}-preflight"))
        pages = len(subject.pages)
    finally:
        subject.close()
    if as_json:
        console.print_json(json.dumps({**report.as_dict(), "report": str(html_path), "pages": pages,
                                       "seconds": round(seconds, 2)}, default=str, ensure_ascii=False))
    else:
        _print(report, f"{pdf} ({pages} page{'s' * (pages != 1)}, {seconds:.1f} s)")
        console.print(f"report: {html_path}", highlight=False)
    return EXIT_FAILED_RULE if report.verdict == "fail" else EXIT_OK


def _print(report, title: str) -> None:
    table = Table("rule", "status", "page", "where (mm)", "message", title=f"{title}: {report.verdict}")
    for f in sorted(report.findings, key=lambda f: ["fail", "warn", "pass", "skip"].index(f.status)):
        where = " ".join(f"{v:g}" for v in f.box_mm) if f.box_mm else ""
        table.add_row(f.rule, f"[{STATUS_COLOURS[f.status]}]{f.status}[/]", str(f.page or ""), where, f.message)
    console.print(table)
