"""A dieline written as SVG in the convention dielines.dieline() reads back (docs/packaging.md)."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from adgen.dielines import Dieline

# Stroke colours a converter's CAD export uses by habit: cut red, crease dashed green, bleed cyan.
LAYER_STYLE = {
    "cut": 'stroke="#E4002B" stroke-width="0.25" fill="none"',
    "crease": 'stroke="#00A651" stroke-width="0.25" stroke-dasharray="3 1.5" fill="none"',
    "bleed": 'stroke="#00AEEF" stroke-width="0.15" fill="none"',
    "panels": 'stroke="none" fill="#000000" fill-opacity="0.04"',
}


def dieline_svg(flat: Dieline) -> str:
    """The flat as an SVG in mm: groups cut, crease, bleed and panels (named rectangles)."""
    b = flat.bleed_mm
    w, h = flat.width_mm, flat.height_mm
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" '
           f'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
           f'width="{w + 2 * b:g}mm" height="{h + 2 * b:g}mm" viewBox="{-b:g} {-b:g} {w + 2 * b:g} {h + 2 * b:g}">',
           f"<title>{flat.name} dieline (mm; adgen convention: layers cut, crease, bleed, panels)</title>"]
    out.append(f'<g id="bleed" inkscape:label="bleed" inkscape:groupmode="layer" {LAYER_STYLE["bleed"]}>'
               f'<rect x="{-b:g}" y="{-b:g}" width="{w + 2 * b:g}" height="{h + 2 * b:g}"/></g>')
    for layer, lines in (("cut", flat.cut), ("crease", flat.crease)):
        out.append(f'<g id="{layer}" inkscape:label="{layer}" inkscape:groupmode="layer" {LAYER_STYLE[layer]}>')
        out.extend(f'<path d="{_d(line)}"/>' for line in lines)
        out.append("</g>")
    out.append(f'<g id="panels" inkscape:label="panels" inkscape:groupmode="layer" {LAYER_STYLE["panels"]}>')
    out.extend(f'<rect id={quoteattr(p.name)} x="{p.x:g}" y="{p.y:g}" width="{p.w:g}" height="{p.h:g}" '
               f'data-rotation="{p.rotation}" data-safe="{" ".join(f"{v:g}" for v in p.safe)}"/>' for p in flat.panels)
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _d(line) -> str:
    first, *rest = line
    return f"M{first[0]:g},{first[1]:g} " + " ".join(f"L{x:g},{y:g}" for x, y in rest)
