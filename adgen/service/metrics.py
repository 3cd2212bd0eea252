"""Prometheus metrics of the service: jobs by state, queue depth, assets by review state, asset latency."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily

from adgen.service.store import JobStore

# CPU assets take seconds, GPU ones well under one: buckets cover both.
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)


class _JobGauges:
    """Read at scrape time from SQLite, so the numbers survive restarts and never drift."""

    def __init__(self, store: JobStore, reviews=None):
        self.store, self.reviews = store, reviews

    def collect(self):
        counts = self.store.counts_by_status()
        jobs = GaugeMetricFamily("adgen_jobs", "Jobs by state.", labels=["state"])
        for state, count in counts.items():
            jobs.add_metric([state], count)
        yield jobs
        yield GaugeMetricFamily("adgen_queue_depth", "Jobs waiting or running.",
                                value=counts["queued"] + counts["running"])
        if self.reviews is not None:
            reviewed = GaugeMetricFamily("adgen_assets_by_review", "Assets by review state.", labels=["state"])
            for state, count in self.reviews.counts_by_state().items():
                reviewed.add_metric([state], count)
            yield reviewed


class ServiceMetrics:
    """One registry per app, so two apps in one process (tests) do not collide."""

    def __init__(self, store: JobStore, reviews=None):
        self.registry = CollectorRegistry()
        self.registry.register(_JobGauges(store, reviews))
        self.asset_seconds = Histogram("adgen_asset_seconds", "Time to make one asset (run()).",
                                       buckets=LATENCY_BUCKETS, registry=self.registry)
