"""The press file: one PDF/X-4 page per flat, with real boxes, an output intent and the dieline apart.

press_pdf(art, title=...) -> bytes. Vector text, rules and barcodes are drawn by reportlab (it
embeds each TrueType font as a subset); the raster, the dieline and the PDF/X parts are added
with pikepdf, because reportlab has no optional content or output intents:
- MediaBox = BleedBox + a slug; TrimBox = the flat (the cut's bounds); BleedBox = trim + bleed.
- OutputIntent /GTS_PDFX with a CMYK ICC profile (default: Ghostscript's Artifex SWOP profile,
  Debian package libgs-common; ADGEN_CMYK_PROFILE names your printer's), and the raster and
  every fill converted to CMYK through that same profile.
- The dieline in a Separation "Dieline" set to overprint, inside an optional-content group
  "Dieline": a RIP outputs no plate for it and knocks nothing out under it.
- GTS_PDFXVersion "PDF/X-4" in the Info dictionary and the XMP (ISO 15930-7 6.2.2 / 6.6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import uuid
import zlib
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageCms

from adgen.color import Color
from adgen.errors import NotFoundError
from adgen.pack_art import PackArt
from adgen.pack_label import PlacedSymbol, TextRun

MM = 72 / 25.4  # PDF points per mm
SLUG_MM = 6.0
DEFAULT_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")
DIELINE_SPOT = "Dieline"
DIELINE_ALTERNATE = (0.0, 1.0, 0.0, 0.0)  # shown as 100 % magenta on a proof; its own plate on press
DIELINE_WIDTH_PT = 0.5
CREASE_DASH_PT = (6, 3)
K_TEXT = (0.0, 0.0, 0.0, 1.0)


def press_pdf(art: PackArt, *, title: str, profile: Path | None = None,
              created: dt.datetime | None = None) -> bytes:
    """The flat as a PDF/X-4 page: CMYK raster under vector label text and barcodes, dieline on top."""
    icc = _profile_path(profile)
    flat = art.flat
    offset = SLUG_MM + flat.bleed_mm  # mm from the MediaBox's edge to the trim
    page_w, page_h = (flat.width_mm + 2 * offset) * MM, (flat.height_mm + 2 * offset) * MM
    vector = _vector_page(art, icc, (page_w, page_h), offset, title)
    return _finish(vector, art, icc, (page_w, page_h), offset, title, created or dt.datetime.now(dt.timezone.utc))


def _profile_path(profile: Path | None) -> Path:
    path = Path(profile or os.environ.get("ADGEN_CMYK_PROFILE") or DEFAULT_PROFILE)
    if not path.is_file():
        raise NotFoundError("no CMYK output profile", field="profile", value=str(path),
                            hint="apt-get install ghostscript (its libgs-common ships default_cmyk.icc), or set "
                                 "ADGEN_CMYK_PROFILE to your printer's .icc")
    return path


# --- vector layer (reportlab) ---

def _vector_page(art: PackArt, icc: Path, size: tuple[float, float], offset: float, title: str) -> bytes:
    from reportlab.lib.colors import CMYKColor
    from reportlab.pdfgen import canvas as rl_canvas

    fonts = _register_fonts([run for panel in art.panels for run in panel.texts] + _symbol_digits(art))
    out = io.BytesIO()
    # reportlab opens every page with its initial font (Helvetica, not embedded: PDF/X forbids it).
    page = rl_canvas.Canvas(out, pagesize=size, pageCompression=1, invariant=1,
                            initialFontName=fonts[_digits_font()])
    page.setTitle(title)
    height = size[1]
    X = lambda mm: (mm + offset) * MM
    Y = lambda mm: height - (mm + offset) * MM
    k = CMYKColor(*K_TEXT)
    for panel in art.panels:
        for fill in panel.fills:
            page.setFillColor(CMYKColor(*_cmyk(fill.color, icc)))
            page.rect(X(fill.x), Y(fill.y + fill.h), fill.w * MM, fill.h * MM, stroke=0, fill=1)
        page.setStrokeColor(k)
        for rule in panel.rules:
            page.setLineWidth(rule.width_mm * MM)
            page.line(X(rule.x0), Y(rule.y0), X(rule.x1), Y(rule.y1))
        for run in panel.texts:
            page.setFillColor(k if run.ink == "k" else CMYKColor(0, 0, 0, 0))
            _draw_text(page, run, fonts, X(run.x), Y(run.y))
        if panel.symbols:  # one white ground under all the panel's symbols, their quiet zones inside it
            from adgen.pack_art import BARCODE_PAD_MM

            left, top, right, bottom = _symbols_box(panel.symbols)
            page.setFillColor(CMYKColor(0, 0, 0, 0))
            page.rect(X(left - BARCODE_PAD_MM), Y(bottom + BARCODE_PAD_MM), (right - left + 2 * BARCODE_PAD_MM) * MM,
                      (bottom - top + 2 * BARCODE_PAD_MM) * MM, stroke=0, fill=1)
        for placed in panel.symbols:
            _draw_symbol(page, placed, fonts, X(placed.x), Y(placed.y), k)
    page.showPage()
    page.save()
    _forget_fonts(fonts.values())
    return out.getvalue()


def _forget_fonts(names) -> None:
    """Drop this page's fonts from reportlab's process-wide registry once the page is written.

    reportlab has no unregister; every pack registers fonts named after its own text, so a service
    making packs all day would keep every one of them. Its registry is a module dict (_fonts).
    """
    from reportlab.pdfbase import pdfmetrics

    for name in set(names):
        pdfmetrics._fonts.pop(name, None)


def _digits_font() -> tuple[str, int]:
    """The barcode digits' font (GS1 asks for OCR-B; Noto Sans' digits are the packaged stand-in)."""
    from adgen.fonts import FontSpec, font_path

    return (str(font_path(FontSpec("Noto Sans", 400), "latin")), 400)


def _symbol_digits(art: PackArt) -> list[TextRun]:
    """The digits under every barcode, plus "0": the digits font always exists (it is the page's initial font)."""
    path, weight = _digits_font()
    digits = [d.text for p in art.panels for s in p.symbols for d in s.symbol.digits]
    return [TextRun(text, 0, 0, 1.0, Path(path), weight) for text in ["0", *digits]]


def _register_fonts(runs: list[TextRun]) -> dict[tuple[str, int], str]:
    """Each (font file, weight) as a static TrueType instance holding only the characters drawn.

    The packaged fonts are variable; a PDF needs static outlines, so fontTools subsets the file to
    the text (fast) and pins the weight axis; reportlab then embeds it, itself as a subset.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont as ReportlabTTF

    chars: dict[tuple[str, int], set[str]] = {}
    for run in runs:
        chars.setdefault((str(run.font), run.weight), set()).update(run.text)
    names = {}
    for (path, weight), used in chars.items():
        text = "".join(sorted(used))
        name = "adgen-" + hashlib.sha256(f"{path}:{weight}:{text}".encode()).hexdigest()[:12]
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(ReportlabTTF(name, io.BytesIO(_static_subset(path, weight, text))))
        names[(path, weight)] = name
    return names


@lru_cache(maxsize=64)
def _static_subset(path: str, weight: int, text: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = TTFont(path)
    options = subset.Options(layout_features=["*"], notdef_outline=True, name_IDs=["*"])
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text + " ")
    subsetter.subset(font)
    if "fvar" in font:
        axes = {axis.axisTag: axis for axis in font["fvar"].axes}
        pins = {"wght": min(max(weight, axes["wght"].minValue), axes["wght"].maxValue)} if "wght" in axes else {}
        pins.update({tag: axis.defaultValue for tag, axis in axes.items() if tag not in pins})
        font = instancer.instantiateVariableFont(font, pins)
    # reportlab names an embedded subset after the PostScript name: two instances of one family
    # (400 and 700) would share it and draw each other's glyphs. Give each its own.
    family = font["name"].getDebugName(6) or Path(path).stem
    unique = "".join(ch for ch in family if ch.isalnum() or ch == "-")[:40]
    unique += f"-W{weight}-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    for record in list(font["name"].names):
        if record.nameID == 6:
            font["name"].removeNames(nameID=6, platformID=record.platformID)
    font["name"].setName(unique, 6, 3, 1, 0x409)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _draw_text(page, run: TextRun, fonts: dict, x: float, y: float) -> None:
    if run.mandatory:
        # Legal text in a /Mandatory marked-content sequence (innermost): a preflight judges its size
        # (docs/preflight.md). reportlab has no marked-content call; its page operators are _code.
        page._code.append("/Mandatory BMC")
    page.saveState()
    page.translate(x, y)
    if run.rotation:
        page.rotate(run.rotation)  # counter-clockwise in PDF space: 90 reads bottom to top
    page.setFont(fonts[(str(run.font), run.weight)], run.size_mm * MM)
    draw = {"left": page.drawString, "center": page.drawCentredString, "right": page.drawRightString}[run.anchor]
    draw(0, 0, run.text)
    page.restoreState()
    if run.mandatory:
        page._code.append("EMC")


def _symbols_box(placed: tuple[PlacedSymbol, ...]) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) in mm of the symbols as placed, quiet zones included."""
    boxes = []
    for p in placed:
        w, h = (p.symbol.width_mm, p.symbol.height_mm) if p.rotation == 0 else (p.symbol.height_mm, p.symbol.width_mm)
        boxes.append((p.x, p.y, p.x + w, p.y + h))
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _draw_symbol(page, placed: PlacedSymbol, fonts: dict, x: float, y: float, ink) -> None:
    """The bars and digits in 100 % K, all vector (on the white ground drawn under them)."""
    symbol = placed.symbol
    page.saveState()
    page.translate(x, y)
    if placed.rotation == 90:  # the symbol's top-left lands at the top-right of its turned box
        page.translate(symbol.height_mm * MM, 0)
        page.rotate(-90)
    page.setFillColor(ink)
    for bar in symbol.bars:
        page.rect(bar.x * MM, -(bar.y + bar.h) * MM, bar.w * MM, bar.h * MM, stroke=0, fill=1)
    key = _digits_font()
    for digits in symbol.digits:
        page.setFont(fonts[key], digits.size_mm * MM)
        page.drawCentredString(digits.x * MM, -digits.baseline * MM, digits.text)
    page.restoreState()


def _cmyk(hex_color: str, icc: Path) -> tuple[float, float, float, float]:
    rgb = Image.new("RGB", (1, 1), Color.from_hex(hex_color).as_tuple())
    c, m, y, k = _to_cmyk(rgb, icc).getpixel((0, 0))
    return (c / 255, m / 255, y / 255, k / 255)


def _to_cmyk(image: Image.Image, icc: Path) -> Image.Image:
    """sRGB -> the output intent's CMYK (relative colorimetric, black-point compensation)."""
    return ImageCms.applyTransform(image.convert("RGB"), _transform(str(icc)))


@cache
def _transform(icc: str):
    return ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.getOpenProfile(icc), "RGB", "CMYK",
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                   flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)


# --- PDF/X structure (pikepdf) ---

def _finish(vector: bytes, art: PackArt, icc: Path, size: tuple[float, float], offset: float, title: str,
            created: dt.datetime) -> bytes:
    import pikepdf
    from pikepdf import Array, Dictionary, Name, Stream

    pdf = pikepdf.open(io.BytesIO(vector))
    page = pdf.pages[0]
    flat = art.flat
    b = flat.bleed_mm
    trim = [offset * MM, offset * MM, (offset + flat.width_mm) * MM, (offset + flat.height_mm) * MM]
    bleed = [(offset - b) * MM, (offset - b) * MM, (offset + flat.width_mm + b) * MM, (offset + flat.height_mm + b) * MM]
    page.obj.MediaBox = Array([0, 0, size[0], size[1]])
    page.obj.TrimBox = Array([round(v, 4) for v in trim])
    page.obj.BleedBox = Array([round(v, 4) for v in bleed])
    # 1. the plate, in CMYK through the output profile, under everything (placed at exactly ppi)
    cmyk = _to_cmyk(art.raster, icc)
    image = Stream(pdf, zlib.compress(cmyk.tobytes(), 6), Type=Name.XObject, Subtype=Name.Image,
                   Width=cmyk.width, Height=cmyk.height, ColorSpace=Name.DeviceCMYK, BitsPerComponent=8,
                   Filter=Name.FlateDecode)
    resources = _child(page.obj, Name.Resources)
    _child(resources, Name.XObject)[Name.ImFlat] = image
    w, h = bleed[2] - bleed[0], bleed[3] - bleed[1]
    under = Stream(pdf, f"q {w:.4f} 0 0 {h:.4f} {bleed[0]:.4f} {bleed[1]:.4f} cm /ImFlat Do Q\n".encode())
    # 2. the dieline: its own spot colour, overprinting, in an optional-content group
    ocg = pdf.make_indirect(Dictionary(Type=Name.OCG, Name=DIELINE_SPOT,
                                       Intent=Array([Name.Design, Name.View])))
    pdf.Root.OCProperties = Dictionary(OCGs=Array([ocg]), D=Dictionary(
        Name="adgen", Order=Array([ocg]), ON=Array([ocg]), OFF=Array([])))
    tint = Dictionary(FunctionType=2, Domain=Array([0, 1]), C0=Array([0, 0, 0, 0]),
                      C1=Array(list(DIELINE_ALTERNATE)), N=1)
    _child(resources, Name.ColorSpace)[Name.CSDieline] = Array(
        [Name.Separation, Name("/" + DIELINE_SPOT), Name.DeviceCMYK, tint])
    _child(resources, Name.ExtGState)[Name.GSDieline] = Dictionary(
        Type=Name.ExtGState, OP=True, op=True, OPM=1)
    _child(resources, Name.Properties)[Name.MCDieline] = ocg
    over = Stream(pdf, _dieline_ops(flat, offset, size[1]))
    contents = page.obj.Contents
    parts = list(contents) if isinstance(contents, Array) else [contents]
    page.obj.Contents = Array([under, *parts, over])
    # 3. output intent, Info and XMP as PDF/X-4 wants them
    profile = Stream(pdf, icc.read_bytes(), N=4)
    description = ImageCms.getProfileDescription(ImageCms.getOpenProfile(str(icc))).strip()
    pdf.Root.OutputIntents = Array([Dictionary(
        Type=Name.OutputIntent, S=Name.GTS_PDFX, OutputConditionIdentifier="Custom",
        OutputCondition=description, Info=f"{description} ({icc.name})", RegistryName="",
        DestOutputProfile=profile)])
    stamp = created.astimezone(dt.timezone.utc)
    pdf_date = stamp.strftime("D:%Y%m%d%H%M%SZ")
    pdf.docinfo[Name.Title] = title
    pdf.docinfo[Name.Creator] = "adgen pack"
    pdf.docinfo[Name.Producer] = "adgen (reportlab, pikepdf)"
    pdf.docinfo[Name.CreationDate] = pdf_date
    pdf.docinfo[Name.ModDate] = pdf_date
    pdf.docinfo[Name.Trapped] = Name("/False")
    pdf.docinfo[Name.GTS_PDFXVersion] = "PDF/X-4"
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        iso = stamp.isoformat()
        meta["dc:title"] = title
        meta["xmp:CreateDate"] = iso
        meta["xmp:ModifyDate"] = iso
        meta["xmp:MetadataDate"] = iso
        meta["xmp:CreatorTool"] = "adgen pack"
        meta["pdf:Producer"] = "adgen (reportlab, pikepdf)"
        meta["pdf:Trapped"] = "False"
        meta["pdfxid:GTS_PDFXVersion"] = "PDF/X-4"
        digest = hashlib.sha256(vector).hexdigest()
        meta["xmpMM:DocumentID"] = f"uuid:{uuid.UUID(digest[:32])}"
        meta["xmpMM:InstanceID"] = f"uuid:{uuid.UUID(digest[32:])}"
        meta["xmpMM:VersionID"] = "1"
        meta["xmpMM:RenditionClass"] = "default"
    out = io.BytesIO()
    pdf.save(out, min_version="1.6", deterministic_id=True, compress_streams=True)
    return out.getvalue()


def _child(parent, key):
    """parent[key], created as an empty dictionary when missing (pikepdf has no setdefault)."""
    from pikepdf import Dictionary

    if key not in parent:
        parent[key] = Dictionary()
    return parent[key]


def _dieline_ops(flat, offset: float, height: float) -> bytes:
    """Content operators for the cut (solid) and crease (dashed) lines."""
    X = lambda mm: (mm + offset) * MM
    Y = lambda mm: height - (mm + offset) * MM
    # /Dieline innermost inside the layer: a preflight knows these strokes are drawing aids, not art.
    ops = ["/OC /MCDieline BDC", "/Dieline BMC", "q", "/GSDieline gs", "/CSDieline CS", "1 SCN", f"{DIELINE_WIDTH_PT} w", "[] 0 d"]
    for line in flat.cut:
        ops.append(_polyline(line, X, Y))
    ops.append(f"[{CREASE_DASH_PT[0]} {CREASE_DASH_PT[1]}] 0 d")
    for line in flat.crease:
        ops.append(_polyline(line, X, Y))
    ops += ["Q", "EMC", "EMC"]
    return ("\n".join(ops) + "\n").encode()


def _polyline(line, X, Y) -> str:
    first, *rest = line
    return f"{X(first[0]):.3f} {Y(first[1]):.3f} m " + " ".join(f"{X(x):.3f} {Y(y):.3f} l" for x, y in rest) + " S"
