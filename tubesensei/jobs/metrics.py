"""Prometheus metrics served by run-consumer (127.0.0.1:``metrics.port``).

Counters and histograms are this process's own (tasks run here). Gauges that describe shared
state (queue depth, jobs by status, quota, pauses, breaker, live workers) are read from the
database and the queue at scrape time, so every consumer tells the same truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from tubesensei.db.models import ProcessingJob
from tubesensei.jobs.control import QueueControl
from tubesensei.jobs.stats import units_today
from tubesensei.jobs.system import JobSystem
from tubesensei.jobs.workers import WorkerRegistry

JOBS = ProcessingJob.__table__


class JobMetrics:
    """This process's task metrics (the executor records into them)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.shared_registered = False
        self.tasks = Counter("tubesensei_tasks_total", "Task runs by task and outcome.",
                             ["task", "outcome"], registry=self.registry)
        self.duration = Histogram(
            "tubesensei_task_duration_seconds", "Task run time.", ["task"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
            registry=self.registry,
        )
        self.retries = Counter("tubesensei_retries_total", "Jobs scheduled for another attempt.",
                               ["task", "error_class"], registry=self.registry)
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

    def observe(self, task: str, outcome: str, seconds: float) -> None:
        self.tasks.labels(task, outcome).inc()
        self.duration.labels(task).observe(seconds)


class SharedStateCollector(Collector):
    """Gauges read from the database and the queues at scrape time."""

    def __init__(self, system: JobSystem) -> None:
        self.system = system
        self.control = QueueControl(system.engine)
        self.registry = WorkerRegistry(system.engine)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        system = self.system
        depth = GaugeMetricFamily("tubesensei_queue_depth", "Messages waiting in each queue.",
                                  labels=["queue", "state"])
        for queue, sizes in system.queues.queue_sizes().items():
            depth.add_metric([queue, "queued"], sizes["queued"])
            depth.add_metric([queue, "scheduled"], sizes["scheduled"])
        yield depth

        jobs = GaugeMetricFamily("tubesensei_jobs", "Jobs in the ledger by status and type.",
                                 labels=["status", "job_type"])
        with system.engine.connect() as conn:
            for status, job_type, n in conn.execute(
                select(JOBS.c.status, JOBS.c.job_type, func.count())
                .group_by(JOBS.c.status, JOBS.c.job_type)
            ):
                jobs.add_metric([status, job_type], n)
        units = units_today(system.engine)
        yield jobs

        yield GaugeMetricFamily("tubesensei_quota_units_used_today",
                                "Data API units spent this quota day (Pacific time).",
                                value=units or 0)
        yield GaugeMetricFamily("tubesensei_quota_units_per_day",
                                "Daily Data API quota configured.",
                                value=system.settings.youtube.quota_units_per_day)

        paused = GaugeMetricFamily("tubesensei_queue_paused",
                                   "1 when the queue is paused (by hand or by the quota).",
                                   labels=["queue"])
        breaker = GaugeMetricFamily("tubesensei_breaker_open",
                                    "1 when the queue's circuit breaker is open or half-open.",
                                    labels=["queue"])
        now = datetime.now(UTC)
        for queue, st in self.control.statuses().items():
            auto = st.paused_until is not None and st.paused_until > now
            paused.add_metric([queue], 1 if (st.paused or auto) else 0)
            breaker.add_metric([queue], 0 if st.breaker_state == "closed" else 1)
        yield paused
        yield breaker

        live = self.registry.live(system.settings.limits.stale_after_seconds)
        yield GaugeMetricFamily("tubesensei_workers", "Live consumer processes.", value=len(live))
        yield GaugeMetricFamily("tubesensei_worker_threads", "Worker threads of live consumers.",
                                value=sum(w["threads"] for w in live))


def serve_metrics(system: JobSystem, metrics: JobMetrics, host: str, port: int) -> Any:
    """Start the HTTP endpoint in a daemon thread; returns the server (``.server_port``)."""
    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    if not metrics.shared_registered:
        metrics.registry.register(SharedStateCollector(system))
        metrics.shared_registered = True
    return server
