"""Contact sheet: every bundled product laid out in every format, on one PNG.

    python examples/contact_sheet.py [--out docs/img/contact-sheet.png]

Each asset is composed on a deterministic studio-gradient plate (the brand's lightest colour
fading 14% darker downwards) instead of a model's plate, so the sheet shows the layout alone
and is the same on every machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from adgen.brand import load_brand
from adgen.fonts import FontSpec, load_font
from adgen.formats import all_formats
from adgen.layout import compose
from adgen.request import AssetRequest, resolve
from adgen.spec import load_product

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = {"northwind-cold-brew.yaml": "northwind", "northwind-trail-flask.yaml": "northwind",
            "sakura-matcha.yaml": "sakura", "sakura-jasmine-zh.yaml": "sakura"}
TILE_HEIGHT, TILE_MAX_WIDTH, GAP, SHEET_WIDTH = 300, 600, 24, 2400
BACKDROP, INK = (58, 60, 66), (236, 236, 240)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img/contact-sheet.png")
    args = parser.parse_args()
    sections = [_section(product, brand) for product, brand in PRODUCTS.items()]
    sheet = Image.new("RGB", (SHEET_WIDTH, sum(s.height for s in sections) + GAP * (len(sections) + 1)), BACKDROP)
    y = GAP
    for section in sections:
        sheet.paste(section, (0, y))
        y += section.height + GAP
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"{args.out}: {sheet.width}x{sheet.height}")


def gradient_plate(brand, size: tuple[int, int]) -> Image.Image:
    light = max(brand.colors.values(), key=lambda c: c.relative_luminance).as_tuple()
    dark = tuple(round(v * 0.86) for v in light)
    ramp = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, dark), Image.new("RGB", size, light), ramp)


def _section(product_file: str, brand_id: str) -> Image.Image:
    """One product: a title line, then every format as a captioned tile, wrapped in rows."""
    spec = load_product(ROOT / "examples/products" / product_file)
    brand = load_brand(brand_id)
    tiles = []
    for fmt in all_formats().values():
        request = resolve(AssetRequest(product=spec, brand=brand_id, format=fmt.id), brand=brand)
        image = compose(gradient_plate(brand, fmt.size.as_tuple()), request).image
        scale = min(TILE_HEIGHT / image.height, TILE_MAX_WIDTH / image.width)
        thumb = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        tiles.append((f"{fmt.id}  {fmt.width}x{fmt.height}", thumb))
    caption = load_font(FontSpec(weight=500), "latin", 18)
    title = load_font(FontSpec(weight=800), "latin", 30)
    rows, row, width = [], [], GAP
    for tile in tiles:
        if row and width + tile[1].width + GAP > SHEET_WIDTH:
            rows.append(row)
            row, width = [], GAP
        row.append(tile)
        width += tile[1].width + GAP
    rows.append(row)
    height = 50 + sum(max(t.height for _, t in r) + 34 + GAP for r in rows)
    section = Image.new("RGB", (SHEET_WIDTH, height), BACKDROP)
    draw = ImageDraw.Draw(section)
    draw.text((GAP, 8), f"{spec.sku} · {brand.name} · {spec.locale}", font=title, fill=INK)
    y = 56
    for r in rows:
        x = GAP
        for label, thumb in r:
            section.paste(thumb, (x, y))
            draw.text((x, y + thumb.height + 6), label, font=caption, fill=INK)
            x += thumb.width + GAP
        y += max(t.height for _, t in r) + 34 + GAP
    return section


if __name__ == "__main__":
    main()
