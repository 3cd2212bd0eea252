"""Plan stage: the layout as data before any pixel of the plate exists.

plan(resolved) -> Plan: the canvas, where the product will stand (its box, its silhouette and
its own pixels at that box), the copy slots, the logo and the marks. The generator paints the
plate around it (adgen.plate_guide); compose places the product exactly at plan.product_box
(tests/test_plan.py holds the two to the same box), and the grounding reads its base line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from PIL import Image

from adgen.geometry import Box, Size
from adgen.layout_templates import TEXT_SLOTS
from adgen.request import ResolvedRequest

# Copy that paints its own ground (the CTA button) asks the plate for nothing.
CALM_SLOTS = tuple(name for name in TEXT_SLOTS if name != "cta")


@dataclass(frozen=True)
class Plan:
    """Where everything will go on the canvas, px; no plate pixels."""

    canvas: Size
    product_box: Box | None                  # where the product's own pixels will land
    product_pixels: Image.Image | None = field(default=None, compare=False, repr=False)  # RGBA, product_box's size
    copy_boxes: tuple[tuple[str, Box], ...] = ()   # text slots that want calm plate under them
    logo_box: Box | None = None
    marks_box: Box | None = None
    marketplace: bool = False

    @property
    def base_y(self) -> int | None:
        """The row the product stands on (its box's bottom), px; None without a product."""
        return self.product_box.bottom if self.product_box else None

    @property
    def product_mask(self) -> Image.Image | None:
        """The product's silhouette at its placed box (L, 0-255: its alpha)."""
        return self.product_pixels.getchannel("A") if self.product_pixels is not None else None

    def digest(self) -> str:
        """sha256 of what the generator is given from the plan: boxes and the product's placed pixels."""
        digest = hashlib.sha256(repr((self.canvas, self.product_box, self.copy_boxes)).encode())
        if self.product_pixels is not None:
            digest.update(self.product_pixels.tobytes())
        return digest.hexdigest()


def plan(request: ResolvedRequest) -> Plan:
    """Lay the asset out as boxes: the same slots and the same product fit compose uses."""
    size = request.format.size
    area = request.format.safe_area.box(size)
    product_box, pixels = _product(request, area)
    if request.format.marketplace:
        return Plan(size, product_box, pixels, marketplace=True)
    copy_boxes = tuple((name, request.template.slot(name).box_in(area)) for name in CALM_SLOTS
                       if request.template.slot(name) is not None)
    logo = request.template.slot("logo")
    marks = request.template.slot("marks")
    return Plan(size, product_box, pixels, copy_boxes=copy_boxes,
                logo_box=logo.box_in(area) if logo else None,
                marks_box=marks.box_in(area) if marks and request.product.marks else None)


def _product(request: ResolvedRequest, area: Box) -> tuple[Box | None, Image.Image | None]:
    """The product's box and its RGBA pixels there, as layout._place_product will place them."""
    slot = request.template.slot("product")
    path = request.product.product_image
    if slot is None or path is None:
        return None, None
    from adgen.placement import artwork_at, fit_box
    from adgen.product_photo import request_product_artwork

    artwork, _, _ = request_product_artwork(request)
    marketplace = request.format.marketplace
    base = Box(0, 0, *request.format.size.as_tuple()) if marketplace else area
    # Where compose's place_artwork will put it: bottom-aligned in its slot, centred in marketplace formats.
    box, _ = fit_box(artwork, slot.box_in(base), valign="center" if marketplace else "bottom")
    return box, artwork_at(artwork, (box.width, box.height))


