"""Placing protected artwork (product cut-out, logo, marks) from its own pixels, never generated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from adgen.errors import InputError
from adgen.geometry import Box

PHOTO_FRAME_FRACTION = 0.03  # white frame around a photo with no alpha, fraction of its short side


@dataclass(frozen=True)
class Placement:
    image: Image.Image   # the canvas with the artwork placed
    box: Box             # where the artwork's own pixels landed
    scale: float
    has_alpha: bool
    notes: tuple[str, ...] = ()   # how it was grounded (light, surface), for the layer's notes


def load_artwork(path: Path, field: str) -> Image.Image:
    """Open and fully decode an image file; a corrupt or truncated file is an InputError."""
    try:
        with Image.open(path) as handle:
            handle.load()
            return handle.convert("RGBA")
    except FileNotFoundError:
        raise InputError("image file not found", field=field, value=str(path)) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"image is corrupt or truncated ({exc})", field=field, value=str(path)) from None


def place_artwork(canvas: Image.Image, artwork: Image.Image, slot: Box, *, halign: str = "center",
                  valign: str = "center", shadow: bool = False, min_width_px: int = 0) -> Placement:
    """Scale artwork to fit slot (contain, keeping aspect) and composite it with its alpha.

    A source without transparency is framed as a photo. Pixels are only resampled, never edited.
    shadow: ground it on the plate (adgen.grounding: contact and cast shadow from the plate's
    light, a reflection on a glossy surface, a clean light-wrapped matte edge); the artwork's
    opaque pixels stay its own.
    """
    has_alpha = _has_alpha(artwork)
    art = artwork if has_alpha else _framed(artwork)
    scale = min(slot.width / art.width, slot.height / art.height)
    if min_width_px and art.width * scale < min_width_px:
        scale = min_width_px / art.width
    width, height = max(1, round(art.width * scale)), max(1, round(art.height * scale))
    resized = artwork_at(artwork, (width, height))
    left = slot.left if halign == "left" else slot.left + (slot.width - width) // 2
    top = slot.bottom - height if valign == "bottom" else slot.top + (slot.height - height) // 2
    box = Box(left, top, left + width, top + height)
    if shadow:
        from adgen.grounding import ground

        grounded = ground(canvas, resized, (left, top))
        light = grounded.light
        side = "left" if light.direction < -0.15 else "right" if light.direction > 0.15 else "front"
        note = (f"grounded: light from the {side} (direction {light.direction:+.2f}, hardness {light.hardness:.2f}), "
                f"{'glossy' if grounded.gloss else 'matte'} surface (gloss {grounded.gloss:.2f})")
        return Placement(grounded.image, box, scale, has_alpha, (note,))
    out = canvas.convert("RGBA")
    out.alpha_composite(resized, (left, top))
    return Placement(out.convert("RGB"), box, scale, has_alpha)


def artwork_at(artwork: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The exact RGBA pixels place_artwork composites for artwork at size (framed if opaque)."""
    art = artwork if _has_alpha(artwork) else _framed(artwork)
    return art.resize(size, Image.Resampling.LANCZOS)


def _has_alpha(artwork: Image.Image) -> bool:
    return artwork.getextrema()[3][0] < 255


def _framed(photo: Image.Image) -> Image.Image:
    border = max(2, round(min(photo.size) * PHOTO_FRAME_FRACTION))
    framed = Image.new("RGBA", (photo.width + 2 * border, photo.height + 2 * border), (255, 255, 255, 255))
    framed.paste(photo, (border, border))
    return framed
