"""manifest.csv: one row per asset (DESIGN §6), written atomically."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

COLUMNS = ("row", "sku", "format", "variant", "status", "verdict", "path", "report", "error")


@dataclass(frozen=True)
class ManifestRow:
    row: int | str
    sku: str
    format: str
    variant: int
    status: str          # ok | error
    verdict: str = ""    # pass | warn | fail for produced assets
    path: str = ""
    report: str = ""
    error: str = ""


def write_manifest(rows: list[ManifestRow], out_dir: Path) -> Path:
    """Write OUT/manifest.csv with paths relative to OUT."""
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    path = out_dir / "manifest.csv"
    temp = path.with_name(f".manifest.csv.{os.getpid()}.tmp")
    temp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(temp, path)
    return path
