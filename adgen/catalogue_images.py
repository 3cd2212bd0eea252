"""A catalogue row's product image: a local path (relative to the CSV), or a URL fetched only on request.

An unavailable image is not an error: the asset is made without it and the note says why.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from adgen.errors import InputError

MAX_IMAGE_BYTES = 25 * 1024 * 1024   # a product photo; anything larger is not one
FETCH_TIMEOUT_S = 15                 # per connection attempt and per read


def resolve_image(value: str, *, base: Path, fetch: bool, cache: Path) -> tuple[Path | None, str]:
    """(a readable local image, "") or (None, why it is unavailable)."""
    scheme = urlparse(value).scheme.lower()
    if scheme in ("http", "https"):
        if not fetch:
            return None, f"image not fetched (a URL; pass --fetch-images): {value}"
        try:
            path = _fetch(value, cache)
        except (OSError, ValueError, urllib.error.URLError) as exc:
            return None, f"image unavailable, made without it: {value}: {exc}"
    elif scheme and len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
        return None, f"image unavailable, made without it: only http and https URLs are fetched: {value}"
    else:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else (base / path).resolve()
    from adgen.placement import load_artwork

    try:
        load_artwork(path, "product_image")
    except InputError as exc:
        return None, f"image unavailable, made without it: {exc}"
    return path, ""


def _fetch(url: str, cache: Path) -> Path:
    """Download once into cache/<sha256 of url>; size- and time-limited, http(s) redirects only."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    if target.is_file():
        return target
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    with opener.open(urllib.request.Request(url, headers={"User-Agent": "adgen"}), timeout=FETCH_TIMEOUT_S) as response:
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > MAX_IMAGE_BYTES:
            raise ValueError(f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB ({declared} bytes)")
        data = response.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.write_bytes(data)
    os.replace(temp, target)
    return target


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect may not leave http(s) (e.g. to file: or ftp:)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlparse(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.URLError(f"redirect to a non-http URL refused: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)
