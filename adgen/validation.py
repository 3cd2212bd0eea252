"""Refusing a request before any work, written once: the CLI, the batch, the app and the API call it.

What one product spec can say about itself (sizes, price, currency, locale) ProductSpec checks
when it is made. validate_request() checks what needs the registries and the request as a
whole: the brand, the formats, the variants, skus within the request, each product's marks
for its brand, locale and category, and image files named by path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adgen.brand import BrandKit
from adgen.errors import AdgenError, InputError
from adgen.limits import Limits, TooLarge
from adgen.request import MAX_VARIANTS
from adgen.spec import ProductSpec


@dataclass(frozen=True)
class CheckedRequest:
    """What validation found: the brand kit (loaded once) and how many assets the request makes."""

    brand: BrandKit
    assets: int


def validate_request(products: Sequence[ProductSpec], brand: str | BrandKit, formats: Sequence[str], variants: int = 1, *,
                     limits: Limits | None = None, product_field: str = "products.{index}",
                     open_images: bool = True) -> CheckedRequest:
    """Raise InputError (or TooLarge) for the first thing that would fail later, naming its field.

    brand: a kit id, or a kit already loaded (the batch checks each row in its kit).
    product_field names product i as the caller wrote it: "products.{index}" for a list of products
    (errors read products.0.marks.1), "" for a caller that takes one product's own fields (a spec
    file, the app's form: marks.1). limits caps products and assets per request (the API's).
    open_images: decode each product_image given as a path now (the batch leaves it to the row).
    """
    from adgen.brand import load_brand

    # 1. sizes: refused before anything is loaded
    if not isinstance(variants, int) or not 1 <= variants <= MAX_VARIANTS:
        raise InputError(f"variants must be 1 to {MAX_VARIANTS}", field="variants", value=variants)
    total = len(products) * len(formats) * variants
    if limits is not None:
        if len(products) > limits.max_products_per_job:
            raise TooLarge(f"at most {limits.max_products_per_job} products per job", field="products",
                           value=len(products))
        if total > limits.max_assets_per_job:
            raise TooLarge(f"at most {limits.max_assets_per_job} assets per job (products x formats x variants)",
                           field="variants", value=total)
    # 2. the brand and the formats
    kit = brand if isinstance(brand, BrandKit) else load_brand(brand)
    _check_formats(formats)
    # 3. each product, in the brand
    seen: set[str] = set()
    for index, product in enumerate(products):
        prefix = f"{product_field.format(index=index)}." if product_field else ""
        if product.sku in seen:
            raise InputError("sku repeats within the request", field=f"{prefix}sku", value=product.sku)
        seen.add(product.sku)
        _check_marks(product, kit, prefix)
        if open_images and isinstance(product.product_image, Path):
            from adgen.placement import load_artwork

            load_artwork(product.product_image, f"{prefix}product_image")
    return CheckedRequest(kit, total)


def _check_formats(formats: Sequence[str]) -> None:
    from adgen.formats import get_format

    if not formats:
        raise InputError("choose at least one format", field="formats")
    for index, format_id in enumerate(formats):
        try:
            get_format(format_id)
        except AdgenError as exc:
            raise InputError(exc.reason, field=f"formats.{index}", value=format_id) from None
        if format_id in formats[:index]:
            raise InputError("format repeats within the request", field=f"formats.{index}", value=format_id)


def _check_marks(product: ProductSpec, kit: BrandKit, prefix: str) -> None:
    """Each mark exists, the brand may use it, and it is allowed for the product's locale and category."""
    from adgen.marks import marks_to_place

    for index, mark_id in enumerate(product.marks):
        field = f"{prefix}marks.{index}"
        if mark_id in product.marks[:index]:
            raise InputError("mark repeats", field=field, value=mark_id)
        try:
            marks_to_place((mark_id,), kit, product.locale, product.category)
        except InputError as exc:
            raise InputError(exc.reason, field=field, value=mark_id) from None
