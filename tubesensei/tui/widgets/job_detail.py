"""One job in full: arguments, attempts, timestamps, error, worker, result."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

from textual.content import Content
from textual.widgets import Static

from tubesensei.tui import formatting as fmt
from tubesensei.tui.data import parse_time


def _when(value: Any, now: datetime, tz: tzinfo | None) -> str:
    at = parse_time(value)
    if at is None:
        return "–"
    return f"{fmt.clock_time(at, tz, now)}  ({fmt.ago(at, now)})"


def _json(value: Any) -> str:
    if value in (None, {}, []):
        return "–"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def render_job(job: dict[str, Any], now: datetime, tz: tzinfo | None) -> Content:
    status = job["status"]
    head = Content.assemble(
        (f"Job {job['id']}", "bold"), "  ", job["job_type"], "  ",
        (status, f"bold {fmt.STATUS_STYLE.get(status, '')}"),
        ("  (cancel requested)", "$warning") if job.get("cancel_requested")
        and status == "running" else "",
    )
    rows: list[tuple[str, str | Content]] = [
        ("entity", job["entity_id"]),
        ("queue", f"{job['queue']}  priority {job['priority']}"),
        ("attempts", f"{job['attempts']} of {job['max_attempts']}"),
        ("worker", job.get("worker_id") or "–"),
        ("session", str(job["session_id"]) if job.get("session_id") else "–"),
        ("created", _when(job.get("created_at"), now, tz)),
        ("started", _when(job.get("started_at"), now, tz)),
        ("finished", _when(job.get("finished_at"), now, tz)),
    ]
    if job.get("next_retry_at"):
        rows.append(("next retry", _when(job["next_retry_at"], now, tz)))
    if job.get("heartbeat_at") and status == "running":
        rows.append(("heartbeat", _when(job["heartbeat_at"], now, tz)))
    rows.append(("arguments", _json(job.get("metadata"))))
    if job.get("error_class") or job.get("error"):
        rows.append(("error class", Content.styled(job.get("error_class") or "–", "$error")))
        rows.append(("error", job.get("error") or "–"))
    if job.get("result"):
        rows.append(("result", _json(job["result"])))
    lines = [head, Content("")]
    for label, value in rows:
        lines.append(Content.assemble((f"{label:<12}", "$text-muted"), value))
    return Content("\n").join(lines)


class JobDetail(Static):
    """The detail pane of the jobs view."""

    def show(self, job: dict[str, Any] | None, now: datetime, tz: tzinfo | None) -> None:
        if job is None:
            self.update(Content.styled("No job selected.", "$text-muted"))
        else:
            self.update(render_job(job, now, tz))
