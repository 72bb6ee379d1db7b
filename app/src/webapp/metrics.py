"""Prometheus metrics (prometheus-client).

Under gunicorn every worker is a process, so the metrics are kept in prometheus-client's multiprocess mode when
PROMETHEUS_MULTIPROC_DIR is set (the gunicorn config and the image set it) and /metrics aggregates all workers.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "webapp_http_requests_total", "HTTP requests served, by method, route and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "webapp_http_request_duration_seconds",
    "Time spent in the application per request, by method and route.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DB_ERRORS = Counter("webapp_db_errors_total", "PostgreSQL operations that failed, by operation.", ["operation"])
CACHE_ERRORS = Counter("webapp_cache_errors_total", "Redis operations that failed, by operation.", ["operation"])
CACHE_LOOKUPS = Counter("webapp_cache_lookups_total", "Item cache lookups, by result (hit, miss).", ["result"])


def render() -> tuple[bytes, str]:
    """The exposition text for every worker (multiprocess mode) or this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
