"""Prometheus metrics served by run-consumer (127.0.0.1:``metrics.port``).

Every metric names a job type by its registry name, in the label ``job_type``.

Counters and histograms are this process's own (tasks run here). Gauges that describe shared
state (queue depth, jobs by status, quota, pauses, breaker, live workers) are read from the
database and the queue at scrape time, so every consumer tells the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tubesensei.jobs.registry import QUEUES
from tubesensei.jobs.system import JobSystem
from tubesensei.queries.state import job_counts, live_workers, queue_statuses, quota_today

# Counters' *_created series double the output and no dashboard reads them.
disable_created_metrics()


class JobMetrics:
    """This process's task metrics (the executor records into them)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        if registry is None:
            # The process's own figures, as every Prometheus exporter has them.
            registry = CollectorRegistry()
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.registry = registry
        self.shared_registered = False
        self.tasks = Counter("tubesensei_tasks_total", "Task runs by job type and outcome.",
                             ["job_type", "outcome"], registry=self.registry)
        self.duration = Histogram(
            "tubesensei_task_duration_seconds", "Task run time.", ["job_type"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
            registry=self.registry,
        )
        self.retries = Counter("tubesensei_retries_total", "Jobs scheduled for another attempt.",
                               ["job_type", "error_class"], registry=self.registry)
        self.rate_limit_wait = Counter(
            "tubesensei_rate_limit_wait_seconds_total",
            "Seconds transcript fetches waited for the shared rate limit.",
            registry=self.registry,
        )
        self.rate_limit_waits = Counter(
            "tubesensei_rate_limit_waits_total", "Transcript fetches that had to wait.",
            registry=self.registry,
        )
        self.consumer_threads = Gauge("tubesensei_consumer_threads",
                                      "Worker threads of this consumer.", registry=self.registry)
        self.consumer_inflight = Gauge("tubesensei_consumer_inflight_jobs",
                                       "Jobs running in this consumer.", registry=self.registry)

        # Labelled children, looked up once each (labels() takes a lock and builds keys).
        self._task_children: dict[tuple[str, str], Any] = {}
        self._duration_children: dict[str, Any] = {}

    def observe(self, job_type: str, outcome: str, seconds: float) -> None:
        counter = self._task_children.get((job_type, outcome))
        if counter is None:
            counter = self._task_children.setdefault(
                (job_type, outcome), self.tasks.labels(job_type, outcome))
        histogram = self._duration_children.get(job_type)
        if histogram is None:
            histogram = self._duration_children.setdefault(
                job_type, self.duration.labels(job_type))
        counter.inc()
        histogram.observe(seconds)


class SharedStateCollector(Collector):
    """Gauges read from the database and the queues at scrape time."""

    def __init__(self, system: JobSystem) -> None:
        self.system = system

    def collect(self) -> Iterator[GaugeMetricFamily]:
        system = self.system
        s = system.settings
        now = datetime.now(UTC)
        with system.db.read() as session:  # one read transaction: the gauges agree
            counts = job_counts(session)
            quota = quota_today(session, s.youtube.quota_units_per_day, now)
            statuses = queue_statuses(session, QUEUES)
            live = live_workers(session, s.limits.stale_after_seconds, now)

        depth = GaugeMetricFamily("tubesensei_queue_depth", "Messages waiting in each queue.",
                                  labels=["queue", "state"])
        for queue, sizes in system.queue_sizes().items():
            depth.add_metric([queue, "queued"], sizes["queued"])
            depth.add_metric([queue, "scheduled"], sizes["scheduled"])
        yield depth

        jobs = GaugeMetricFamily("tubesensei_jobs", "Jobs in the ledger by status and type.",
                                 labels=["status", "job_type"])
        by_status_type: dict[tuple[str, str], int] = {}
        for _queue, job_type, status, n in counts:
            key = (status, job_type)
            by_status_type[key] = by_status_type.get(key, 0) + n
        for (status, job_type), n in sorted(by_status_type.items()):
            jobs.add_metric([status, job_type], n)
        yield jobs

        yield GaugeMetricFamily("tubesensei_quota_units_used_today",
                                "Data API units spent this quota day (Pacific time).",
                                value=quota.units)
        yield GaugeMetricFamily("tubesensei_quota_units_per_day",
                                "Daily Data API quota configured.", value=quota.limit)

        paused = GaugeMetricFamily("tubesensei_queue_paused",
                                   "1 when the queue is paused (by hand or by the quota).",
                                   labels=["queue"])
        breaker = GaugeMetricFamily("tubesensei_breaker_open",
                                    "1 when the queue's circuit breaker is open or half-open.",
                                    labels=["queue"])
        for queue, st in statuses.items():
            auto = st.paused_until is not None and st.paused_until > now
            paused.add_metric([queue], 1 if (st.paused or auto) else 0)
            breaker.add_metric([queue], 0 if st.breaker_state == "closed" else 1)
        yield paused
        yield breaker

        yield GaugeMetricFamily("tubesensei_workers", "Live consumer processes.", value=len(live))
        yield GaugeMetricFamily("tubesensei_worker_threads", "Worker threads of live consumers.",
                                value=sum(w["threads"] for w in live))


def serve_metrics(system: JobSystem, metrics: JobMetrics, host: str, port: int) -> Any:
    """Start the HTTP endpoint in a daemon thread; returns the server (``.server_port``,
    ``.shutdown()``). ``/metrics`` answers (gzip when asked); any other path is 404."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    if not metrics.shared_registered:
        metrics.registry.register(SharedStateCollector(system))
        metrics.shared_registered = True
    exposition = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "") in ("/metrics", "/metrics/"):
            return exposition(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not found: metrics are at /metrics\n"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="tubesensei-metrics",
                              daemon=True)
    thread.start()
    return server
