"""Draws the example artwork: brand logos, product cut-outs and certification marks.

Run once; the outputs are committed. Everything is drawn here with Pillow and the packaged
Noto fonts, so the examples carry no third-party artwork.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from adgen.fonts import FontSpec, load_font

ROOT = Path(__file__).resolve().parents[1]
SCALE = 4  # draw at 4x and downsample for smooth edges


def main() -> None:
    _northwind_logo().save(ROOT / "brand_kits/northwind/logo.png")
    _sakura_logo().save(ROOT / "brand_kits/sakura/logo.png")
    images = ROOT / "examples/images"
    _coffee_bag().save(images / "cold-brew-bag.png")
    _flask().save(images / "trail-flask.png")
    _tea_can((91, 127, 58), "抹茶", "MATCHA").save(images / "matcha-can.png")
    _tea_can((236, 238, 226), "茉莉花茶", "JASMINE", ink=(60, 96, 60)).save(images / "jasmine-tin.png")
    _photo().save(images / "mug-photo.jpg", quality=90)
    marks = ROOT / "adgen/data/marks"
    marks.mkdir(exist_ok=True)
    for mark_id, draw in MARKS.items():
        draw().save(marks / f"{mark_id}.png")


def _canvas(width, height):
    return Image.new("RGBA", (width * SCALE, height * SCALE), (0, 0, 0, 0))


def _finish(image):
    return image.resize((image.width // SCALE, image.height // SCALE), Image.Resampling.LANCZOS)


def _text(draw, xy, text, size, fill, weight=700, script="latin", anchor="mm"):
    font = load_font(FontSpec(weight=weight), script, size * SCALE)
    draw.text((xy[0] * SCALE, xy[1] * SCALE), text, font=font, fill=fill, anchor=anchor)


def _northwind_logo():
    image = _canvas(540, 120)
    # Wordmark width measured at 62 px Noto Sans 800: 370 px; canvas leaves a margin.
    draw = ImageDraw.Draw(image)
    navy, amber = (27, 42, 65, 255), (242, 165, 65, 255)
    s = SCALE
    # A four-point compass star in a circle.
    draw.ellipse((6 * s, 6 * s, 114 * s, 114 * s), fill=navy)
    cx, cy, r = 60 * s, 60 * s, 44 * s
    draw.polygon([(cx, cy - r), (cx + 12 * s, cy), (cx, cy + r), (cx - 12 * s, cy)], fill=amber)
    draw.polygon([(cx - r, cy), (cx, cy - 12 * s), (cx + r, cy), (cx, cy + 12 * s)], fill=(247, 243, 233, 255))
    _text(draw, (128, 60), "NORTHWIND", 58, navy, weight=800, anchor="lm")
    return _finish(image)


def _sakura_logo():
    image = _canvas(520, 120)
    draw = ImageDraw.Draw(image)
    pink, ink = (232, 160, 180, 255), (43, 43, 43, 255)
    s = SCALE
    for angle in range(0, 360, 72):  # five petals
        a = np.deg2rad(angle - 90)
        px, py = 60 + 26 * np.cos(a), 60 + 26 * np.sin(a)
        draw.ellipse(((px - 24) * s, (py - 24) * s, (px + 24) * s, (py + 24) * s), fill=pink)
    draw.ellipse((48 * s, 48 * s, 72 * s, 72 * s), fill=(250, 247, 242, 255))
    _text(draw, (135, 46), "SAKURA", 50, ink, weight=800, anchor="lm")
    _text(draw, (137, 96), "さくら茶房", 30, ink, weight=500, script="ja", anchor="lm")
    return _finish(image)


def _shade(image, light=0.25):
    """Horizontal cylinder shading: darker at the edges, a highlight left of centre."""
    array = np.asarray(image).astype(np.float32)
    width = array.shape[1]
    x = np.linspace(-1, 1, width)
    factor = 1 - light * x ** 2 + 0.18 * np.exp(-((x + 0.35) ** 2) / 0.01)
    array[..., :3] = np.clip(array[..., :3] * factor[None, :, None], 0, 255)
    return Image.fromarray(array.astype(np.uint8), "RGBA")


def _coffee_bag():
    image = _canvas(360, 520)
    draw = ImageDraw.Draw(image)
    s = SCALE
    navy, amber, cream = (27, 42, 65, 255), (242, 165, 65, 255), (247, 243, 233, 255)
    draw.polygon([(40 * s, 60 * s), (320 * s, 60 * s), (340 * s, 510 * s), (20 * s, 510 * s)], fill=navy)
    draw.rectangle((40 * s, 30 * s, 320 * s, 70 * s), fill=(20, 31, 48, 255))  # crimped top
    for x in range(44, 320, 12):
        draw.line((x * s, 30 * s, x * s, 70 * s), fill=(35, 52, 78, 255), width=2 * s)
    draw.rounded_rectangle((70 * s, 170 * s, 290 * s, 400 * s), radius=16 * s, fill=cream)
    _text(draw, (180, 220), "COLD", 44, navy, weight=800)
    _text(draw, (180, 270), "BREW", 44, navy, weight=800)
    draw.rectangle((100 * s, 305 * s, 260 * s, 311 * s), fill=amber)
    _text(draw, (180, 345), "DARK ROAST", 22, navy, weight=600)
    _text(draw, (180, 460), "NORTHWIND", 24, cream, weight=700)
    return _finish(_shade(image, 0.15))


def _flask():
    image = _canvas(200, 560)
    draw = ImageDraw.Draw(image)
    s = SCALE
    steel, navy, amber = (176, 186, 196, 255), (27, 42, 65, 255), (242, 165, 65, 255)
    draw.rounded_rectangle((60 * s, 10 * s, 140 * s, 70 * s), radius=10 * s, fill=(40, 40, 44, 255))
    draw.rounded_rectangle((30 * s, 60 * s, 170 * s, 550 * s), radius=34 * s, fill=navy)
    draw.rectangle((30 * s, 250 * s, 170 * s, 330 * s), fill=amber)
    draw.rectangle((30 * s, 60 * s, 170 * s, 90 * s), fill=steel)
    _text(draw, (100, 290), "TRAIL", 30, navy, weight=800)
    return _finish(_shade(image, 0.35))


def _tea_can(body, kanji, latin, ink=(250, 247, 242)):
    image = _canvas(300, 440)
    draw = ImageDraw.Draw(image)
    s = SCALE
    ink = (*ink, 255)
    draw.rectangle((20 * s, 40 * s, 280 * s, 420 * s), fill=(*body, 255))
    draw.ellipse((20 * s, 400 * s, 280 * s, 440 * s), fill=(*body, 255))
    draw.rectangle((18 * s, 20 * s, 282 * s, 70 * s), fill=(200, 200, 205, 255))  # lid
    draw.ellipse((18 * s, 4 * s, 282 * s, 36 * s), fill=(222, 222, 228, 255))
    draw.ellipse((118 * s, 110 * s, 182 * s, 174 * s), fill=(232, 160, 180, 255))
    script = "zh-Hans" if len(kanji) > 2 else "ja"
    _text(draw, (150, 240), kanji, 64 if len(kanji) <= 2 else 48, ink, weight=800, script=script)
    _text(draw, (150, 320), latin, 28, ink, weight=600)
    return _finish(_shade(image, 0.3))


def _photo():
    """A product photo without alpha (a mug on a table) to show the framed-photo path."""
    image = Image.new("RGB", (600, 450), (214, 200, 182))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 300, 600, 450), fill=(150, 112, 80))
    draw.rounded_rectangle((220, 150, 380, 330), radius=18, fill=(27, 42, 65))
    draw.ellipse((360, 190, 440, 280), outline=(27, 42, 65), width=18)
    return image.filter(ImageFilter.GaussianBlur(0.6))


# Certification marks: generic badges drawn for adgen's examples. They deliberately copy no
# real scheme's logo (those are licensed artwork); a user drops the real file in instead.
def _badge(fill, ring=(255, 255, 255, 255)):
    image = _canvas(128, 128)
    draw = ImageDraw.Draw(image)
    s = SCALE
    draw.ellipse((2 * s, 2 * s, 126 * s, 126 * s), fill=fill)
    draw.ellipse((9 * s, 9 * s, 119 * s, 119 * s), outline=ring, width=3 * s)
    return image, draw


def _leaf(draw, cx, cy, size, fill, vein):
    """A leaf pointing up-right: two sine-bowed edges between its base and tip, and a vein."""
    s = SCALE
    base, tip = np.array([cx - size, cy + size]), np.array([cx + size, cy - size])
    normal = np.array([1.0, 1.0]) / np.sqrt(2)
    t = np.linspace(0, 1, 40)
    spine = base + (tip - base) * t[:, None]
    bow = 0.42 * size * np.sin(np.pi * t)[:, None] * normal
    outline = np.concatenate([spine + bow, (spine - bow)[::-1]])
    draw.polygon([(x * s, y * s) for x, y in outline], fill=fill)
    draw.line([tuple(base * s), tuple((base + (tip - base) * 0.85) * s)], fill=vein, width=3 * s)


def _fair_trade_mark():
    image, draw = _badge((20, 96, 110, 255))
    s, white = SCALE, (255, 255, 255, 255)
    # Two arcs meeting: an exchange, not any scheme's figure.
    draw.arc((34 * s, 26 * s, 94 * s, 70 * s), 190, 350, fill=white, width=6 * s)
    draw.polygon([(90 * s, 40 * s), (100 * s, 52 * s), (84 * s, 54 * s)], fill=white)
    _text(draw, (64, 80), "FAIR", 20, white, weight=800)
    _text(draw, (64, 100), "TRADE", 15, white, weight=700)
    return _finish(image)


def _organic_mark():
    image, draw = _badge((74, 128, 52, 255))
    white = (255, 255, 255, 255)
    _leaf(draw, 64, 50, 22, white, (74, 128, 52, 255))
    _text(draw, (64, 92), "ORGANIC", 16, white, weight=800)
    return _finish(image)


def _jas_style_mark():
    image = _canvas(128, 128)
    draw = ImageDraw.Draw(image)
    s, green = SCALE, (40, 110, 60, 255)
    draw.rounded_rectangle((2 * s, 2 * s, 126 * s, 126 * s), radius=18 * s, fill=(255, 255, 255, 255),
                           outline=green, width=6 * s)
    _text(draw, (64, 54), "有機", 42, green, weight=800, script="ja")
    _text(draw, (64, 100), "ORGANIC", 15, green, weight=800)
    return _finish(image)


def _recyclable_mark():
    image, draw = _badge((46, 92, 150, 255))
    s, white = SCALE, (255, 255, 255, 255)
    cx, cy, r = 64, 52, 24
    for start in (0, 120, 240):  # three arrows chasing round a circle
        draw.arc(((cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s), start + 12, start + 98, fill=white,
                 width=6 * s)
        a = np.deg2rad(start + 104)
        tip = (cx + r * np.cos(a), cy + r * np.sin(a))
        back = np.deg2rad(start + 88)
        base = [(cx + (r - 8) * np.cos(back), cy + (r - 8) * np.sin(back)),
                (cx + (r + 8) * np.cos(back), cy + (r + 8) * np.sin(back))]
        draw.polygon([(x * s, y * s) for x, y in (tip, *base)], fill=white)
    _text(draw, (64, 96), "RECYCLABLE", 12, white, weight=800)
    return _finish(image)


MARKS = {"fair-trade": _fair_trade_mark, "organic": _organic_mark, "jas-organic": _jas_style_mark,
         "recyclable": _recyclable_mark}


if __name__ == "__main__":
    main()
