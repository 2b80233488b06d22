"""Commands of the job system: enqueue, jobs, run-consumer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from tubesensei.commands.common import (
    AppContext,
    BadInput,
    Failure,
    console,
    json_option,
    pass_app,
    print_json,
    translate_errors,
)
from tubesensei.db.models import JOB_STATUSES

PRIORITY = click.IntRange(-100, 100)


@contextmanager
def job_system(app: AppContext, *, log_to_stderr: bool = False) -> Iterator[Any]:
    """The job system for one command, at the current schema; closed at the end."""
    from tubesensei.jobs.system import JobSystem

    rt = app.runtime(log_to_stderr=log_to_stderr)
    rt.ensure_schema()
    system = JobSystem(rt.settings)
    try:
        yield system
    finally:
        system.close()


def _report(created: list[Any], what: str) -> None:
    for c in created:
        if c.created:
            click.echo(f"queued   job {c.job_id}  {what} {c.spec.entity_id}")
        else:
            click.echo(f"exists   job {c.job_id}  {what} {c.spec.entity_id}  (already {c.status})")


@click.group(name="enqueue")
def enqueue_group() -> None:
    """Queue work for run-consumer (offline: nothing is fetched now)."""


@enqueue_group.command(name="channel")
@click.argument("refs", nargs=-1, required=True)
@click.option("--priority", type=PRIORITY, default=None,
              help="Higher runs first (default 10: new channels outrank rescans).")
@click.option("--full", is_flag=True, help="Page the whole uploads playlist, not just new videos.")
@pass_app
@translate_errors
def enqueue_channel(app: AppContext, refs: tuple[str, ...], priority: int | None,
                    full: bool) -> None:
    """Queue discovery of channels: every video, then one transcript job per video.

    REF is a UC… id, an @handle, or any channel or video URL. Only the syntax is checked
    now; the discovery job resolves the channel.

    \b
    Example:
        tubesensei enqueue channel @veritasium https://www.youtube.com/@3blue1brown
    """
    from tubesensei.jobs.service import enqueue_channels
    from tubesensei.jobs.system import PRIORITY_NEW_CHANNEL
    from tubesensei.youtube.ids import parse_channel_ref

    parsed = [parse_channel_ref(r) for r in refs]  # all checked before anything is queued
    with job_system(app) as system:
        created = enqueue_channels(
            system, parsed, priority=PRIORITY_NEW_CHANNEL if priority is None else priority,
            full=full,
        )
    _report(created, "discover")


# Video ids may begin with "-": let click pass unknown "-xyz" words through as ids.
@enqueue_group.command(name="video", context_settings={"ignore_unknown_options": True})
@click.argument("refs", nargs=-1, required=True)
@click.option("--priority", type=PRIORITY, default=None, help="Higher runs first (default 5).")
@pass_app
@translate_errors
def enqueue_video(app: AppContext, refs: tuple[str, ...], priority: int | None) -> None:
    """Queue transcript jobs for single videos (their channel is added on the way).

    \b
    Example:
        tubesensei enqueue video https://youtu.be/dQw4w9WgXcQ jNQXAC9IVRw
    """
    from tubesensei.jobs.service import enqueue_videos
    from tubesensei.jobs.system import PRIORITY_USER_VIDEO
    from tubesensei.youtube.ids import parse_video_id

    ids = list(dict.fromkeys(parse_video_id(r) for r in refs))
    with job_system(app) as system:
        created = enqueue_videos(
            system, ids, priority=PRIORITY_USER_VIDEO if priority is None else priority
        )
    _report(created, "transcript")


@enqueue_group.command(name="batch", context_settings={"ignore_unknown_options": True})
@click.argument("refs", nargs=-1)
@click.option("--name", required=True, help="A name for the session (shown in reports).")
@click.option("--file", "file", type=click.File("r"), help="Read video references from a file "
              "(one per line; '#' starts a comment; '-' reads stdin).")
@click.option("--channel", "channel", help="All pending videos of this stored channel.")
@click.option("--priority", type=PRIORITY, default=0, show_default=True)
@pass_app
@translate_errors
def enqueue_batch(app: AppContext, refs: tuple[str, ...], name: str, file: Any,
                  channel: str | None, priority: int) -> None:
    """Queue a processing session: one transcript job per video, with a report.

    \b
    Example:
        tubesensei enqueue batch dQw4w9WgXcQ jNQXAC9IVRw --name "two classics"
        tubesensei enqueue batch --file ids.txt --name "reading list"
        tubesensei enqueue batch --channel @veritasium --name "veritasium backlog"
    """
    from tubesensei.jobs.sessions import create_batch
    from tubesensei.youtube.ids import parse_channel_ref, parse_video_id

    lines = list(refs)
    if file is not None:
        lines += [ln.split("#", 1)[0].strip() for ln in file.read().splitlines()]
    ids = [parse_video_id(r) for r in lines if r]
    ref = parse_channel_ref(channel) if channel else None
    if not ids and ref is None:
        raise BadInput("give video references, --file or --channel")
    with job_system(app) as system:
        if ref is not None:
            ids += _pending_videos_of(app, ref)
        if not ids:
            raise Failure("no videos to process: the channel has no pending videos")
        session_id, batches = create_batch(system, name, ids, priority,
                                           source="channel" if ref else "videos")
    click.echo(f"session {session_id} \"{name}\": {len(set(ids))} videos in {batches} batch(es)")


def _pending_videos_of(app: AppContext, ref: Any) -> list[str]:
    from tubesensei.commands.common import run_async
    from tubesensei.pipeline.channels import get_channel
    from tubesensei.pipeline.context import Pipeline
    from tubesensei.pipeline.discovery import eligible_pending_videos

    async def go() -> list[str]:
        db = app.runtime().database()
        try:
            async with db.read() as s:
                channel = await get_channel(s, ref)
            pipeline = Pipeline(app.runtime().settings, db)
            return await eligible_pending_videos(pipeline, channel.youtube_channel_id)
        finally:
            await db.dispose()

    return run_async(go())


@click.group(name="jobs")
def jobs_group() -> None:
    """Inspect the job ledger, cancel and retry jobs."""


JOB_TYPES_CHOICE = click.Choice(["discover_channel", "extract_transcript", "sync_channel"])


@jobs_group.command(name="list")
@click.option("--status", type=click.Choice(JOB_STATUSES), help="Only jobs in this status.")
@click.option("--type", "job_type", type=JOB_TYPES_CHOICE, help="Only jobs of this type.")
@click.option("--queue", type=click.Choice(["discovery", "transcripts", "batch"]))
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most N jobs (default: all with --json, 50 in the table).")
@json_option
@pass_app
@translate_errors
def jobs_list(app: AppContext, status: str | None, job_type: str | None, queue: str | None,
              limit: int | None, as_json: bool) -> None:
    """List jobs, newest first.

    \b
    Example:
        tubesensei jobs list --status failed
        tubesensei jobs list --type extract_transcript --json
    """
    from tubesensei.jobs.queries import list_jobs

    with job_system(app) as system:
        shown = limit if (limit is not None or as_json) else 50
        rows, total = list_jobs(system.engine, status=status, job_type=job_type, queue=queue,
                                limit=shown)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table()
    for col in ("id", "type", "entity", "status", "attempts", "error", "finished"):
        table.add_column(col, overflow="fold" if col == "error" else "ellipsis")
    for r in rows:
        error = f"{r['error_class']}: {r['error']}" if r["error_class"] else ""
        table.add_row(str(r["id"]), r["job_type"], r["entity_id"], r["status"],
                      f"{r['attempts']}/{r['max_attempts']}", error[:120],
                      (r["finished_at"] or "")[:19])
    out = console()
    out.print(table)
    if total > len(rows):
        out.print(f"showing {len(rows)} of {total} (use --limit or --json)")


@jobs_group.command(name="show")
@click.argument("job_id", type=int)
@json_option
@pass_app
@translate_errors
def jobs_show(app: AppContext, job_id: int, as_json: bool) -> None:
    """Show one job in full: arguments, attempts, timestamps, error, result, worker.

    \b
    Example:
        tubesensei jobs show 42
    """
    from tubesensei.jobs.queries import get_job

    with job_system(app) as system:
        job = get_job(system.engine, job_id)
    if as_json:
        print_json(job)
        return
    width = max(len(k) for k in job)
    for key, value in job.items():
        click.echo(f"{key.ljust(width)}  {value if value is not None else ''}")


@jobs_group.command(name="cancel")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--session", "session_id", type=int, help="Cancel a session's remaining jobs.")
@pass_app
@translate_errors
def jobs_cancel(app: AppContext, job_ids: tuple[int, ...], session_id: int | None) -> None:
    """Cancel jobs: a queued job never runs; a running one stops at its next checkpoint.

    \b
    Example:
        tubesensei jobs cancel 42 43
        tubesensei jobs cancel --session 3
    """
    from tubesensei.jobs.queries import get_job
    from tubesensei.jobs.sessions import session_job_ids

    if not job_ids and session_id is None:
        raise BadInput("give job ids or --session ID")
    with job_system(app) as system:
        ids = list(job_ids)
        for job_id in ids:
            get_job(system.engine, job_id)  # JobNotFound → exit 1 before anything changes
        if session_id is not None:
            ids += session_job_ids(system.engine, session_id)
        cancelled, requested = system.ledger.cancel(ids)
    click.echo(f"cancelled {len(cancelled)} queued job(s); asked {len(requested)} running "
               "job(s) to stop")


@jobs_group.command(name="retry")
@click.argument("job_id", type=int, required=False)
@click.option("--type", "job_type", type=JOB_TYPES_CHOICE, help="Retry failed jobs of this type.")
@click.option("--session", "session_id", type=int, help="Retry a session's failed jobs.")
@click.option("--force", is_flag=True, help="Also jobs that used all their attempts (and give "
              "them their attempts back).")
@pass_app
@translate_errors
def jobs_retry(app: AppContext, job_id: int | None, job_type: str | None,
               session_id: int | None, force: bool) -> None:
    """Re-queue failed jobs that still have attempts (all of them with --force).

    \b
    Example:
        tubesensei jobs retry --type extract_transcript
        tubesensei jobs retry 42 --force
    """
    from tubesensei.jobs.queries import get_job

    with job_system(app) as system:
        if job_id is not None:
            get_job(system.engine, job_id)
        messages = system.ledger.retry_failed(job_id=job_id, job_type=job_type,
                                              session_id=session_id, force=force)
        system.send(messages)
    click.echo(f"re-queued {len(messages)} failed job(s)")
    if not messages and not force:
        click.echo("(jobs that used all their attempts need --force)")


@click.command(name="run-consumer")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker threads shared by the queues (default: limits.worker_concurrency).")
@click.option("--queue", "queues", multiple=True,
              type=click.Choice(["discovery", "transcripts", "batch"]),
              help="Serve only this queue (repeatable; default: all).")
@click.option("--burst", is_flag=True, help="Exit when no job is runnable or due soon.")
@click.option("--burst-wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="With --burst: wait for retries due within this many seconds.")
@click.option("--grace", type=click.FloatRange(min=0), default=None,
              help="Seconds running jobs get to finish after Ctrl-C / SIGTERM "
                   "(default: limits.shutdown_grace_seconds).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve Prometheus metrics on this port (default: metrics.port; 0 = any).")
@click.option("--no-metrics", is_flag=True, help="Do not serve metrics.")
@pass_app
@translate_errors
def run_consumer(app: AppContext, workers: int | None, queues: tuple[str, ...], burst: bool,
                 burst_wait: float, grace: float | None, metrics_port: int | None,
                 no_metrics: bool) -> None:
    """Run the job queue: worker threads in this process, until Ctrl-C (or --burst).

    Logs go to stderr (JSON lines, or a readable console on a terminal).

    \b
    Example:
        tubesensei run-consumer --workers 4
        tubesensei run-consumer --burst --burst-wait 10
    """
    from tubesensei.jobs.consumer import Consumer
    from tubesensei.jobs.queues import QUEUES

    with job_system(app, log_to_stderr=True) as system:
        metrics = system.settings.metrics
        port = None if (no_metrics or not metrics.enabled) else (
            metrics.port if metrics_port is None else metrics_port)
        consumer = Consumer(system, workers=workers, queues=queues or QUEUES, burst=burst,
                            burst_wait=burst_wait, grace_seconds=grace, metrics_port=port,
                            metrics_port_required=metrics_port is not None)
        try:
            summary = consumer.run()
        except OSError as exc:
            raise Failure(f"cannot serve metrics on port {port}: {exc.strerror} "
                          "(use --metrics-port or --no-metrics)") from None
    done = ", ".join(f"{k} {v}" for k, v in sorted(summary.outcomes.items())) or "no jobs"
    click.echo(f"consumer stopped after {summary.elapsed_s:.1f}s: {done}")
    for queue, state in sorted(summary.remaining.items()):
        parts = [f"{k} {v}" for k, v in state.items() if k != "next_retry_at"]
        when = f", next retry at {state['next_retry_at']}" if "next_retry_at" in state else ""
        click.echo(f"still waiting in {queue}: {', '.join(parts)}{when}")


def register(cli: click.Group) -> None:
    cli.add_command(enqueue_group)
    cli.add_command(jobs_group)
    cli.add_command(run_consumer)
    from tubesensei.commands import ops

    ops.register(cli)
