"""What the preflight rules look at: one PDF file, read by independent readers, rendered by Ghostscript.

pikepdf (qpdf) reads the structure (boxes, output intent, fonts, image dictionaries), pdfplumber
(pdfminer) the placed objects (characters with their size, colour and marked-content tag; lines;
images with their placed box), Ghostscript the pixels. None of them is the library that wrote
the file, so the rules hold for PDFs others made as much as for adgen's.

Coordinates: evidence boxes are in mm from the MediaBox's top-left corner, the same frame as the
rendered page's pixels (mm * dpi / 25.4).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from adgen.compliance.thresholds import threshold
from adgen.errors import InputError

PT_PER_INCH = 72.0
MM_PER_INCH = 25.4
MM_PER_PT = MM_PER_INCH / PT_PER_INCH
CONFORMANCES = ("PDF/X-1a", "PDF/X-3", "PDF/X-4")
# The preflight's thresholds live in adgen/data/thresholds.yaml like every rule's; there is no
# format layer for a PDF, so its keys resolve defaults < locale < brand.
PDF_FORMAT_ID = "pdf"
# Ghostscript's own CMYK profile (Debian libgs-common, installed with ghostscript): the stand-in
# press condition when a file has no output intent (pdf.output-intent fails it; ink rules say so).
FALLBACK_CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")


@dataclass(frozen=True)
class PageBoxes:
    """A page's boxes in PDF points (x0, y0, x1, y1, origin bottom-left); None where the page has none."""

    number: int                        # 1-based
    media: tuple[float, float, float, float]
    trim: tuple[float, float, float, float] | None
    bleed: tuple[float, float, float, float] | None
    rotate: int = 0                    # /Rotate: the page is shown (and rendered) turned clockwise by this

    @property
    def size_mm(self) -> tuple[float, float]:
        """Width and height of the page as shown (rendered), in mm."""
        width, height = ((self.media[2] - self.media[0]) * MM_PER_PT, (self.media[3] - self.media[1]) * MM_PER_PT)
        return (height, width) if self.rotate in (90, 270) else (width, height)

    def mm(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A PDF-space box (bottom-left origin, pt) as (left, top, right, bottom) mm from the shown page's top-left."""
        x0, y0, x1, y1 = box
        left, top = self.media[0], self.media[3]
        return self.turn(((min(x0, x1) - left) * MM_PER_PT, (top - max(y0, y1)) * MM_PER_PT,
                          (max(x0, x1) - left) * MM_PER_PT, (top - min(y0, y1)) * MM_PER_PT))

    def turn(self, box_mm) -> tuple[float, float, float, float]:
        """An mm box on the unturned page (from its top-left) as it lies on the page turned by /Rotate."""
        width, height = ((self.media[2] - self.media[0]) * MM_PER_PT, (self.media[3] - self.media[1]) * MM_PER_PT)
        left, top, right, bottom = box_mm
        turned = {0: (left, top, right, bottom), 90: (height - bottom, left, height - top, right),
                  180: (width - right, height - bottom, width - left, height - top),
                  270: (top, width - right, bottom, width - left)}[self.rotate]
        return _round_mm(turned)

    @property
    def printed_box(self) -> tuple[float, float, float, float]:
        """What is printed and cut from: the BleedBox, else the TrimBox, else the MediaBox (pt)."""
        return self.bleed or self.trim or self.media


@dataclass(frozen=True)
class PdfSubject:
    path: Path
    locale: str = "en-US"
    brand_thresholds: dict[str, float] = field(default_factory=dict)
    # The PDF/X flavour the printer asked for; None: the one the file declares (else PDF/X-4).
    asked: str | None = None
    # The pack's largest surface in cm² (EU FIC Art. 13(3) small-pack rule); None: the TrimBox's area.
    pack_surface_cm2: float | None = None
    # Renders and per-page readings, computed once per check (the rules share them).
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def threshold(self, key: str) -> float:
        """A preflight threshold (adgen/data/thresholds.yaml) for this locale and brand."""
        return threshold(key, format_id=PDF_FORMAT_ID, locale=self.locale, brand_overrides=self.brand_thresholds)

    @cached_property
    def pike(self):
        import pikepdf

        try:
            return pikepdf.open(self.path)
        except (pikepdf.PdfError, OSError) as exc:
            raise InputError(f"not a readable PDF: {exc}", file=str(self.path)) from None

    @cached_property
    def plumber(self):
        import pdfplumber

        return pdfplumber.open(self.path)

    @cached_property
    def pages(self) -> tuple[PageBoxes, ...]:
        return tuple(PageBoxes(i + 1, _box(p.mediabox), _box(p.obj.get("/TrimBox")), _box(p.obj.get("/BleedBox")),
                               rotate=int(_inherited(p.obj, "/Rotate") or 0) % 360)
                     for i, p in enumerate(self.pike.pages))

    @cached_property
    def declared(self) -> str | None:
        """The PDF/X version the file declares (Info GTS_PDFXVersion, else XMP pdfxid), e.g. 'PDF/X-4'."""
        info = self.pike.trailer.get("/Info")
        value = str(info["/GTS_PDFXVersion"]) if info is not None and "/GTS_PDFXVersion" in info else None
        return value or self.xmp_pdfx

    @cached_property
    def xmp_pdfx(self) -> str | None:
        """pdfxid:GTS_PDFXVersion in the XMP metadata, or None."""
        try:
            return self.pike.open_metadata().get("pdfxid:GTS_PDFXVersion") or None
        except Exception:  # noqa: BLE001 - a broken XMP packet (bad XML, any parser error) declares nothing
            return None

    @property
    def conformance(self) -> str:
        """The flavour the rules judge by: asked, else declared, else PDF/X-4 (the one that allows most).

        A declaration the rules do not know (PDF/X-5, a typo) is judged as PDF/X-4; pdf.pdfx-version fails it.
        """
        try:
            return normalise_conformance(self.asked or self.declared or "PDF/X-4")
        except InputError:
            return "PDF/X-4"

    @cached_property
    def output_intent(self):
        """The first GTS_PDFX output intent's dictionary, or None."""
        intents = self.pike.Root.get("/OutputIntents")
        for intent in intents or ():
            if str(intent.get("/S", "")) == "/GTS_PDFX":
                return intent
        return None

    @cached_property
    def output_profile_bytes(self) -> bytes | None:
        intent = self.output_intent
        profile = intent.get("/DestOutputProfile") if intent is not None else None
        return bytes(profile.read_bytes()) if profile is not None else None

    @cached_property
    def output_profile_path(self) -> Path | None:
        """The output intent's ICC profile as a file (for Ghostscript), when it is a CMYK profile; else None."""
        if self.output_profile_bytes is None or _icc_space(self.output_profile_bytes) != "CMYK":
            return None
        handle = tempfile.NamedTemporaryFile(prefix="adgen-intent-", suffix=".icc", delete=False)
        with handle:
            handle.write(self.output_profile_bytes)
        return Path(handle.name)

    @property
    def press_profile_path(self) -> Path | None:
        """The CMYK profile renders separate through: the output intent's, else Ghostscript's default (SWOP)."""
        if self.output_profile_path is not None:
            return self.output_profile_path
        return FALLBACK_CMYK_PROFILE if FALLBACK_CMYK_PROFILE.is_file() else None

    def cmyk(self, dpi: float):
        """Every page's CMYK separation at dpi (H x W x 4 uint8), rendered once per dpi."""
        return self._rendered("cmyk", dpi, False)

    def rgb(self, dpi: float, *, antialias: bool = True):
        """Every page rendered to sRGB at dpi (PIL images), rendered once per dpi and antialiasing."""
        return self._rendered("rgb", dpi, antialias)

    def _rendered(self, kind: str, dpi: float, antialias: bool):
        from adgen.compliance.pdf_render import render_cmyk, render_rgb

        key = (kind, dpi, antialias)
        if key not in self.cache:
            profile = self.press_profile_path
            self.cache[key] = (render_cmyk(self.path, dpi, profile=profile) if kind == "cmyk"
                               else render_rgb(self.path, dpi, profile=profile, antialias=antialias))
        return self.cache[key]

    def object_mm(self, page_number: int, obj: dict) -> tuple[float, float, float, float]:
        """A pdfplumber object's box on a page, in mm from the shown page's top-left corner."""
        # pdfplumber keeps x from the PDF's origin and y from the MediaBox's top in its own frame, which
        # it has already turned by /Rotate; its page.mediabox says where the MediaBox's corner is in
        # that frame (not 0, 0 for every file).
        left, top = self.plumber.pages[page_number - 1].mediabox[:2]
        return _round_mm(((obj["x0"] - left) * MM_PER_PT, (obj["top"] - top) * MM_PER_PT,
                          (obj["x1"] - left) * MM_PER_PT, (obj["bottom"] - top) * MM_PER_PT))

    def close(self) -> None:
        for name in ("pike", "plumber"):
            if name in self.__dict__:
                self.__dict__[name].close()
        if "output_profile_path" in self.__dict__ and self.__dict__["output_profile_path"] is not None:
            self.__dict__["output_profile_path"].unlink(missing_ok=True)


def normalise_conformance(value: str) -> str:
    """'x-1a', 'PDF/X-1a:2001', 'PDF/X-4' ... -> one of CONFORMANCES."""
    match = re.search(r"x-?(1a|3|4)", value.lower())
    if match is None:
        raise InputError(f"PDF/X flavour is one of {', '.join(CONFORMANCES)}", field="pdfx", value=value)
    return {"1a": "PDF/X-1a", "3": "PDF/X-3", "4": "PDF/X-4"}[match.group(1)]


def pixel_box(box_mm: tuple[float, float, float, float], dpi: float) -> tuple[int, int, int, int]:
    """An mm box as pixel bounds (left, top, right, bottom) of a page rendered at dpi."""
    scale = dpi / MM_PER_INCH
    return (int(box_mm[0] * scale), int(box_mm[1] * scale), round(box_mm[2] * scale + 0.5),
            round(box_mm[3] * scale + 0.5))


def _inherited(page, key: str):
    """A page attribute that may sit on the page or on an ancestor in the page tree (/Rotate, /MediaBox)."""
    node, depth = page, 0
    while node is not None and depth < 64:  # a loop in a broken page tree ends here
        if key in node:
            return node[key]
        node, depth = node.get("/Parent"), depth + 1
    return None


def _box(value) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in value)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _round_mm(box) -> tuple[float, float, float, float]:
    return tuple(round(float(v), 2) for v in box)


def profile_facts(data: bytes) -> tuple[str, str]:
    """(colour space, description) of an ICC profile, read by littleCMS through Pillow."""
    import io

    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
    except (OSError, ImageCms.PyCMSError):
        return "unreadable", "unreadable ICC profile"
    return profile.profile.xcolor_space.strip(), ImageCms.getProfileDescription(profile).strip()


def _icc_space(data: bytes) -> str | None:
    """The ICC profile's data colour space signature (header bytes 16-19), e.g. 'CMYK', 'RGB'."""
    return data[16:20].decode("ascii", "replace").strip() if len(data) >= 20 else None
