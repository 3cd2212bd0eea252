"""Job-finished callbacks: allow-listed hosts only (no SSRF), HMAC-SHA256 signed, retried with backoff.

Each attempt goes through adgen.netfetch: the host is resolved once, every address checked and the
connection made to those addresses (no second lookup for DNS rebinding to exploit), under one
wall-clock deadline, and the response body is never read. What the client sees of an attempt is
a coarse outcome ("HTTP 503", "network error", "timed out", "refused by policy"); the detail goes
to the server log only, so callbacks cannot be used to scan ports.

Signature header: `Adgen-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
the Stripe scheme: the timestamp is signed too, so a receiver can refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import ssl
import time
from dataclasses import dataclass, field

import httpx

from adgen import netfetch
from adgen.errors import InputError

log = logging.getLogger("adgen.webhooks")
SIGNATURE_HEADER = "Adgen-Signature"


@dataclass(frozen=True)
class CallbackPolicy:
    """Where callbacks may go: host names and IP networks, e.g. ('hooks.shop.example', '10.0.0.0/8')."""

    allowed_hosts: tuple[str, ...] = ()
    attempts: int = 6
    first_delay_s: float = 1.0      # then 2, 4, 8, ... between attempts
    timeout_s: float = 10.0         # one attempt, wall clock: DNS, connect, send, the status line
    # None: the default CA bundle; a receiver with a private CA (or a test's) can be trusted here.
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    def check_url(self, url: str, field: str = "callback_url") -> None:
        """Refuse a URL whose scheme or host is not allowed (before the job is accepted)."""
        try:  # httpx's parser: the one whose reading of the URL is the one connected to
            parts = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.host:
            raise InputError("callback_url must be an http(s) URL with a host", field=field, value=url)
        if parts.userinfo:
            raise InputError("callback_url must not carry credentials", field=field, value=url)
        if not self._host_listed(parts.host):
            raise InputError("callback host is not on the allow-list (serve --callback-host)", field=field,
                             value=parts.host)

    def resolve_allowed(self, url: str) -> list[str]:
        """Check the URL, resolve its host now and return its addresses; refuse if any is not allowed.

        A listed name must not resolve to a loopback, private or link-local address unless that
        address is listed as an IP or network itself: a DNS change cannot point us inward.
        (A check only: deliver() resolves once per attempt and connects to what it checked.)
        """
        self.check_url(url)
        return sorted(netfetch.check(url, field="callback_url", policy=self.fetch_policy()))

    def fetch_policy(self) -> netfetch.FetchPolicy:
        """The fetcher's terms for one attempt: only listed IPs and networks may be inward addresses."""
        return netfetch.FetchPolicy(allow=tuple(h for h in self.allowed_hosts if _is_ip(h)), allow_http=True,
                                    deadline_s=self.timeout_s, connect_timeout_s=min(self.timeout_s, 5.0),
                                    max_redirects=0, ssl_context=self.ssl_context)

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
    """POST payload, retrying network errors (DNS failures too), timeouts and 5xx/429 with exponential backoff.

    Returns (delivered, attempts made, last outcome). The host is re-checked before every attempt;
    a URL or address refused by the policy is final. No redirects: a 30x could point anywhere.
    """
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    outcome = "not attempted"
    for attempt in range(1, policy.attempts + 1):
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}
        try:
            policy.check_url(url)
            status = netfetch.post(url, body, headers, field="callback_url", policy=policy.fetch_policy())
        except netfetch.FetchError as exc:
            outcome, retry, detail = exc.outcome, exc.retryable, f"{exc} {exc.detail}".strip()
        except InputError as exc:
            outcome, retry, detail = "refused by policy", False, str(exc)
        else:
            outcome = f"HTTP {status}"
            if status < 300:
                return True, attempt, outcome
            retry, detail = status >= 500 or status == 429, outcome  # other 4xx: the receiver refuses it
        log.warning("callback %s attempt %d failed: %s", url, attempt, detail)
        if not retry:
            return False, attempt, outcome
        if attempt < policy.attempts:
            sleep(policy.first_delay_s * 2 ** (attempt - 1))
    return False, policy.attempts, outcome
