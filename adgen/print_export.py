"""Print export: a CMYK TIFF or PDF of a print format's pixels, at its ppi, bleed included.

The conversion is device CMYK with full grey-component replacement, not an ICC transform:
adgen ships no press profile (the common ones, FOGRA/GRACoL, are not freely redistributable),
so a printer proofs the file with theirs. Full GCR keeps black text on the K plate alone
(no four-colour registration fringe on small copy) and total ink at or under 300%.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from adgen.errors import InputError
from adgen.formats import MM_PER_INCH, Format

PRINT_KINDS = ("tiff", "pdf")
PDF_JPEG_QUALITY = 95  # Pillow writes CMYK into PDF as DCT (JPEG); high quality keeps text edges clean


def print_file(image: Image.Image, fmt: Format, kind: str = "tiff") -> bytes:
    """The image as CMYK bytes (TIFF, LZW; or PDF) whose physical size is the format's mm + bleed."""
    if kind not in PRINT_KINDS:
        raise InputError(f"print export is one of {', '.join(PRINT_KINDS)}", field="print", value=kind)
    if not fmt.is_print:
        raise InputError("print export needs a format sized in mm (e.g. pack-front)", field="format", value=fmt.id)
    if image.size != fmt.size.as_tuple():
        raise InputError(f"image is not the format's {fmt.width}x{fmt.height} px", field="image", value=image.size)
    cmyk = to_cmyk(image)
    out = io.BytesIO()
    if kind == "tiff":
        cmyk.save(out, "TIFF", dpi=(fmt.ppi, fmt.ppi), compression="tiff_lzw")
    else:
        # resolution sets the page size: px / ppi inches, i.e. the trim plus bleed in mm.
        cmyk.save(out, "PDF", resolution=float(fmt.ppi), quality=PDF_JPEG_QUALITY,
                  title=f"adgen {fmt.id} {fmt.width_mm}x{fmt.height_mm} mm + {fmt.bleed_mm} mm bleed")
    return out.getvalue()


def to_cmyk(image: Image.Image) -> Image.Image:
    """sRGB -> device CMYK with full grey-component replacement (K carries all the grey)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    k = 1.0 - rgb.max(axis=2)
    spread = np.where(k < 1.0, 1.0 - k, 1.0)
    cmy = (1.0 - rgb - k[..., None]) / spread[..., None]
    cmyk = np.concatenate([cmy, k[..., None]], axis=2)
    return Image.fromarray(np.round(np.clip(cmyk, 0, 1) * 255).astype(np.uint8), "CMYK")


def page_size_mm(fmt: Format) -> tuple[float, float]:
    """Width and height of the printed file in mm: trim size plus bleed on every side."""
    return fmt.width / fmt.ppi * MM_PER_INCH, fmt.height / fmt.ppi * MM_PER_INCH
