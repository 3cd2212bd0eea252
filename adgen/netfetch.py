"""Fetch a URL someone else chose: resolved once, every address checked, connected to exactly those.

Used for product image URLs (batch `--fetch-images`, the API's product images) and webhook
deliveries. The threats: a URL, its DNS answer or a redirect that points inward (loopback, the
private network, a cloud metadata address); a second DNS answer that differs from the one checked
(rebinding); a server that answers slowly, endlessly, or with something that is not an image.

`fetch_image` GETs an image, `post` sends one webhook attempt, `check` refuses a URL early. They
raise `FetchError` (an `InputError`; the caller names the field): its message names the URL and a
coarse reason, safe to show whoever sent the URL; `.outcome` is a category ("timed out", "network
error", "refused by policy", "HTTP 503") and `.detail` the low-level error and address, for the
server's log only (shown to the sender it would make a port scanner). `fetch_image` also raises
adgen.limits' TooLarge, ImageBomb and InputError for bytes that are too many or not an image.

Environment proxies are not used: a proxy would resolve the host again, past the check.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import ssl
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpcore
import httpx

from adgen.errors import InputError
from adgen.limits import Limits, TooLarge, decode_image

if TYPE_CHECKING:
    from PIL import Image

REDIRECT_STATUSES = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class FetchPolicy:
    """Where a fetch may go and how long it may take."""

    allow: tuple[str, ...] = ()     # host names or IP networks exempt from the inward-address refusal
    allow_http: bool = False        # https only unless set
    deadline_s: float = 30.0        # wall clock for the whole fetch: DNS to last byte, redirects included
    connect_timeout_s: float = 10.0
    max_redirects: int = 5
    # None: httpx's default context (certifi, or $SSL_CERT_FILE); certificates are always checked
    # against the URL's host name, never the pinned address.
    ssl_context: ssl.SSLContext | None = dataclasses.field(default=None, compare=False, repr=False)


class FetchError(InputError):
    """A URL that could not be fetched; `.outcome` is safe to show the caller, `.detail` is for the log."""

    outcome = "network error"
    retryable = True

    def __init__(self, message: str, *, field: str | None = None, value: object = None, detail: str = ""):
        super().__init__(message, field=field, value=value)
        self.detail = detail


class RefusedByPolicy(FetchError):
    """The URL, an address it resolves to, or a redirect is not allowed: retrying will not help."""

    outcome = "refused by policy"
    retryable = False


class InwardAddress(RefusedByPolicy):
    """The host resolves to a loopback, private, link-local or other non-public address not allowed."""


class TimedOut(FetchError):
    """The deadline or a timeout passed."""

    outcome = "timed out"


class BadStatus(FetchError):
    """The server answered with a status that is not the one wanted."""

    def __init__(self, status: int, **kwargs):
        super().__init__(f"HTTP {status}", **kwargs)
        self.status = status
        self.outcome = f"HTTP {status}"
        self.retryable = status >= 500 or status == 429


@dataclass(frozen=True)
class FetchedImage:
    url: str          # the last hop, after redirects
    data: bytes       # exactly what was received: PNG, JPEG or WebP
    image: Image.Image  # decoded by adgen.limits.decode_image: pixel cap checked


def fetch_image(url: str, *, field: str, policy: FetchPolicy = FetchPolicy(),
                limits: Limits = Limits()) -> FetchedImage:
    """GET an image: redirects re-checked hop by hop, at most limits.max_upload_bytes, sniffed, decoded."""
    deadline = time.monotonic() + policy.deadline_s
    current = url
    for _hop in range(policy.max_redirects + 1):
        target = _target(current, policy, field)
        addresses = _resolve(target, policy, field, deadline)
        with _request("GET", target, addresses, headers=[], body=b"", policy=policy, deadline=deadline,
                      field=field) as response:
            if response.status in REDIRECT_STATUSES:
                current = _redirect(target, response, field)
                continue
            if response.status != 200:
                raise BadStatus(response.status, field=field, value=target.url)
            data = _read_capped(target, response, limits.max_upload_bytes, field)
        return FetchedImage(target.url, data, _decode(data, target.url, field, limits))
    raise RefusedByPolicy(f"more than {policy.max_redirects} redirects", field=field, value=url)


def post(url: str, body: bytes, headers: dict[str, str], *, field: str, policy: FetchPolicy) -> int:
    """POST body once and return the status; no redirects, and the response body is never read."""
    deadline = time.monotonic() + policy.deadline_s
    target = _target(url, policy, field)
    addresses = _resolve(target, policy, field, deadline)
    sent = [(k.encode(), v.encode()) for k, v in headers.items()] + [(b"Content-Length", str(len(body)).encode())]
    with _request("POST", target, addresses, headers=sent, body=body, policy=policy, deadline=deadline,
                  field=field) as response:
        # Leaving here closes the connection: a 300 MB or endless answer costs nothing.
        return response.status


def check(url: str, *, field: str, policy: FetchPolicy = FetchPolicy()) -> tuple[str, ...]:
    """Check a URL now (scheme, host, every address it resolves to) without fetching; its addresses.

    For early refusal when a URL is submitted; a fetch checks again, and connects to what it checked.
    """
    return _resolve(_target(url, policy, field), policy, field, time.monotonic() + policy.deadline_s)


def check_form(url: str, *, field: str, policy: FetchPolicy = FetchPolicy()) -> None:
    """Refuse a URL by its form alone (scheme, host, credentials, a literal inward address); no DNS lookup.

    What a request handler may do while the caller waits; the worker's fetch resolves and checks the rest.
    """
    target = _target(url, policy, field)
    try:
        kind = _inward_kind(target.host.strip("[]"), target.host, policy.allow)
    except ValueError:  # a name, not an address: resolved when it is fetched
        return
    if kind:
        raise InwardAddress(f"the URL names {kind} address", field=field, value=target.url)


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str       # IDNA-encoded; what is resolved and what the TLS certificate must name
    port: int
    netloc: bytes   # the Host header
    path: bytes     # path and query


def _target(url: str, policy: FetchPolicy, field: str) -> _Target:
    """Parse once with httpx's parser, and hand httpcore these same parts: no parser disagreements."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise RefusedByPolicy("not a valid URL", field=field, value=url) from None
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parsed.scheme not in schemes:
        raise RefusedByPolicy(f"only {' and '.join(schemes)} URLs are fetched", field=field, value=url)
    if not parsed.host:
        raise RefusedByPolicy("the URL has no host", field=field, value=url)
    if parsed.userinfo:
        raise RefusedByPolicy("the URL must not carry credentials", field=field, value=url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return _Target(str(parsed), parsed.scheme, parsed.raw_host.decode("ascii"), port, parsed.netloc,
                   parsed.raw_path)


def _resolve(target: _Target, policy: FetchPolicy, field: str, deadline: float) -> tuple[str, ...]:
    """The host's addresses, each checked; the connection goes to these and nowhere else."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError; DNS may come back: retryable
        raise FetchError("the host does not resolve", field=field, value=target.url, detail=str(exc)) from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        kind = _inward_kind(address, target.host, policy.allow)
        if kind:
            raise InwardAddress("the host resolves to an address that is not allowed", field=field,
                                value=target.url, detail=f"{target.host} -> {address}, {kind} address")
    if not addresses:
        raise FetchError("the host does not resolve", field=field, value=target.url)
    if time.monotonic() >= deadline:
        raise TimedOut("timed out", field=field, value=target.url, detail="the deadline passed while resolving")
    return addresses


def _inward_kind(address: str, host: str, allow: tuple[str, ...]) -> str:
    """'' for a public address (or an allowed one), else what kind of inward address it is."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
        ip = ip.ipv4_mapped
    if _allowed(ip, host, allow):
        return ""
    kinds = (("a loopback", ip.is_loopback), ("a link-local", ip.is_link_local), ("a multicast", ip.is_multicast),
             ("an unspecified", ip.is_unspecified), ("a private", ip.is_private), ("a reserved", ip.is_reserved),
             ("a non-public", not ip.is_global))
    return next((kind for kind, hit in kinds if hit), "")


def _allowed(ip, host: str, allow: tuple[str, ...]) -> bool:
    for entry in allow:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:  # a host name
            if entry.lower().rstrip(".") == host.lower().rstrip("."):
                return True
    return False


@contextmanager
def _request(method: str, target: _Target, addresses: tuple[str, ...], *, headers: list, body: bytes,
             policy: FetchPolicy, deadline: float, field: str):
    """One exchange over a connection to the pinned addresses; the response is streamed, never buffered."""
    # httpx has no public hook for where a connection goes; httpcore (httpx's own transport) has
    # one, the network backend. Ours connects only to the checked addresses while the URL keeps the
    # host name, so the Host header, TLS SNI and the certificate check all use the name.
    backend = _PinnedBackend(target.host, addresses, deadline)
    url = httpcore.URL(scheme=target.scheme.encode(), host=target.host.encode(), port=target.port, target=target.path)
    sent = [(b"Host", target.netloc), (b"User-Agent", b"adgen"), (b"Connection", b"close"), *headers]
    # No read or write timeouts of httpcore's own: _DeadlineStream gives each operation what is left.
    timeouts = {"connect": policy.connect_timeout_s, "read": None, "write": None, "pool": None}
    try:
        with httpcore.ConnectionPool(ssl_context=policy.ssl_context or httpx.create_ssl_context(),
                                     network_backend=backend, max_connections=1) as pool:
            with pool.stream(method, url, headers=sent, content=body, extensions={"timeout": timeouts}) as response:
                yield response
    except httpcore.TimeoutException as exc:
        raise TimedOut("timed out", field=field, value=target.url, detail=_describe(exc)) from None
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise FetchError("could not connect, or the connection failed", field=field, value=target.url,
                         detail=_describe(exc)) from None


def _describe(exc: Exception) -> str:
    cause = exc.__context__ or exc.__cause__
    return f"{type(exc).__name__}: {exc}" + (f" ({type(cause).__name__}: {cause})" if cause else "")


def _redirect(target: _Target, response, field: str) -> str:
    location = dict((k.lower(), v) for k, v in response.headers).get(b"location")
    if not location:
        raise FetchError("a redirect without a Location", field=field, value=target.url)
    try:
        return str(httpx.URL(target.url).join(location.decode("latin-1")))
    except (httpx.InvalidURL, ValueError):
        raise RefusedByPolicy("a redirect to an invalid URL", field=field, value=target.url) from None


def _read_capped(target: _Target, response, cap: int, field: str) -> bytes:
    """The body, streamed; stop as soon as it passes cap (a declared length over it stops it before)."""
    declared = dict((k.lower(), v) for k, v in response.headers).get(b"content-length", b"")
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(f"the response is over {cap} bytes", field=field, value=target.url)
    chunks, size = [], 0
    for chunk in response.iter_stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            raise TooLarge(f"the response is over {cap} bytes", field=field, value=target.url)
    return b"".join(chunks)


# By magic number, not Content-Type: a server's label proves nothing.
_MAGIC = ((b"\x89PNG\r\n\x1a\n", 0), (b"\xff\xd8\xff", 0), (b"WEBP", 8))


def _decode(data: bytes, url: str, field: str, limits: Limits):
    webp = data[:4] == b"RIFF"
    if not any(data[at:at + len(magic)] == magic and (magic != b"WEBP" or webp) for magic, at in _MAGIC):
        raise InputError("not a PNG, JPEG or WebP image (by its first bytes)", field=field, value=url)
    try:
        return decode_image(data, field=field, limits=limits)
    except InputError as exc:  # the same error, naming the URL
        reason = exc.reason if exc.value is None else f"{exc.reason} ({exc.value})"
        raise type(exc)(reason, field=field, value=url) from None


def _left(deadline: float, timeout: float | None, expired) -> float:
    """The timeout for one socket operation: never past the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise expired("the deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects `host` only to its checked addresses (no second DNS lookup), and bounds every socket
    operation by the deadline, so a server trickling a byte a second cannot stretch a fetch."""

    def __init__(self, host: str, addresses: tuple[str, ...], deadline: float):
        self.host, self.addresses, self.deadline = host, addresses, deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host != self.host:
            raise httpcore.ConnectError(f"{host} is not the host whose addresses were checked")
        failure: Exception = httpcore.ConnectError("no address")
        for address in self.addresses:  # all were checked; the next one when one does not answer
            try:
                stream = httpcore.SyncBackend().connect_tcp(
                    address, port, _left(self.deadline, timeout, httpcore.ConnectTimeout), local_address,
                    socket_options)
                return _DeadlineStream(stream, self.deadline)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds):
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner, deadline: float):
        self.inner, self.deadline = inner, deadline

    def read(self, max_bytes, timeout=None):
        return self.inner.read(max_bytes, _left(self.deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer, timeout=None):
        self.inner.write(buffer, _left(self.deadline, timeout, httpcore.WriteTimeout))

    def close(self):
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        # Python's TLS handshake takes a socket timeout as a deadline for the whole handshake.
        timeout = _left(self.deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, timeout), self.deadline)

    def get_extra_info(self, info):
        return self.inner.get_extra_info(info)
