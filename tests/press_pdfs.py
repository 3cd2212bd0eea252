"""Press PDFs made in the tests, clean or with one planted problem, for the preflight rules.

Drawn with reportlab, finished with pikepdf (boxes, output intent, PDF/X identification): not
adgen's own PDF writer, so the preflight is tested as it runs on files others made. The page is
a 120 x 80 mm pack panel with 3 mm bleed and 5 mm for marks beyond it; every planted object sits
at a known place, so a test can check that the finding's evidence box is where the problem is.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

MM = 72 / 25.4
TRIM_W, TRIM_H, BLEED, SLUG = 120.0, 80.0, 3.0, 5.0
PAGE_W, PAGE_H = TRIM_W + 2 * (BLEED + SLUG), TRIM_H + 2 * (BLEED + SLUG)
CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")  # Debian libgs-common (with ghostscript)
GTIN = "4006381333931"

# Where each planted problem goes: (left, top, right, bottom) mm from the page's top-left corner.
PLANT_AREAS = {
    "tac-360": (20.0, 50.0, 35.0, 60.0),
    "rgb-green": (40.0, 50.0, 55.0, 60.0),
    "thin-line": (20.0, 45.0, 70.0, 45.0),
    "rich-black-8pt": (60.0, 40.0, 95.0, 43.0),
    "mandatory-4pt": (60.0, 36.0, 95.0, 38.0),
    "image-150ppi": (20.0, 62.0, 40.0, 72.0),
    "rgb-image": (20.0, 62.0, 40.0, 72.0),
    "unembedded-font": (60.0, 30.0, 95.0, 34.0),
}
PLANTS = ("no-trimbox", "short-bleed", "no-pdfx", "no-output-intent", "rgb-image", "unembedded-font", "tac-360",
          "rgb-green", "mandatory-4pt", "thin-line", "rich-black-8pt", "image-150ppi", "barcode-small",
          "barcode-check-digit", "barcode-quiet-zone", "transparency", "mandatory-8pt", "mandatory-7pt",
          "pdfx-info-only", "bleed-inside-trim")


def noto_sans() -> Path:
    from adgen.fonts import FontSpec, font_path

    return font_path(FontSpec(weight=400), "latin")


def make_press_pdf(path: Path, *plants: str, pdfx: str = "PDF/X-4") -> Path:
    """A PDF/X (PDF/X-4 unless pdfx says otherwise) panel; each of `plants` (from PLANTS) adds its problem."""
    from reportlab.lib.colors import CMYKColor
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    assert set(plants) <= set(PLANTS), plants
    pdfmetrics.registerFont(TTFont("NotoSans", str(noto_sans())))
    c = canvas.Canvas(str(path), pagesize=(PAGE_W * MM, PAGE_H * MM))
    c.setFillColorCMYK(0.08, 0.0, 0.15, 0.0)  # a light background printed into the bleed
    _rect(c, SLUG, SLUG, PAGE_W - SLUG, PAGE_H - SLUG)
    c.setFillColorCMYK(0, 0, 0, 1)
    c.setFont("NotoSans", 14)
    c.drawString(20 * MM, (PAGE_H - 22) * MM, "Cold Brew")
    size = 8 if "mandatory-8pt" in plants else 7 if "mandatory-7pt" in plants else 9
    _mandatory(c, "Ingredients: water, coffee.", size, 60, 24)
    c.setLineWidth(0.5)
    c.setStrokeColor(CMYKColor(0, 0, 0, 1))
    c.line(20 * MM, (PAGE_H - 27) * MM, 70 * MM, (PAGE_H - 27) * MM)
    _image(c, (20, 62, 40, 72), ppi=150 if "image-150ppi" in plants else 320, rgb="rgb-image" in plants)
    _barcode(c, plants)
    for plant in plants:
        _plant(c, plant)
    c.showPage()
    c.save()
    _finish(path, plants, pdfx)
    return path


def _rect(c, left, top, right, bottom):
    c.rect(left * MM, (PAGE_H - bottom) * MM, (right - left) * MM, (bottom - top) * MM, fill=1, stroke=0)


def _mandatory(c, text: str, size: float, left: float, baseline_top: float):
    """Text in a /Mandatory marked-content sequence (how adgen's writer tags the legal information)."""
    c._code.append("/Mandatory BMC")
    c.setFillColorCMYK(0, 0, 0, 1)
    c.setFont("NotoSans", size)
    c.drawString(left * MM, (PAGE_H - baseline_top) * MM, text)
    c._code.append("EMC")


def _image(c, area, *, ppi: float, rgb: bool = False):
    from reportlab.lib.utils import ImageReader

    left, top, right, bottom = area
    width, height = (round((b - a) / 25.4 * ppi) for a, b in ((left, right), (top, bottom)))
    ramp = np.linspace(40, 200, width, dtype=np.uint8)[None, :].repeat(height, 0)
    pixels = np.stack([ramp, 255 - ramp, np.full_like(ramp, 90)], axis=2)
    image = Image.fromarray(pixels, "RGB")
    if not rgb:
        image = image.convert("CMYK")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    c.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), left * MM, (PAGE_H - bottom) * MM,
                (right - left) * MM, (bottom - top) * MM)


def _barcode(c, plants: tuple[str, ...]):
    """An EAN-13 in K, bars only, 100 % (0.330 mm modules) with its quiet zones, at (60, 44) mm."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode import eanbc
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.colors import CMYKColor

    class WrongCheckDigit(eanbc.Ean13BarcodeWidget):
        _checkdigit = classmethod(lambda cls, num: str((int(GTIN[-1]) + 3) % 10))

    widget_class = WrongCheckDigit if "barcode-check-digit" in plants else eanbc.Ean13BarcodeWidget
    magnification = 0.7 if "barcode-small" in plants else 1.0
    widget = widget_class(GTIN[:12], barWidth=0.330 * magnification * MM, barHeight=15 * MM * magnification,
                          humanReadable=0, barFillColor=CMYKColor(0, 0, 0, 1))
    x0, y0, x1, y1 = widget.getBounds()
    bars = widget.draw()
    for shape in bars.contents:  # reportlab strokes each bar with a 0-width (hairline) outline: fill only
        shape.strokeColor = None
    drawing = Drawing(x1 - x0, y1 - y0)
    drawing.add(bars)
    renderPDF.draw(drawing, c, 60 * MM, (PAGE_H - 62) * MM)
    if "barcode-quiet-zone" in plants:  # a bar of artwork 1 mm right of the last bar
        c.setFillColorCMYK(0, 0, 0, 1)
        bars_right = 60 + (x1 - x0) / MM - 7 * 0.330 * magnification
        _rect(c, bars_right + 1.0, 47, bars_right + 3.0, 62)


def _plant(c, plant: str):
    area = PLANT_AREAS.get(plant)
    if plant == "tac-360":
        c.setFillColorCMYK(0.9, 0.9, 0.9, 0.9)
        _rect(c, *area)
    elif plant == "rgb-green":
        c.setFillColorRGB(0, 1, 0)
        _rect(c, *area)
    elif plant == "thin-line":
        c.setLineWidth(0.1)
        c.setStrokeColor(_k())
        c.line(area[0] * MM, (PAGE_H - area[1]) * MM, area[2] * MM, (PAGE_H - area[3]) * MM)
    elif plant == "rich-black-8pt":
        c.setFillColorCMYK(0.6, 0.4, 0.4, 1.0)
        c.setFont("NotoSans", 8)
        c.drawString(area[0] * MM, (PAGE_H - area[3]) * MM, "Best before: see lid")
    elif plant == "mandatory-4pt":
        _mandatory(c, "Allergens: none.", 4, area[0], area[3])
    elif plant == "unembedded-font":
        c.setFillColorCMYK(0, 0, 0, 1)
        c.setFont("Helvetica", 10)
        c.drawString(area[0] * MM, (PAGE_H - area[3]) * MM, "Made in Oslo")
    elif plant == "transparency":
        c.setFillAlpha(0.5)
        c.setFillColorCMYK(0, 0.5, 0, 0)
        _rect(c, 20, 50, 35, 60)


def _k():
    from reportlab.lib.colors import CMYKColor

    return CMYKColor(0, 0, 0, 1)


def _finish(path: Path, plants: tuple[str, ...], pdfx: str):
    """Boxes, output intent and PDF/X identification, written with pikepdf."""
    import pikepdf

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0]
        bleed = SLUG + (2.0 if "short-bleed" in plants else 4.0 if "bleed-inside-trim" in plants else 0.0)
        page.obj.BleedBox = pikepdf.Array([v * MM for v in (bleed, bleed, PAGE_W - bleed, PAGE_H - bleed)])
        if "no-trimbox" not in plants:
            trim = SLUG + BLEED
            page.obj.TrimBox = pikepdf.Array([v * MM for v in (trim, trim, PAGE_W - trim, PAGE_H - trim)])
        if "no-output-intent" not in plants:
            profile = pdf.make_stream(CMYK_PROFILE.read_bytes())
            profile.N = 4
            pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
                Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX,
                OutputConditionIdentifier=pikepdf.String("CGATS TR 001"), RegistryName="http://www.color.org",
                DestOutputProfile=profile)])
        if "no-pdfx" not in plants:
            pdf.docinfo["/GTS_PDFXVersion"] = pikepdf.String(pdfx)
            if "pdfx-info-only" not in plants:
                with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
                    meta["pdfxid:GTS_PDFXVersion"] = pdfx
        pdf.save(path)
