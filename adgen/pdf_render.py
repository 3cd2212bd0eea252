"""Render PDF pages to images with Ghostscript: an independent RIP, not the code that wrote the file."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

from adgen.errors import NotFoundError

RENDER_TIMEOUT_S = 300


def render_pdf(pdf: bytes, *, dpi: int = 72, box: str = "media") -> list[Image.Image]:
    """Every page as RGB at dpi; box: media (the whole sheet) or trim (cropped to the TrimBox)."""
    gs = shutil.which("gs")
    if gs is None:
        raise NotFoundError("Ghostscript is not installed", field="gs", hint="apt-get install ghostscript")
    with tempfile.TemporaryDirectory(prefix="adgen-gs-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        args = [gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=png16m", f"-r{int(dpi)}",
                "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4", "-dOverprint=/simulate",
                f"-sOutputFile={tmp}/page-%03d.png"]
        if box == "trim":
            args.append("-dUseTrimBox")
        subprocess.run([*args, str(source)], check=True, capture_output=True, timeout=RENDER_TIMEOUT_S)
        pages = []
        for path in sorted(Path(tmp).glob("page-*.png")):
            with Image.open(path) as page:
                pages.append(page.convert("RGB"))
        return pages
