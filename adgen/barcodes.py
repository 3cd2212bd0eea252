"""Barcodes as vector data: a product's GTIN as EAN-13 / UPC-A / EAN-8 / ITF-14 bars, or a QR code.

barcode(gtin) -> Symbol: bars and human-readable digits in mm, quiet zones included in its
size, at a stated magnification. The module patterns come from python-barcode (the GS1
encodation tables, not re-typed here) and segno (QR); the drawing is ours, as rectangles,
so the PDF writer paints them as vector in one ink (no raster barcode, no anti-aliased edges).
"""

from __future__ import annotations

from dataclasses import dataclass

from adgen.errors import InputError

GTIN_LENGTHS = (8, 12, 13, 14)


@dataclass(frozen=True)
class Symbology:
    """A barcode type as GS1 sizes it (GS1 General Specifications 5.2.3.4 / 5.2.4, symbol spec tables).

    module_mm: X at 100 % (ITF-14: the narrow bar; python-barcode draws it as 2 modules, wide as 5).
    bar_mm: bar height at 100 %; guard_mm: how far guard bars run below the others (EAN/UPC).
    quiet_left/right: quiet zones in X. magnification: the allowed range, fractions of nominal.
    """

    id: str
    encoder: str  # python-barcode's name
    digits: int
    module_mm: float
    bar_mm: float
    guard_mm: float
    quiet_left: int
    quiet_right: int
    magnification: tuple[float, float]
    units_per_x: int = 1
    bearer_mm: float = 0.0


# GS1 General Specifications, Figure 5.2.3.4.1-1 (EAN/UPC: X 0.330 mm at 100 %, 80-200 %, bar
# height 22.85 mm, guard bars 5X longer, quiet zones 11X/7X for EAN-13, 9X/9X UPC-A, 7X/7X EAN-8)
# and 5.2.3.4.2 (ITF-14 on cartons: X 0.495-1.016 mm, bar height >= 32 mm, quiet zone 10X,
# bearer bar 4.83 mm). ITF-14's "100 %" here is X = 1.016 mm; its range is the 0.495 mm floor to it.
SYMBOLOGIES: dict[int, Symbology] = {
    13: Symbology("ean13", "ean13", 13, 0.330, 22.85, 1.65, 11, 7, (0.80, 2.00)),
    12: Symbology("upca", "upca", 12, 0.330, 22.85, 1.65, 9, 9, (0.80, 2.00)),
    8: Symbology("ean8", "ean8", 8, 0.330, 18.23, 1.65, 7, 7, (0.80, 2.00)),
    14: Symbology("itf14", "itf", 14, 1.016, 32.0, 0.0, 10, 10, (0.4872, 1.00), units_per_x=2, bearer_mm=4.83),
}
QR_MODULE_MM = 0.5   # a QR module at 100 %: read by phone cameras at arm's length
QR_QUIET_MODULES = 4  # ISO/IEC 18004 quiet zone
DIGIT_GAP_MM = 0.3    # between the bars and the human-readable digits (at 100 %)


@dataclass(frozen=True)
class Rect:
    """A filled rectangle in mm from the symbol's top-left corner (y down)."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Digits:
    """Human-readable interpretation: text centred at (x, baseline) in mm, size in mm (em)."""

    text: str
    x: float
    baseline: float
    size_mm: float


@dataclass(frozen=True)
class Symbol:
    """A barcode ready to draw: width/height in mm include the quiet zones; bars in one ink."""

    kind: str
    data: str
    width_mm: float
    height_mm: float
    bars: tuple[Rect, ...]
    digits: tuple[Digits, ...]
    magnification: float
    module_mm: float


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of a GTIN without its last digit (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(value: str, field: str = "gtin") -> str:
    """The GTIN unchanged when it is 8, 12, 13 or 14 digits with the right check digit; else InputError."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) not in GTIN_LENGTHS:
        raise InputError("a GTIN is 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13, GTIN-14)", field=field, value=value)
    expected = gtin_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise InputError(f"GTIN check digit is wrong: expected {expected}", field=field, value=value)
    return value


def barcode(gtin: str | None = None, *, magnification: float = 1.0, url: str | None = None) -> Symbol:
    """The GTIN's barcode (or, with url and no gtin, a QR code) as vector bars at a magnification."""
    if gtin is None:
        if not url:
            raise InputError("a barcode needs a gtin or a url", field="gtin", value=gtin)
        return _qr(url, magnification)
    validate_gtin(gtin)
    symbology = SYMBOLOGIES[len(gtin)]
    low, high = symbology.magnification
    if not low - 1e-9 <= magnification <= high + 1e-9:
        raise InputError(f"{symbology.id} magnification must be {low:.0%}-{high:.0%} of nominal",
                         field="magnification", value=magnification)
    return _linear(gtin, symbology, magnification)


def _linear(gtin: str, sym: Symbology, magnification: float) -> Symbol:
    import barcode as python_barcode  # python-barcode

    pattern = python_barcode.get_barcode_class(sym.encoder)(gtin[:-1] if sym.digits != 14 else gtin).build()[0]
    x = sym.module_mm * magnification
    unit = x / sym.units_per_x
    bar_h = sym.bar_mm * magnification
    guard_h = bar_h + sym.guard_mm * magnification
    bearer = sym.bearer_mm * magnification
    left = sym.quiet_left * x + bearer
    guards = _guard_modules(sym, len(pattern))
    bars = []
    for start, length in _runs(pattern):
        tall = any(g in guards for g in range(start, start + length))
        bars.append(Rect(left + start * unit, bearer, length * unit, guard_h if tall else bar_h))
    width = left + len(pattern) * unit + sym.quiet_right * x + bearer
    if bearer:  # ITF-14's bearer: a frame round the symbol so a skewed scan cannot read a partial code
        body_h = bar_h + 2 * bearer
        bars += [Rect(0, 0, width, bearer), Rect(0, bearer + bar_h, width, bearer),
                 Rect(0, 0, bearer, body_h), Rect(width - bearer, 0, bearer, body_h)]
    digit_mm = 2.75 * magnification  # OCR-B at 100 % is 2.75 mm high (GS1 5.2.5.1)
    baseline = bar_h + 2 * bearer + DIGIT_GAP_MM * magnification + digit_mm * 0.75
    digits = _digit_groups(gtin, sym, left, unit, baseline, digit_mm, width)
    return Symbol(sym.id, gtin, round(width, 4), round(baseline + digit_mm * 0.25, 4), tuple(bars), digits,
                  magnification, x)


def _runs(pattern: str) -> list[tuple[int, int]]:
    """(start, length) of each run of 1s (a bar) in a module pattern."""
    runs, start = [], None
    for i, bit in enumerate(pattern + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit != "1" and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def _guard_modules(sym: Symbology, n: int) -> set[int]:
    """Module indices of the guard bars that run long (EAN/UPC start, centre and end guards)."""
    if sym.id == "itf14":
        return set()
    centre = n // 2
    guards = set(range(3)) | set(range(centre - 2, centre + 3)) | set(range(n - 3, n))
    if sym.id == "upca":  # UPC-A's first and last digits' bars run long too
        guards |= set(range(3, 10)) | set(range(n - 10, n - 3))
    return guards


def _digit_groups(gtin: str, sym: Symbology, left: float, unit: float, baseline: float, size: float,
                  width: float) -> tuple[Digits, ...]:
    """Where the human-readable digits go: EAN/UPC in groups under the bars, ITF-14 centred."""
    def at(text: str, first: int, last: int) -> Digits:
        return Digits(text, left + (first + last) / 2 * unit, baseline, size)

    if sym.id == "ean13":
        return (Digits(gtin[0], left - 4 * unit, baseline, size), at(gtin[1:7], 3, 45), at(gtin[7:], 50, 92))
    if sym.id == "upca":
        return (Digits(gtin[0], left - 4 * unit, baseline, size * 0.8), at(gtin[1:6], 10, 45),
                at(gtin[6:11], 50, 85), Digits(gtin[11], left + 99 * unit, baseline, size * 0.8))
    if sym.id == "ean8":
        return (at(gtin[:4], 3, 31), at(gtin[4:], 36, 64))
    return (Digits(f"{gtin[0]} {gtin[1:3]} {gtin[3:8]} {gtin[8:13]} {gtin[13]}", width / 2, baseline, size),)


def _qr(url: str, magnification: float) -> Symbol:
    import segno

    if len(url) > 512 or not url.isprintable():
        raise InputError("a QR URL is at most 512 printable characters", field="qr_url", value=url[:80])
    qr = segno.make(url, error="m", micro=False)
    x = QR_MODULE_MM * magnification
    quiet = QR_QUIET_MODULES * x
    bars = []
    for row, bits in enumerate(qr.matrix):
        for start, length in _runs("".join("1" if b else "0" for b in bits)):
            bars.append(Rect(quiet + start * x, quiet + row * x, length * x, x))
    side = len(qr.matrix) * x + 2 * quiet
    return Symbol("qr", url, round(side, 4), round(side, 4), tuple(bars), (), magnification, x)
