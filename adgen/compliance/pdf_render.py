"""Ghostscript renders of a PDF's pages for the preflight rules: CMYK separations and RGB pixels.

Ghostscript is an independent reader (Artifex's PDF interpreter, not the library that wrote the
file), and it is what many print shops' RIPs are built on. It is a system package (Debian
`ghostscript`), called as a subprocess; every page comes back at the stated resolution over the
whole MediaBox, top-left first, so a point (x pt, y pt from the top) is pixel (x, y) * dpi / 72.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from adgen.errors import AdgenError

GS_TIMEOUT_S = 300
T = TypeVar("T")


def render_cmyk(pdf: Path, dpi: float, *, profile: Path | None = None) -> list[np.ndarray]:
    """Each page as an H x W x 4 uint8 CMYK array (0-255 per ink), as the output intent separates it.

    DeviceCMYK objects pass through unchanged: the default CMYK profile is set to the output
    profile, so Ghostscript sees the same profile on both sides and does not transform (a
    CMYK -> Lab -> CMYK round trip would turn 100 % K into a four-ink black and change the
    coverage it is meant to measure). RGB objects are separated through the output profile.
    """
    from PIL import Image

    args = ["-sDEVICE=tiff32nc"]
    if profile is not None:
        args += [f"-sOutputICCProfile={profile}", f"-sDefaultCMYKProfile={profile}"]
    def read(path: Path) -> np.ndarray:
        with Image.open(path) as handle:
            return np.asarray(handle.convert("CMYK"), dtype=np.uint8)

    return _gs(pdf, dpi, args, "tif", read)


def render_rgb(pdf: Path, dpi: float, *, profile: Path | None = None, antialias: bool = True):
    """Each page as an sRGB PIL image (8 bits per channel); antialiased text and graphics by default.

    profile: the press's CMYK profile, which DeviceCMYK objects are shown through (as they print).
    """
    from PIL import Image

    args = ["-sDEVICE=png16m"] + ([f"-sDefaultCMYKProfile={profile}"] if profile is not None else [])
    if antialias:
        args += ["-dGraphicsAlphaBits=4", "-dTextAlphaBits=4"]
    def read(path: Path):
        with Image.open(path) as handle:
            return handle.convert("RGB")

    return _gs(pdf, dpi, args, "png", read)


def _gs(pdf: Path, dpi: float, device_args: list[str], suffix: str, read: Callable[[Path], T]) -> list[T]:
    """Run gs once over every page into a temp folder; each page file read in page order."""
    gs = shutil.which("gs")
    if gs is None:
        raise AdgenError("preflight needs Ghostscript: install the `ghostscript` package (apt-get install ghostscript)",
                         field="gs")
    folder = Path(tempfile.mkdtemp(prefix="adgen-gs-"))
    command = [gs, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", f"-r{dpi:g}", *device_args,
               f"-sOutputFile={folder / ('page-%04d.' + suffix)}", str(pdf)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=GS_TIMEOUT_S, check=False)
        pages = sorted(folder.glob(f"page-*.{suffix}"))
        if done.returncode != 0 or not pages:
            message = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[-400:]
            raise AdgenError(f"Ghostscript could not render the PDF: {message or 'no page came out'}",
                             file=str(pdf))
        return [read(p) for p in pages]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
