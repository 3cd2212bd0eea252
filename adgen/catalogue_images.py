"""A catalogue row's product image: a local path (relative to the CSV), or a URL fetched only on request.

An unavailable image is not an error: the asset is made without it and the note says why.

Paths: a relative path must stay inside the CSV's folder (`../../home/me/secret.png` is refused,
symbolic links resolved first), since a CSV often comes from someone else. An absolute path (or
`~/...`) is the choice of whoever runs `adgen batch` on their own machine, and is read as given.

URLs (with `--fetch-images`) go through adgen.netfetch: resolved once and connected to the checked
address, no loopback, private, link-local or otherwise non-public address (each redirect hop
checked again) unless `$ADGEN_FETCH_ALLOW` lists it (comma-separated host names or IP networks,
e.g. `images.intranet,10.1.0.0/16`), at most MAX_IMAGE_BYTES within FETCH_DEADLINE_S, and the
bytes must be a PNG, JPEG or WebP. Plain http is accepted: merchant feeds and shop exports are
full of http image links, and what guards the network is the address check, not the scheme.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlparse

from adgen.errors import InputError

MAX_IMAGE_BYTES = 25 * 1024 * 1024   # a product photo; anything larger is not one
FETCH_DEADLINE_S = 30                # one image, redirects included, wall clock
FETCH_ALLOW_ENV = "ADGEN_FETCH_ALLOW"


def resolve_image(value: str, *, base: Path, fetch: bool, cache: Path) -> tuple[Path | None, str]:
    """(a readable local image, "") or (None, why it is unavailable)."""
    scheme = urlparse(value).scheme.lower()
    if scheme in ("http", "https"):
        if not fetch:
            return None, f"image not fetched (a URL; pass --fetch-images): {value}"
        try:
            path = _fetch(value, cache)
        except InputError as exc:
            return None, f"image unavailable, made without it: {value}: {_why(exc)}"
    elif scheme and len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
        return None, f"image unavailable, made without it: only http and https URLs are fetched: {value}"
    else:
        path = Path(value).expanduser()
        if not path.is_absolute():
            folder = base.resolve()
            path = (folder / path).resolve()
            if not path.is_relative_to(folder):
                return None, ("image unavailable, made without it: a relative path must stay in the CSV's folder: "
                              f"{value}")
    from adgen.placement import load_artwork

    try:
        load_artwork(path, "product_image")
    except InputError as exc:
        return None, f"image unavailable, made without it: {exc}"
    return path, ""


def _fetch_policy():
    """How batch fetches image URLs: http too, inward addresses only where $ADGEN_FETCH_ALLOW says."""
    from adgen.netfetch import FetchPolicy

    allow = tuple(entry.strip() for entry in os.environ.get(FETCH_ALLOW_ENV, "").split(",") if entry.strip())
    return FetchPolicy(allow=allow, allow_http=True, deadline_s=FETCH_DEADLINE_S)


def _fetch(url: str, cache: Path) -> Path:
    """Download once into cache/<sha256 of url>; only a fetched, decodable image is kept."""
    from adgen.limits import Limits
    from adgen.netfetch import fetch_image

    target = cache / hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    if target.is_file():
        return target
    fetched = fetch_image(url, field="product_image", policy=_fetch_policy(),
                          limits=Limits(max_upload_bytes=MAX_IMAGE_BYTES))
    cache.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.write_bytes(fetched.data)
    os.replace(temp, target)
    return target


def _why(exc: InputError) -> str:
    """The reason, with the low-level detail: the batch's user is the operator, not a remote caller."""
    from adgen.netfetch import InwardAddress

    detail = getattr(exc, "detail", "")
    why = f"{exc.reason} ({detail})" if detail else exc.reason
    return why + (f"; ${FETCH_ALLOW_ENV} can allow it" if isinstance(exc, InwardAddress) else "")
