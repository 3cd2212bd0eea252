"""Placing protected artwork (product cut-out, logo, marks) from its own pixels, never generated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFilter, UnidentifiedImageError

from adgen.errors import InputError
from adgen.geometry import Box, Size

PHOTO_FRAME_FRACTION = 0.03  # white frame around a photo with no alpha, fraction of its short side


@dataclass(frozen=True)
class Placement:
    image: Image.Image   # the canvas with the artwork placed
    box: Box             # where the artwork's own pixels landed
    scale: float
    has_alpha: bool


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
    out = canvas.convert("RGBA")
    if shadow:
        patch, corner = _soft_shadow(resized, out.size, (left, top))
        out.alpha_composite(patch, corner)
    out.alpha_composite(resized, (left, top))
    return Placement(out.convert("RGB"), Box(left, top, left + width, top + height), scale, has_alpha)


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


def _soft_shadow(art: Image.Image, canvas_size: tuple[int, int],
                 origin: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """A blurred, offset copy of the artwork's alpha, darkened: a contact shadow under it.

    Returns the patch and its top-left corner on the canvas. Blurred on the shadow's box plus
    the blur's reach only, clipped to the canvas so its edges behave as before: the same
    pixels as blurring a whole-canvas layer, without blurring a million transparent ones.
    """
    radius = max(2, round(min(art.size) * 0.04))
    offset = (round(art.width * 0.02), round(art.height * 0.03))
    reach = 3 * (radius + 2)  # Pillow's Gaussian is 3 box passes of about `radius` each
    at = (origin[0] + offset[0], origin[1] + offset[1])
    region = Box(at[0], at[1], at[0] + art.width, at[1] + art.height).expand(reach).clamp_to(Size(*canvas_size))
    if region.width <= 0 or region.height <= 0:  # the shadow falls wholly off the canvas
        return Image.new("RGBA", (1, 1), (0, 0, 0, 0)), (0, 0)
    layer = Image.new("RGBA", (region.width, region.height), (0, 0, 0, 0))
    alpha = art.getchannel("A").point(lambda a: a * 0.45)
    shadow = Image.new("RGBA", art.size, (0, 0, 0, 0))
    shadow.putalpha(alpha)
    layer.paste(shadow, (at[0] - region.left, at[1] - region.top), shadow)
    return layer.filter(ImageFilter.GaussianBlur(radius)), (region.left, region.top)
