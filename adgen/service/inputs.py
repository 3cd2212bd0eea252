"""A job's product images on the server: uploaded bytes decoded and stored at once, URLs fetched by the worker.

Only pixels reach the pipeline: every image is decoded under the pixel cap and re-encoded as
PNG into the job's private inputs folder (0600 files in a 0700 folder). A URL is never fetched
by the request handler: the worker fetches it through the one hostile-URL fetcher the batch
uses too (resolved once, connected to that address, private targets refused, redirects
re-checked, bytes and pixels capped).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path

from adgen.errors import InputError
from adgen.limits import Limits, TooLarge, decode_image
from adgen.settings import private_dir, write_private

DATA_URL = re.compile(r"^data:image/[a-z+.-]+;base64,", re.IGNORECASE)


def store_uploaded_image(product, index: int, inputs: Path, limits: Limits) -> dict:
    """The product as the worker will use it: a base64 image decoded, bounded and stored with the job."""
    data = product.model_dump(mode="json")
    if data.get("product_image_url") is None:
        data.pop("product_image_url", None)  # ProductSpec has no such field: the worker replaces it
    if product.product_image is None:
        return data
    field = f"products.{index}.product_image"
    text = DATA_URL.sub("", product.product_image.strip(), count=1)
    if len(text) * 3 // 4 > limits.max_upload_bytes:
        raise TooLarge(f"image is over {limits.max_upload_bytes} bytes", field=field)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("product_image must be base64 image data (not a path)", field=field) from None
    picture = decode_image(raw, field=field, limits=limits)
    return {**data, "product_image": str(_save_png(picture, inputs / f"{index}-{product.sku}.png"))}


def fetch_product_images(products: list[dict], inputs: Path, policy, *, field: str = "products.{index}") -> list[dict]:
    """Products with each product_image_url fetched (once: a restart reuses the file) into inputs; field:
    where the body had each product, for errors."""
    fetched = []
    for index, product in enumerate(products):
        url = product.get("product_image_url")
        if not url:
            fetched.append(product)
            continue
        target = inputs / f"{index}-{product['sku']}-url.png"
        if not target.is_file():
            from adgen.netfetch import fetch_image

            image = fetch_image(url, policy=policy, field=f"{field.format(index=index)}.product_image_url").image
            _save_png(image, target)
        fetched.append({k: v for k, v in product.items() if k != "product_image_url"} | {"product_image": str(target)})
    return fetched


def _save_png(picture, path: Path) -> Path:
    """Write PNG pixels privately and durably (a 202 promises the job survives a power cut)."""
    buffer = io.BytesIO()
    picture.convert("RGBA").save(buffer, format="PNG")
    private_dir(path.parent)
    write_private(path, buffer.getvalue())
    return path
