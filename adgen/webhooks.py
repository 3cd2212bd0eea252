"""Job-finished callbacks: allow-listed hosts only (no SSRF), HMAC-SHA256 signed, retried with backoff.

Signature header: `Adgen-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
the Stripe scheme: the timestamp is signed too, so a receiver can refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from adgen.errors import InputError

log = logging.getLogger("adgen.webhooks")
SIGNATURE_HEADER = "Adgen-Signature"


@dataclass(frozen=True)
class CallbackPolicy:
    """Where callbacks may go: host names and IP networks, e.g. ('hooks.shop.example', '10.0.0.0/8')."""

    allowed_hosts: tuple[str, ...] = ()
    attempts: int = 6
    first_delay_s: float = 1.0      # then 2, 4, 8, ... between attempts
    timeout_s: float = 10.0

    def check_url(self, url: str, field: str = "callback_url") -> None:
        """Refuse a URL whose scheme or host is not allowed (before the job is accepted)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError("callback_url must be an http(s) URL with a host", field=field, value=url)
        if parts.username or parts.password:
            raise InputError("callback_url must not carry credentials", field=field, value=url)
        if not self._host_listed(parts.hostname):
            raise InputError("callback host is not on the allow-list (serve --callback-host)", field=field,
                             value=parts.hostname)

    def resolve_allowed(self, url: str) -> list[str]:
        """Resolve the URL's host now and return its addresses; refuse if any is not allowed.

        A listed name must not resolve to a loopback, private or link-local address unless that
        address is listed as an IP or network itself: a DNS change cannot point us inward.
        """
        host = urlsplit(url).hostname or ""
        self.check_url(url)
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise InputError(f"callback host does not resolve ({exc})", field="callback_url", value=host) from None
        addresses = sorted({info[4][0] for info in infos})
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            inward = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            if (inward or not self._name_listed(host)) and not self._ip_listed(ip):
                raise InputError("callback host resolves to an address that is not allowed", field="callback_url",
                                 value=f"{host} -> {address}")
        return addresses

    def _host_listed(self, host: str) -> bool:
        try:
            return self._ip_listed(ipaddress.ip_address(host))
        except ValueError:
            return self._name_listed(host)

    def _name_listed(self, host: str) -> bool:
        return host.lower().rstrip(".") in {h.lower().rstrip(".") for h in self.allowed_hosts if not _is_ip(h)}

    def _ip_listed(self, ip) -> bool:
        return any(ip in ipaddress.ip_network(h, strict=False) for h in self.allowed_hosts if _is_ip(h))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The signature header value for body."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify(body: bytes, header: str, secret: str, tolerance_s: int = 300) -> bool:
    """What a receiver runs: the signature matches and is recent."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not fields.get("t", "").isdigit() or abs(time.time() - int(fields["t"])) > tolerance_s:
        return False
    expected = sign(body, secret, int(fields["t"])).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def deliver(url: str, payload: dict, secret: str, policy: CallbackPolicy, sleep=time.sleep) -> tuple[bool, int, str]:
    """POST payload, retrying on network errors and 5xx/429 with exponential backoff.

    Returns (delivered, attempts made, last outcome). The host is re-checked before every attempt.
    """
    import httpx

    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    outcome = "not attempted"
    for attempt in range(1, policy.attempts + 1):
        try:
            policy.resolve_allowed(url)
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret),
                       "User-Agent": "adgen-webhooks"}
            # No redirects: a 30x could point anywhere, past the allow-list.
            response = httpx.post(url, content=body, headers=headers, timeout=policy.timeout_s, follow_redirects=False)
            outcome = f"HTTP {response.status_code}"
            if response.status_code < 300:
                return True, attempt, outcome
            if response.status_code < 500 and response.status_code != 429:
                return False, attempt, outcome  # the receiver refuses it; retrying will not help
        except InputError as exc:
            return False, attempt, str(exc)
        except httpx.HTTPError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        log.warning("callback %s attempt %d failed: %s", url, attempt, outcome)
        if attempt < policy.attempts:
            sleep(policy.first_delay_s * 2 ** (attempt - 1))
    return False, policy.attempts, outcome
