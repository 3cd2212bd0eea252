"""Bounded heavy work: image decodes and /v1/check run a few at a time, one per tenant.

One 5000x5000 check costs ~20 s of CPU and ~1.4 GB (measured by bench abuse); three at once took 2.6 GB. The
gate keeps peak memory at `slots` checks whatever the callers do, answers a tenant that
already has heavy work running with 429 (it cannot crowd others out), and anyone who waited
`wait_s` for a slot with 503 and Retry-After.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager


class Busy(Exception):
    """No slot: tenant=True when the caller's own tenant holds its share (429), else the server is full (503)."""

    def __init__(self, *, tenant: bool):
        super().__init__("tenant busy" if tenant else "server busy")
        self.tenant = tenant


class CostGate:
    """At most `slots` holders at once overall and `per_tenant` per tenant."""

    def __init__(self, slots: int, *, per_tenant: int = 1, wait_s: float = 20.0):
        self.slots, self.per_tenant, self.wait_s = slots, per_tenant, wait_s
        self._free = threading.BoundedSemaphore(slots)
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, tenant: str):
        with self._lock:
            if self._held[tenant] >= self.per_tenant:
                raise Busy(tenant=True)
            self._held[tenant] += 1
        try:
            if not self._free.acquire(timeout=self.wait_s):
                raise Busy(tenant=False)
            try:
                yield
            finally:
                self._free.release()
        finally:
            with self._lock:
                self._held[tenant] -= 1
                if not self._held[tenant]:
                    del self._held[tenant]
