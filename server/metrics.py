"""Prometheus metrics for one application (its own registry, so several apps can share a process)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    exposition,
    generate_latest,
)

CONTENT_TYPE = exposition.CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "declutter_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "declutter_http_request_duration_seconds",
            "Time to answer a request, by route template.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "declutter_clean_cache_total",
            "Clean-article cache lookups, by result (hit or miss).",
            ["result"],
            registry=self.registry,
        )
        self.extraction = Histogram(
            "declutter_extraction_seconds",
            "Time spent extracting an article, by outcome.",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.fetches = Counter(
            "declutter_fetches_total",
            "Server-side page fetches, by outcome (ok, refused, error).",
            ["outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "declutter_rate_limited_total",
            "Requests refused by the per-client rate limit.",
            registry=self.registry,
        )
        self.backend_up = Gauge(
            "declutter_backend_up",
            "1 when a backend answered its last health check, else 0.",
            ["backend"],
            registry=self.registry,
        )
        self.render_queue = Gauge(
            "declutter_render_queue",
            "Renders waiting for a Chromium slot now.",
            registry=self.registry,
        )
        self.render_active = Gauge(
            "declutter_render_active",
            "Renders holding a Chromium slot now.",
            registry=self.registry,
        )
        self.render_wait = Histogram(
            "declutter_render_wait_seconds",
            "Time a render waited for its slot, given or refused.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.renders = Counter(
            "declutter_renders_total",
            "Renders for /clean, by outcome (ok, error, timeout, busy: refused after waiting).",
            ["outcome"],
            registry=self.registry,
        )

        self._children: dict[tuple[str, str, str], tuple] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one request; label children are looked up once per combination."""
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.latency.labels(route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
