"""Dielines: the converter's flat (cut, crease, panels) as data, from a box's dimensions, an SVG or a PDF.

dieline(source) -> Dieline. source is a box description ("tuck:70x30x120", "rsc:300x200x150",
"pouch:140x200", "label:90x60", sizes in mm) or an SVG dieline drawn by the convention in
docs/packaging.md: layers (groups) named cut, crease, bleed and panels; a panel is a
rectangle in the panels layer whose id (or inkscape:label) is its name. Coordinates are mm
on the flat, origin top-left, y down: the same frame the panel art and the PDF use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from adgen.errors import InputError, NotFoundError

Point = tuple[float, float]
BOX_PATTERN = re.compile(r"^(?P<style>[a-z]+):(?P<dims>\d+(\.\d+)?(x\d+(\.\d+)?){1,2})$")
MAX_FLAT_MM = 1600.0  # a B1 sheet's long side (1000 mm) with room: larger is a typo, not a carton
MAX_FLAT_AREA_MM2 = 1000.0 * 707.0  # a B1 sheet: the most one flat takes (at 300 ppi, ~97 Mpx)
MIN_PANEL_MM = 10.0
DEFAULT_BLEED_MM = 3.0
DEFAULT_SAFE_MM = 3.0
GLUE_FLAP_MM = 15.0  # manufacturer's joint: 12-20 mm is the usual folding-carton width (ECMA/FEFCO drawings)
TUCK_MM = 15.0
POUCH_SEAL_MM = {"top": 12.0, "bottom": 12.0, "side": 6.0}  # heat seals: nothing that must be read goes there
# The layer names the SVG convention accepts (lower-cased), and the spot colour names a PDF RIP
# knows them by (docs/packaging.md): a file may name a layer by either.
INKSCAPE_LABEL = "{http://www.inkscape.org/namespaces/inkscape}label"
LAYER_NAMES = {
    "cut": ("cut", "cutting", "die", "dieline", "cutcontour", "thru-cut"),
    "crease": ("crease", "creasing", "fold", "score", "rill"),
    "bleed": ("bleed",),
    "panels": ("panels", "panel", "artwork-panels"),
}


@dataclass(frozen=True)
class Panel:
    """One face of the flat: trim rect in mm, which way is up for its art, and its safe margin.

    role: front | back | side | top | bottom | flap | glue. Glue takes no ink at all (the carton
    is glued there); rotation (0, 90, 180, 270, clockwise) turns the art so it reads upright
    once the carton is folded.
    """

    name: str
    x: float
    y: float
    w: float
    h: float
    role: str
    rotation: int = 0
    safe: tuple[float, float, float, float] = (DEFAULT_SAFE_MM,) * 4  # top, right, bottom, left (mm)

    @property
    def printable(self) -> bool:
        return self.role != "glue"

    @property
    def safe_rect(self) -> tuple[float, float, float, float]:
        """(x, y, w, h) in mm inside which copy, logo and barcodes stay."""
        top, right, bottom, left = self.safe
        return (self.x + left, self.y + top, self.w - left - right, self.h - top - bottom)


@dataclass(frozen=True)
class Dieline:
    """The flat: trim size (the cut outline's bounds), lines by kind, panels, bleed beyond the cut."""

    name: str
    width_mm: float
    height_mm: float
    cut: tuple[tuple[Point, ...], ...]
    crease: tuple[tuple[Point, ...], ...]
    panels: tuple[Panel, ...]
    bleed_mm: float = DEFAULT_BLEED_MM
    notes: tuple[str, ...] = field(default=())

    def panel(self, name: str) -> Panel | None:
        return next((p for p in self.panels if p.name == name), None)

    def first(self, role: str) -> Panel | None:
        return next((p for p in self.panels if p.role == role), None)


def dieline(source: str | Path) -> Dieline:
    """A box description (style:WxDxH in mm, see BOX_STYLES) or an SVG dieline file, as panels and lines."""
    text = str(source).strip()
    match = BOX_PATTERN.fullmatch(text.lower())
    if match:
        style = match["style"]
        if style not in BOX_STYLES:
            raise InputError(f"unknown box style (known: {', '.join(BOX_STYLES)})", field="box", value=text)
        dims = tuple(float(v) for v in match["dims"].split("x"))
        builder, n_dims, _ = BOX_STYLES[style]
        if len(dims) not in n_dims:
            raise InputError(f"{style} takes {' or '.join(str(n) for n in n_dims)} sizes in mm (WxDxH)",
                             field="box", value=text)
        if min(dims) < MIN_PANEL_MM or max(dims) > MAX_FLAT_MM / 2:
            raise InputError(f"box sizes must be {MIN_PANEL_MM:g}-{MAX_FLAT_MM / 2:g} mm", field="box", value=text)
        return _checked(builder(text, *dims))
    path = Path(text)
    if path.suffix.lower() not in (".svg", ".pdf"):
        raise InputError("a dieline is an .svg or .pdf file or a box such as tuck:70x30x120 (mm)",
                         field="dieline", value=text)
    if not path.is_file():
        raise NotFoundError("dieline file not found", field="dieline", value=text)
    if path.suffix.lower() == ".pdf":
        from adgen.dieline_pdf import dieline_pdf

        return _checked(dieline_pdf(path))
    return _checked(_from_svg(path))


# --- boxes by dimensions ---

def _tuck_end(name: str, w: float, d: float, h: float) -> Dieline:
    """Reverse tuck-end folding carton (ECMA A20.20 family): glue | side | front | side | back in a row,
    the top closure on the back panel, the bottom closure on the front panel, dust flaps on the sides."""
    g, tuck, dust = min(GLUE_FLAP_MM, w * 0.8), min(TUCK_MM, d * 0.9), d * 0.75
    xs = [0.0, g, g + d, g + d + w, g + 2 * d + w, g + 2 * d + 2 * w]
    top = d + tuck
    y0, y1 = top, top + h
    body = [("glue", "glue", 0), ("side-left", "side", 0), ("front", "front", 0), ("side-right", "side", 0),
            ("back", "back", 0)]
    panels = [Panel(n, xs[i], y0, xs[i + 1] - xs[i], h, role, rot) for i, (n, role, rot) in enumerate(body)]
    # Closures: their art reads upright from the front once folded (top turned 180 degrees).
    panels += [Panel("top", xs[4], y0 - d, w, d, "top", 180), Panel("bottom", xs[2], y1, w, d, "bottom", 0),
               Panel("tuck-top", xs[4], 0.0, w, tuck, "flap", 180), Panel("tuck-bottom", xs[2], y1 + d, w, tuck, "flap")]
    for i, side in ((1, "left"), (3, "right")):
        panels += [Panel(f"dust-top-{side}", xs[i], y0 - dust, d, dust, "flap", 180),
                   Panel(f"dust-bottom-{side}", xs[i], y1, d, dust, "flap")]
    cut = _outline_of(panels)
    crease = tuple(((x, y0), (x, y1)) for x in xs[1:5]) + (
        ((xs[4], y0), (xs[5], y0)), ((xs[4], y0 - d), (xs[5], y0 - d)),
        ((xs[2], y1), (xs[3], y1)), ((xs[2], y1 + d), (xs[3], y1 + d)),
        ((xs[1], y0), (xs[2], y0)), ((xs[3], y0), (xs[4], y0)),
        ((xs[1], y1), (xs[2], y1)), ((xs[3], y1), (xs[4], y1)))
    return Dieline(name, xs[5], y1 + d + tuck, cut, crease, tuple(panels))


def _rsc(name: str, w: float, d: float, h: float) -> Dieline:
    """Regular slotted container (FEFCO 0201): glue | front | side | back | side, flaps of half the depth
    top and bottom on every panel, slots between the flaps."""
    g, flap = min(GLUE_FLAP_MM * 2, w * 0.8), d / 2
    xs = [0.0, g, g + w, g + w + d, g + 2 * w + d, g + 2 * w + 2 * d]
    y0, y1 = flap, flap + h
    body = [("glue", "glue"), ("front", "front"), ("side-left", "side"), ("back", "back"), ("side-right", "side")]
    panels = [Panel(n, xs[i], y0, xs[i + 1] - xs[i], h, role) for i, (n, role) in enumerate(body)]
    for i, (n, _) in enumerate(body[1:], start=1):
        panels += [Panel(f"flap-top-{n}", xs[i], 0.0, xs[i + 1] - xs[i], flap, "flap", 180),
                   Panel(f"flap-bottom-{n}", xs[i], y1, xs[i + 1] - xs[i], flap, "flap")]
    cut = _outline_of(panels) + tuple(((x, 0.0), (x, y0)) for x in xs[2:5]) + tuple(
        ((x, y1), (x, y1 + flap)) for x in xs[2:5])  # the slots between flaps are cut through
    crease = tuple(((x, y0), (x, y1)) for x in xs[1:5]) + (((xs[1], y0), (xs[5], y0)), ((xs[1], y1), (xs[5], y1)))
    return Dieline(name, xs[5], y1 + flap, cut, crease, tuple(panels))


def _pouch(name: str, w: float, h: float) -> Dieline:
    """A flat (pillow / three-side-seal) pouch printed as one web: front | back joined at a side fold;
    the heat seals are kept out of the safe area."""
    s = POUCH_SEAL_MM
    # The front's left edge and the back's right edge are the free (sealed) sides; they meet at the fold.
    safe_front = (s["top"], DEFAULT_SAFE_MM, s["bottom"], s["side"])
    safe_back = (s["top"], s["side"], s["bottom"], DEFAULT_SAFE_MM)
    panels = (Panel("front", 0.0, 0.0, w, h, "front", 0, safe_front), Panel("back", w, 0.0, w, h, "back", 0, safe_back))
    cut = (((0.0, 0.0), (2 * w, 0.0), (2 * w, h), (0.0, h), (0.0, 0.0)),)
    return Dieline(name, 2 * w, h, cut, (((w, 0.0), (w, h)),), panels,
                   notes=("pouch: seals top and bottom (12 mm) and along the free sides (6 mm) are outside "
                          "the safe area",))


def _label(name: str, w: float, h: float) -> Dieline:
    """A single label (wrap-around or front): one panel, no creases."""
    cut = (((0.0, 0.0), (w, 0.0), (w, h), (0.0, h), (0.0, 0.0)),)
    return Dieline(name, w, h, cut, (), (Panel("front", 0.0, 0.0, w, h, "front"),))


# style -> (builder, accepted number of sizes, what the sizes are): `adgen pack --help` prints it.
BOX_STYLES = {
    "tuck": (_tuck_end, (3,), "reverse tuck-end folding carton, WxDxH"),
    "rsc": (_rsc, (3,), "regular slotted container (FEFCO 0201), WxDxH"),
    "pouch": (_pouch, (2,), "flat pouch, front and back, WxH"),
    "label": (_label, (2,), "label, WxH"),
}


def _outline_of(panels: list[Panel]) -> tuple[tuple[Point, ...], ...]:
    """The cut: every panel edge that no other panel shares (shared edges are creases or inside)."""
    edges: dict[tuple[Point, Point], int] = {}
    for p in panels:
        corners = [(p.x, p.y), (p.x + p.w, p.y), (p.x + p.w, p.y + p.h), (p.x, p.y + p.h)]
        for a, b in zip(corners, corners[1:] + corners[:1]):
            for seg in _split(a, b, panels):
                key = tuple(sorted((_r(seg[0]), _r(seg[1]))))
                edges[key] = edges.get(key, 0) + 1
    return tuple(edge for edge, count in edges.items() if count == 1)


def _split(a: Point, b: Point, panels: list[Panel]) -> list[tuple[Point, Point]]:
    """Split an edge at every panel corner lying on it, so partly shared edges count per piece."""
    horizontal = abs(a[1] - b[1]) < 1e-6
    cuts = {a[0], b[0]} if horizontal else {a[1], b[1]}
    lo, hi = sorted((a[0], b[0]) if horizontal else (a[1], b[1]))
    for p in panels:
        for x, y in ((p.x, p.y), (p.x + p.w, p.y + p.h)):
            on_line = abs((y if horizontal else x) - (a[1] if horizontal else a[0])) < 1e-6
            for v in ((x, p.x + p.w) if horizontal else (y, p.y + p.h)):
                if on_line and lo < v < hi:
                    cuts.add(v)
    stops = sorted(cuts)
    return [(((u, a[1]), (v, a[1])) if horizontal else ((a[0], u), (a[0], v))) for u, v in zip(stops, stops[1:])]


def _r(point: Point) -> Point:
    return (round(point[0], 3), round(point[1], 3))


# --- SVG dielines ---

def _from_svg(path: Path) -> Dieline:
    import svgelements as svg

    head = path.read_bytes()[:1_000_000].lower()
    if b"<!doctype" in head or b"<!entity" in head:  # entity expansion and external entities: a dieline needs neither
        raise InputError("an SVG dieline may not declare a DOCTYPE or entities", file=str(path), field="dieline")
    try:
        document = svg.SVG.parse(str(path), ppi=svg.DEFAULT_PPI)
    except Exception as exc:  # svgelements raises many types for a broken file
        raise InputError(f"not a readable SVG: {exc}", file=str(path), field="dieline") from None
    mm = svg.Length("1mm").value(ppi=svg.DEFAULT_PPI)  # user units per mm at the document's scale
    try:
        return _read_layers(document, mm, path)
    except (ArithmeticError, AttributeError, TypeError, ValueError, IndexError) as exc:  # odd geometry in a valid XML
        raise InputError(f"cannot read the dieline's shapes ({type(exc).__name__}: {exc})", file=str(path),
                         field="dieline") from None


def _read_layers(document, mm: float, path: Path) -> Dieline:
    import svgelements as svg

    lines: dict[str, list[tuple[Point, ...]]] = {"cut": [], "crease": [], "bleed": []}
    panels: list[Panel] = []
    for element, layer in _shapes(document, None):
        if layer == "panels":
            box = element.bbox()
            own = element.values.get("attributes", {})
            name = str(element.id or own.get(INKSCAPE_LABEL) or "").strip().lower()
            if box is None or not name:
                continue
            x0, y0, x1, y1 = (float(v) / mm for v in box)  # plain floats: svgelements may hand numpy ones
            panels.append(Panel(name, x0, y0, x1 - x0, y1 - y0, _role_of(name), _rotation(own, path),
                                _safe(own, path)))
        else:
            lines[layer].extend(_polylines(svg.Path(element), mm))
    if not lines["cut"]:
        raise InputError("the SVG has no cut layer (a group with id or inkscape:label 'cut'; see docs/packaging.md)",
                         file=str(path), field="dieline.cut")
    if not panels:
        raise InputError("the SVG has no panels layer (rectangles named front, back, side-left, glue...)",
                         file=str(path), field="dieline.panels")
    xs = [x for line in lines["cut"] for x, _ in line]
    ys = [y for line in lines["cut"] for _, y in line]
    dx, dy = min(xs), min(ys)  # the flat's frame starts at the cut's top-left corner
    shift = lambda pts: tuple((round(float(x - dx), 3), round(float(y - dy), 3)) for x, y in pts)
    panels = [Panel(p.name, round(p.x - dx, 3), round(p.y - dy, 3), round(p.w, 3), round(p.h, 3), p.role, p.rotation,
                    p.safe) for p in panels]
    bleed = DEFAULT_BLEED_MM
    if lines["bleed"]:
        bx = [x for line in lines["bleed"] for x, _ in line]
        bleed = round(float(max(min(xs) - min(bx), 0.0)), 3) or DEFAULT_BLEED_MM
    return Dieline(path.stem, round(float(max(xs) - dx), 3), round(float(max(ys) - dy), 3),
                   tuple(shift(line) for line in lines["cut"]), tuple(shift(line) for line in lines["crease"]),
                   tuple(panels), bleed)


def _shapes(group, layer: str | None):
    """(shape, layer) for every shape under a convention layer: a group named by id or inkscape:label."""
    import svgelements as svg

    for child in group:
        if isinstance(child, svg.Group):
            yield from _shapes(child, _layer_name(child) or layer)
        elif isinstance(child, svg.Shape) and layer is not None:
            yield child, layer


def _layer_name(group) -> str | None:
    own = group.values.get("attributes", {})
    for name in (own.get(INKSCAPE_LABEL), own.get("id")):
        key = str(name or "").strip().lower()
        for layer, names in LAYER_NAMES.items():
            if key in names:
                return layer
    return None


def _rotation(attributes: dict, path: Path) -> int:
    value = str(attributes.get("data-rotation", "0")).strip()
    if value not in ("0", "90", "180", "270"):
        raise InputError("data-rotation is 0, 90, 180 or 270", file=str(path), field="dieline.panels", value=value)
    return int(value)


def _safe(attributes: dict, path: Path) -> tuple[float, float, float, float]:
    """data-safe="top right bottom left" in mm (one value for all four); default DEFAULT_SAFE_MM."""
    raw = str(attributes.get("data-safe", "")).split()
    try:
        values = [float(v) for v in raw] or [DEFAULT_SAFE_MM]
    except ValueError:
        raise InputError("data-safe is 1 or 4 numbers in mm", file=str(path), field="dieline.panels",
                         value=" ".join(raw)) from None
    if len(values) not in (1, 4) or min(values) < 0:
        raise InputError("data-safe is 1 or 4 numbers in mm", file=str(path), field="dieline.panels", value=raw)
    return tuple(values * 4)[:4] if len(values) == 1 else tuple(values)


def _role_of(name: str) -> str:
    for role in ("front", "back", "side", "top", "bottom", "glue"):
        if name.startswith(role):
            return role
    return "flap"


def _polylines(path, mm: float) -> list[tuple[Point, ...]]:
    """A path's subpaths as polylines in mm (curves sampled every ~1 mm)."""
    out = []
    for sub in path.as_subpaths():
        points: list[Point] = []
        for seg in sub:
            if seg.end is None or type(seg).__name__ == "Move":
                if seg.end is not None:
                    points.append((float(seg.end.x) / mm, float(seg.end.y) / mm))
                continue
            steps = 1 if type(seg).__name__ in ("Line", "Close") else max(2, int(seg.length() / mm))
            points.extend((float(seg.point(t / steps).x) / mm, float(seg.point(t / steps).y) / mm)
                          for t in range(1, steps + 1))
        if len(points) >= 2:
            out.append(tuple(points))
    return out


def _checked(flat: Dieline) -> Dieline:
    """Refuse a flat no press takes, or panels that overlap (art would be cut or doubled)."""
    if not 0 < flat.width_mm <= MAX_FLAT_MM or not 0 < flat.height_mm <= MAX_FLAT_MM or (
            flat.width_mm * flat.height_mm > MAX_FLAT_AREA_MM2):
        raise InputError(f"the flat must be at most {MAX_FLAT_MM:g} mm a side and a B1 sheet in area",
                         field="dieline", value=(flat.width_mm, flat.height_mm))
    front = flat.first("front")
    if front is None:
        raise InputError("the dieline has no front panel (a panel named front...)", field="dieline.panels",
                         value=[p.name for p in flat.panels])
    if min(front.w, front.h) < MIN_PANEL_MM:
        raise InputError(f"the front panel must be at least {MIN_PANEL_MM:g} mm a side", field="dieline.panels",
                         value=(front.w, front.h))
    for p in flat.panels:
        top, right, bottom, left = p.safe
        outside = p.x < -0.5 or p.y < -0.5 or p.x + p.w > flat.width_mm + 0.5 or p.y + p.h > flat.height_mm + 0.5
        if p.w < 1.0 or p.h < 1.0 or left + right >= p.w or top + bottom >= p.h or outside:
            raise InputError("a panel must be at least 1 mm, inside the cut, with room inside its safe margins",
                             field="dieline.panels", value=p.name)
    for i, a in enumerate(flat.panels):
        for b in flat.panels[i + 1:]:
            overlap_w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
            overlap_h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
            if overlap_w > 0.5 and overlap_h > 0.5:
                raise InputError(f"panels {a.name} and {b.name} overlap", field="dieline.panels", value=a.name)
    return flat
