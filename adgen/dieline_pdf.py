"""A PDF dieline read into the same data as an SVG one: dieline_pdf(path) -> Dieline.

The convention (docs/packaging.md): on the first page, stroked paths are classed by their
optional-content layer name, else by their Separation (spot) colour name, using the names in
dielines.LAYER_NAMES (cut: CutContour, Die...; crease: Crease, Fold...); in one spot for both
(e.g. "Dieline"), dashed lines are creases and solid ones cuts. Panels are rectangles in a layer
or spot named panels, each named by the text written inside it (FRONT, Back, glue...).
Form XObjects are not followed: export the dieline flattened.
"""

from __future__ import annotations

from pathlib import Path

from adgen.dielines import DEFAULT_BLEED_MM, LAYER_NAMES, Dieline, Panel
from adgen.errors import InputError

MM_PER_PT = 25.4 / 72
SPOT_EXTRA = {"cut": ("cutcontour", "cut contour", "die cut"), "crease": ("crease", "creasing", "scores")}
BOTH = ("dieline", "die line", "die-line")  # one spot for cut and crease: the dash tells them apart


def dieline_pdf(path: Path) -> Dieline:
    """The first page's cut, crease and bleed lines and named panel rectangles, in mm (origin top-left)."""
    import pikepdf

    try:
        pdf = pikepdf.open(path)
        page = pdf.pages[0]
        instructions = pikepdf.parse_content_stream(page)
    except (pikepdf.PdfError, IndexError, ValueError) as exc:
        raise InputError(f"not a readable PDF: {exc}", file=str(path), field="dieline") from None
    media = [float(v) for v in page.mediabox]
    paths = _stroked_paths(instructions, page.obj.get("/Resources", pikepdf.Dictionary()))
    to_mm = lambda x, y: ((x - media[0]) * MM_PER_PT, (media[3] - y) * MM_PER_PT)  # noqa: E731
    lines: dict[str, list] = {"cut": [], "crease": [], "bleed": [], "panels": []}
    for kind, points in paths:
        lines[kind].append(tuple(to_mm(x, y) for x, y in points))
    if not lines["cut"]:
        raise InputError("the PDF has no cut lines (a layer or spot colour named cut / CutContour / Dieline; "
                         "see docs/packaging.md)", file=str(path), field="dieline.cut")
    labels = [(text.strip().lower(), *to_mm(x, y)) for text, x, y in _texts(path)]
    xs = [x for line in lines["cut"] for x, _ in line]
    ys = [y for line in lines["cut"] for _, y in line]
    dx, dy = min(xs), min(ys)
    panels = []
    for rect in lines["panels"]:
        rx, ry = [p[0] for p in rect], [p[1] for p in rect]
        x0, x1, y0, y1 = min(rx), max(rx), min(ry), max(ry)
        name = next((t for t, tx, ty in labels if x0 < tx < x1 and y0 < ty < y1 and t), None)
        if name:
            name = "-".join(name.split())
            panels.append(Panel(name, round(x0 - dx, 3), round(y0 - dy, 3), round(x1 - x0, 3), round(y1 - y0, 3),
                                _role(name), 180 if name.startswith(("top", "tuck-top", "dust-top")) else 0))
    if not panels:
        raise InputError("the PDF has no named panels (rectangles in a layer or spot named panels, with the panel's "
                         "name written inside each)", file=str(path), field="dieline.panels")
    shift = lambda pts: tuple((round(x - dx, 3), round(y - dy, 3)) for x, y in pts)  # noqa: E731
    bleed = DEFAULT_BLEED_MM
    if lines["bleed"]:
        bleed = round(max(min(xs) - min(x for line in lines["bleed"] for x, _ in line), 0.0), 3) or DEFAULT_BLEED_MM
    return Dieline(path.stem, round(max(xs) - dx, 3), round(max(ys) - dy, 3), tuple(map(shift, lines["cut"])),
                   tuple(map(shift, lines["crease"])), tuple(panels), bleed)


def _role(name: str) -> str:
    for role in ("front", "back", "side", "top", "bottom", "glue"):
        if name.startswith(role):
            return role
    return "flap"


def _stroked_paths(instructions, resources) -> list[tuple[str, tuple]]:
    """(kind, points in PDF user space) for every stroked subpath whose layer or spot names a dieline kind."""
    state = {"ctm": (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), "spot": None, "dash": False}
    stack, layers, found, current, subpaths = [], [], [], [], []

    def point(x, y):
        a, b, c, d, e, f = state["ctm"]
        return (a * x + c * y + e, b * x + d * y + f)

    for operands, operator in instructions:
        op = str(operator)
        if op == "q":
            stack.append(dict(state))
        elif op == "Q" and stack:
            state = stack.pop()
        elif op == "cm":
            state["ctm"] = _multiply(tuple(float(v) for v in operands), state["ctm"])
        elif op == "CS":
            state["spot"] = _spot_name(resources, operands[0])
        elif op == "d":
            state["dash"] = len(operands[0]) > 0
        elif op in ("BDC", "BMC"):
            layers.append(_layer_name(resources, operands) if op == "BDC" else None)
        elif op == "EMC" and layers:
            layers.pop()
        elif op == "m":
            if len(current) > 1:
                subpaths.append(current)
            current = [point(float(operands[0]), float(operands[1]))]
        elif op == "l":
            current.append(point(float(operands[0]), float(operands[1])))
        elif op in ("c", "v", "y"):
            current.append(point(float(operands[-2]), float(operands[-1])))
        elif op == "re":
            x, y, w, h = (float(v) for v in operands)
            if len(current) > 1:
                subpaths.append(current)
            subpaths.append([point(x, y), point(x + w, y), point(x + w, y + h), point(x, y + h), point(x, y)])
            current = []
        elif op == "h" and current:
            current.append(current[0])
        elif op in ("S", "s", "B", "B*", "b", "b*", "f", "F", "f*", "n"):
            if len(current) > 1:
                subpaths.append(current)
            kind = _kind(next((n for n in reversed(layers) if n), None), state["spot"], state["dash"])
            if kind and op not in ("f", "F", "f*", "n"):
                found.extend((kind, tuple(p)) for p in subpaths)
            current, subpaths = [], []
    return found


def _kind(layer: str | None, spot: str | None, dashed: bool) -> str | None:
    for name in (layer, spot):
        key = (name or "").strip().lower()
        if not key:
            continue
        if key in BOTH:
            return "crease" if dashed else "cut"
        for kind, names in LAYER_NAMES.items():
            if key in names or key in SPOT_EXTRA.get(kind, ()):
                return kind
    return None


def _multiply(m, n):
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u)


def _spot_name(resources, name) -> str | None:
    space = resources.get("/ColorSpace", {}).get(str(name)) if "/ColorSpace" in resources else None
    if space is not None and len(space) > 1 and str(space[0]) == "/Separation":
        return str(space[1]).lstrip("/")
    return None


def _layer_name(resources, operands) -> str | None:
    if len(operands) < 2 or str(operands[0]) != "/OC":
        return None
    props = operands[1]
    if not hasattr(props, "get"):
        props = resources.get("/Properties", {}).get(str(props)) if "/Properties" in resources else None
    return str(props.get("/Name")) if props is not None and props.get("/Name") is not None else None


def _texts(path: Path) -> list[tuple[str, float, float]]:
    """Every text run on the first page with its origin in PDF user space (pypdf's text visitor)."""
    from pypdf import PdfReader

    runs: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x, y = tm[4], tm[5]
            a, b, c, d, e, f = cm
            runs.append((text, a * x + c * y + e, b * x + d * y + f))

    PdfReader(str(path)).pages[0].extract_text(visitor_text=visit)
    return runs
