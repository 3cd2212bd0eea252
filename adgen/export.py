"""Export stage: write the asset and its report atomically under OUT/<sku>/."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

EXTENSIONS = {"png": "png", "jpeg": "jpg"}


@dataclass(frozen=True)
class ExportedFiles:
    image: Path
    report: Path


def export(data: bytes, report: dict, *, out_dir: Path, sku: str, stem: str, file_type: str) -> ExportedFiles:
    """Write OUT/<sku>/<stem>.<ext> and <stem>.report.json; temp name first, rename when complete."""
    folder = out_dir / sku
    folder.mkdir(parents=True, exist_ok=True)
    image_path = folder / f"{stem}.{EXTENSIONS[file_type]}"
    report_path = folder / f"{stem}.report.json"
    write_atomic(image_path, data)
    # The report goes last: a report on disk means its image is complete.
    write_atomic(report_path, json.dumps(report, indent=2, ensure_ascii=False, default=str).encode("utf-8"))
    return ExportedFiles(image_path, report_path)


def write_atomic(path: Path, data: bytes) -> None:
    """Write data to path under a temporary name, synced, then renamed over it: never a torn file."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def keep_plate(result) -> Path:
    """The asset's plate as <stem>.plate.png beside it, with its prompt as <stem>.plate.txt: what
    `adgen lora train --from-approved` learns from once a reviewer approves the asset."""
    image = Path(result.files.image)
    plate = image.with_name(f"{image.stem}.plate.png")
    result.composition.plate.convert("RGB").save(plate)
    plate.with_suffix(".txt").write_text(result.prompt.text + "\n")
    return plate

