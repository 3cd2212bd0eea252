"""Service limits: request body size, uploaded images (bytes, pixels), per-key request rate."""

from __future__ import annotations

import io
import math
import threading
import time
import warnings
from dataclasses import dataclass

from adgen.errors import InputError

# Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse far earlier, on the
# header's declared size, before a single pixel is decoded.
ACCEPTED_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")


@dataclass(frozen=True)
class Limits:
    """What one caller may send; every limit is checked before the work it guards."""

    max_body_bytes: int = 16 * 1024 * 1024
    max_products_per_job: int = 20
    max_assets_per_job: int = 200
    max_upload_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 25_000_000   # 5000 x 5000
    rate_per_minute: int = 600           # requests per API key
    max_queued_jobs: int = 100           # waiting or running, all tenants together
    max_queued_per_tenant: int = 20      # one tenant's flood leaves room for the others
    heavy_slots: int = 1                 # decodes and checks running at once (each can take seconds and ~1 GB)
    heavy_wait_s: float = 20.0           # how long a request waits for a slot before a 503


class TooLarge(InputError):
    """A count or size over a limit."""

    http_status = 413


class ImageBomb(InputError):
    """An image whose header declares more pixels than allowed: refused before decoding."""

    http_status = 400


def decode_image(data: bytes, *, field: str, limits: Limits):
    """Decode uploaded image bytes after checking their size and declared pixels (bombs refused).

    Returns the loaded PIL image; its .format says what the bytes were.
    """
    from PIL import Image, UnidentifiedImageError

    if len(data) > limits.max_upload_bytes:
        raise TooLarge(f"image is over {limits.max_upload_bytes} bytes", field=field, value=len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            handle = Image.open(io.BytesIO(data), formats=ACCEPTED_IMAGE_FORMATS)
            width, height = handle.size  # from the header: nothing decoded yet
            if width * height > limits.max_image_pixels:
                raise ImageBomb(f"image is over {limits.max_image_pixels} pixels", field=field,
                                value=f"{width}x{height}")
            handle.load()
            return handle
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageBomb(f"image decodes to too many pixels ({exc})", field=field) from None
    except UnidentifiedImageError:
        raise InputError("not a readable PNG, JPEG or WebP image", field=field) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"image is corrupt or truncated ({exc})", field=field) from None


class RateLimiter:
    """A token bucket per key: rate_per_minute sustained, the same number as burst."""

    def __init__(self, rate_per_minute: int, clock=time.monotonic):
        self.capacity = float(rate_per_minute)
        self.per_second = rate_per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token; 0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            tokens, stamp = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_second


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class BodySizeLimit:
    """ASGI middleware: 413 on a declared Content-Length over the limit, or once streamed bytes pass it."""

    def __init__(self, app, max_body_bytes: int):
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return await _send_413(send, self.max_body_bytes)
        # Read the whole body here (it is at most max_body_bytes) and replay it: raising from
        # inside receive() would reach FastAPI's body parser, which turns any error into a 400.
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([], message), send)
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            more = message.get("more_body", False)
            if seen > self.max_body_bytes:
                return await _send_413(send, self.max_body_bytes)
        await self.app(scope, _replay(chunks, None, receive), send)


def _replay(chunks: list[bytes], final, receive=None):
    """A receive() that hands back the buffered body once, then defers to the real one."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}] if final is None else [final]

    async def replayed():
        if pending:
            return pending.pop()
        if receive is not None:
            return await receive()  # http.disconnect, when the client goes away
        return {"type": "http.disconnect"}

    return replayed


async def _send_413(send, limit: int) -> None:
    import json

    body = json.dumps({"error": {"code": "too_large", "field": "body",
                                 "message": f"request body is over {limit} bytes", "value": None}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
