"""Milliseconds per pipeline step, for the result's timings_ms (run() and make_pack both report them)."""

from __future__ import annotations

import time


class StepTimer:
    """`lap(step)` records the time since the previous lap (or since creation) under `step`."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = round((now - self._clock) * 1000, 1)
        self._clock = now
