"""Commands to watch and steer the queue: sessions, queues, workers, stats."""

from __future__ import annotations

from typing import Any

import click

from tubesensei.commands.common import (
    QUEUE_CHOICE,
    AppContext,
    json_option,
    limit_option,
    pass_app,
    shown_rows,
)
from tubesensei.commands.output import print_json, print_table, showing
from tubesensei.errors import Failure

SESSION_ROWS = 20  # sessions a table shows when --limit is not given
QUEUE_COLUMNS = ["queue", "state", "queued", "scheduled", "pending", "retrying", "running",
                 "failed"]


def _queue_rows(queues: dict[str, Any]) -> list[list[Any]]:
    return [[q, v["state"]["state"], v["queued_messages"], v["scheduled_messages"], v["pending"],
             v["retrying"], v["running"], v["failed"]] for q, v in queues.items()]


# -- sessions -------------------------------------------------------------------------------


@click.group(name="sessions")
def sessions_group() -> None:
    """Processing sessions (batches) and their reports."""


@sessions_group.command(name="list")
@limit_option(SESSION_ROWS)
@json_option
@pass_app
def sessions_list(app: AppContext, limit: int | None, as_json: bool) -> None:
    """List sessions, newest first, with progress.

    \b
    Example:
        tubesensei sessions list
        tubesensei sessions list --limit 100
    """
    from tubesensei.queries.sessions import count_sessions, list_sessions

    rows = shown_rows(limit, as_json, SESSION_ROWS)
    with app.reader().read() as s:  # one snapshot: the page and the count agree
        reports = list_sessions(s, limit=rows)
        total = count_sessions(s) if rows is not None and len(reports) == rows else len(reports)
    if as_json:
        print_json([r.as_dict() for r in reports])
        return
    if not reports:
        click.echo("no sessions yet (a batch makes one: tubesensei enqueue batch --file "
                   "ids.txt --name NAME)")
        return
    print_table(["id", "name", "status", "jobs finished", "jobs completed",
                 "transcripts obtained", "no transcript", "failed", "per min"],
                [[r.id, r.name, r.status, f"{r.finished}/{r.total}",
                  f"{r.jobs_completed}/{r.total}", f"{r.transcripts} of {r.total}",
                  r.no_transcript, r.jobs.get("failed", 0), r.throughput_per_min]
                 for r in reports])
    showing(len(reports), total, "sessions")


@sessions_group.command(name="show")
@click.argument("session_id", type=int)
@json_option
@pass_app
def sessions_show(app: AppContext, session_id: int, as_json: bool) -> None:
    """A session's report: jobs completed and transcripts obtained (two different numbers:
    a video without a transcript still completes its job), reasons, duration, throughput.

    \b
    Example:
        tubesensei sessions show 3
    """
    from tubesensei.queries.sessions import session_report

    report = app.reader().query(session_report, session_id)
    data = report.as_dict()
    if as_json:
        print_json(data)
        return
    for label, value in _report_lines(report, data):
        click.echo(f"{label:<21}{value}")


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(counts.items()))


def _report_lines(r: Any, data: dict[str, Any]) -> list[tuple[str, Any]]:
    from tubesensei.formatting import duration

    failed = r.jobs.get("failed", 0)
    rate = "–" if r.success_rate is None else f"{r.success_rate:.0%}"
    lines: list[tuple[str, Any]] = [
        ("id", r.id), ("name", r.name), ("status", r.status), ("videos", r.videos),
    ]
    if r.status == "running" and r.total < r.videos:
        # A batch makes its extract jobs 50 videos at a time, behind other work (the batch
        # queue gives way): until then the counts below are of the jobs made so far.
        lines.append(("jobs created", f"{r.total} of {r.videos} (the session's batch jobs "
                                      "are still creating the rest)"))
    lines += [
        ("jobs finished", f"{r.finished}/{r.total} ({_share(r.finished, r.total)})"),
        ("jobs completed", f"{r.jobs_completed}/{r.total} ({_share(r.jobs_completed, r.total)})"),
        ("jobs failed", f"{failed}" + (f" ({_counts(r.failures)})" if r.failures else "")),
        ("transcripts obtained", f"{r.transcripts} of {r.total} videos "
                                 f"({_share(r.transcripts, r.total)})"),
        ("no transcript", f"{r.no_transcript}" + (f" ({_counts(r.unavailable)})"
                                                   if r.unavailable else "")),
        ("success rate", f"{rate} of the finished jobs had no error"),
    ]
    lines += [(key.replace("_", " "), "" if data[key] is None else data[key])
              for key in ("created_at", "started_at", "completed_at")]
    lines += [("duration", "" if r.duration_s is None else duration(r.duration_s)),
              ("throughput", "" if r.throughput_per_min is None
               else f"{r.throughput_per_min} jobs/min")]
    if r.jobs:
        lines.append(("jobs by status", _counts(r.jobs)))
    return lines


# -- queues ---------------------------------------------------------------------------------


@click.group(name="queues", invoke_without_command=True)
@json_option
@click.pass_context
def queues_group(ctx: click.Context, as_json: bool) -> None:
    """Show the queues; pause and resume them by hand.

    \b
    Example:
        tubesensei queues
        tubesensei queues pause transcripts
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(queues_show, as_json=as_json)


@pass_app
def queues_show(app: AppContext, as_json: bool) -> None:
    queues = app.runtime().jobs().stats()["queues"]
    if as_json:
        print_json([{"queue": q, **v} for q, v in queues.items()])
        return
    print_table(QUEUE_COLUMNS, _queue_rows(queues))


@queues_group.command(name="pause")
@click.argument("queue", type=QUEUE_CHOICE)
@pass_app
def queues_pause(app: AppContext, queue: str) -> None:
    """Stop every consumer from taking work from QUEUE (running jobs finish).

    \b
    Example:
        tubesensei queues pause transcripts
    """
    app.runtime().jobs().pause_queue(queue)
    click.echo(f"{queue}: paused")


@queues_group.command(name="resume")
@click.argument("queue", type=QUEUE_CHOICE)
@pass_app
def queues_resume(app: AppContext, queue: str) -> None:
    """Resume QUEUE (also lifts a quota pause and closes an open breaker); jobs that were
    waiting for that pause to lift are due at once.

    \b
    Example:
        tubesensei queues resume transcripts
    """
    released = app.runtime().jobs().resume_queue(queue)
    click.echo(f"{queue}: running" + (f" ({released} waiting job(s) released)"
                                      if released else ""))


# -- workers --------------------------------------------------------------------------------


@click.group(name="workers", invoke_without_command=True)
@json_option
@click.pass_context
def workers_group(ctx: click.Context, as_json: bool) -> None:
    """List live consumers; scale a queue's threads without a restart.

    \b
    Example:
        tubesensei workers --json
        tubesensei workers scale transcripts 8
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(workers_list, as_json=as_json)


@pass_app
def workers_list(app: AppContext, as_json: bool) -> None:
    app.reader()
    live = app.runtime().jobs().live_workers()
    if as_json:
        print_json(live)
        return
    if not live:
        click.echo("no consumer is running (start one: tubesensei run-consumer)")
        return
    print_table(["worker", "host", "pid", "caps (jobs at once)", "threads", "in flight",
                 "processed", "failed", "heartbeat"],
                [[w["worker_id"], w["host"], w["pid"],
                  " · ".join(f"{q} {w['concurrency'].get(q, 0)}" for q in w["queues"]),
                  w["threads"], w["inflight"], w["processed"], w["failed"],
                  w["heartbeat_at"][:19]] for w in live])
    click.echo("threads: as many as the largest cap, at most limits.max_concurrent_jobs "
               f"({app.runtime().settings.limits.max_concurrent_jobs}); "
               "`tubesensei workers scale QUEUE N` changes a cap")


@workers_group.command(name="scale")
@click.argument("queue", type=QUEUE_CHOICE)
@click.argument("count", type=click.IntRange(0, 64))
@click.option("--worker", "worker_id", help="Only this consumer (default: every live one).")
@pass_app
def workers_scale(app: AppContext, queue: str, count: int, worker_id: str | None) -> None:
    """Set how many jobs of QUEUE each running consumer runs at once (takes effect within a
    heartbeat, no restart; 0 stops taking that queue's work).

    \b
    Example:
        tubesensei workers scale transcripts 8
    """
    changed = app.runtime().jobs().scale(queue, count, worker_id)
    if not changed:
        raise Failure("no live consumer serves that queue" + (f" as {worker_id}" if worker_id
                                                               else ""))
    click.echo(f"{queue}: {count} at once on {changed} consumer(s)")
    most = app.runtime().settings.limits.max_concurrent_jobs
    if count > most:
        click.echo(f"{count} is above limits.max_concurrent_jobs ({most}): a consumer runs at "
                   f"most {most} threads (raise it with TUBESENSEI_LIMITS__MAX_CONCURRENT_JOBS "
                   "or `tubesensei config set limits.max_concurrent_jobs N`)", err=True)


# -- stats ----------------------------------------------------------------------------------


@click.command(name="stats")
@json_option
@pass_app
def stats_command(app: AppContext, as_json: bool) -> None:
    """Queue sizes, jobs by status and type, throughput, the backlog with an ETA from recent
    throughput, quota, pauses, breaker, workers.

    \b
    Example:
        tubesensei stats --json
    """
    from tubesensei.commands.live import backlog_rows

    app.reader()  # a read-only data folder still answers
    data, work_left = app.runtime().jobs().stats_and_backlog()
    if as_json:
        print_json(data)
        return
    print_table(QUEUE_COLUMNS, _queue_rows(data["queues"]), title="queues")
    minutes = data["backlog"]["window_minutes"]
    print_table(["queue", "remaining", "rate", "ETA"], backlog_rows(work_left),
                title=f"backlog (rate: jobs finished in the last {minutes:g} min)")
    click.echo("jobs: " + ", ".join(f"{k} {v}" for k, v in data["jobs_by_status"].items()))
    t = data["throughput"]
    click.echo(f"completed: {t['last_minute']} in the last minute, {t['last_hour']} in the last "
               "hour")
    q = data["quota"]
    click.echo(f"quota: {q['units_used']} of {q['units_per_day']} units used today "
               f"(resets {q['resets_at'][:16].replace('T', ' ')} UTC)")
    click.echo(f"workers: {len(data['workers'])} live consumer(s), "
               f"{sum(w['threads'] for w in data['workers'])} thread(s)")
