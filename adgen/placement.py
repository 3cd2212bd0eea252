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
    box, scale = fit_box(artwork, slot, halign=halign, valign=valign, min_width_px=min_width_px)
    left, top, width, height = box.left, box.top, box.width, box.height
    resized = artwork_at(artwork, (width, height))
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


def fit_box(artwork: Image.Image, slot: Box, *, halign: str = "center", valign: str = "center",
            min_width_px: int = 0) -> tuple[Box, float]:
    """Where place_artwork puts artwork in slot (contain-fit; a photo without alpha counts its frame), and the scale.

    The plan (adgen.plan) asks the same question before any plate exists.
    """
    art_w, art_h = artwork.size
    if not _has_alpha(artwork):
        border = _frame_border(artwork)
        art_w, art_h = art_w + 2 * border, art_h + 2 * border
    scale = min(slot.width / art_w, slot.height / art_h)
    if min_width_px and art_w * scale < min_width_px:
        scale = min_width_px / art_w
    width, height = max(1, round(art_w * scale)), max(1, round(art_h * scale))
    left = slot.left if halign == "left" else slot.left + (slot.width - width) // 2
    top = slot.bottom - height if valign == "bottom" else slot.top + (slot.height - height) // 2
    return Box(left, top, left + width, top + height), scale


def artwork_at(artwork: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The exact RGBA pixels place_artwork composites for artwork at size (framed if opaque)."""
    art = artwork if _has_alpha(artwork) else _framed(artwork)
    return art.resize(size, Image.Resampling.LANCZOS)


def _has_alpha(artwork: Image.Image) -> bool:
    return artwork.getextrema()[3][0] < 255


def _framed(photo: Image.Image) -> Image.Image:
    border = _frame_border(photo)
    framed = Image.new("RGBA", (photo.width + 2 * border, photo.height + 2 * border), (255, 255, 255, 255))
    framed.paste(photo, (border, border))
    return framed


def _frame_border(photo: Image.Image) -> int:
    return max(2, round(min(photo.size) * PHOTO_FRAME_FRACTION))
