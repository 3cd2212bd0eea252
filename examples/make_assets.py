"""Draws the example artwork: brand logos and product cut-outs (transparent PNGs).

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


if __name__ == "__main__":
    main()
