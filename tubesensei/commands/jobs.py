"""Commands of the job system: enqueue, jobs, run-consumer."""

from __future__ import annotations

from typing import Any

import click

from tubesensei.commands.common import (
    AppContext,
    json_option,
    pass_app,
    print_json,
    translate_errors,
)
from tubesensei.db.models import JOB_STATUSES

PRIORITY = click.IntRange(-100, 100)


def _system(app: AppContext, *, log_to_stderr: bool = False) -> Any:
    from tubesensei.jobs.system import JobSystem

    rt = app.runtime(log_to_stderr=log_to_stderr)
    rt.ensure_schema()
    return JobSystem(rt.settings)


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
    system = _system(app)
    try:
        created = enqueue_channels(
            system, parsed, priority=PRIORITY_NEW_CHANNEL if priority is None else priority,
            full=full,
        )
    finally:
        system.close()
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
    system = _system(app)
    try:
        created = enqueue_videos(
            system, ids, priority=PRIORITY_USER_VIDEO if priority is None else priority
        )
    finally:
        system.close()
    _report(created, "transcript")


@click.group(name="jobs")
def jobs_group() -> None:
    """Inspect the job ledger."""


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

    system = _system(app)
    try:
        shown = limit if (limit is not None or as_json) else 50
        rows, total = list_jobs(system.engine, status=status, job_type=job_type, queue=queue,
                                limit=shown)
    finally:
        system.close()
    if as_json:
        print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in ("id", "type", "entity", "status", "attempts", "error", "finished"):
        table.add_column(col, overflow="fold" if col == "error" else "ellipsis")
    for r in rows:
        error = f"{r['error_class']}: {r['error']}" if r["error_class"] else ""
        table.add_row(str(r["id"]), r["job_type"], r["entity_id"], r["status"],
                      f"{r['attempts']}/{r['max_attempts']}", error[:120],
                      (r["finished_at"] or "")[:19])
    console = Console()
    console.print(table)
    if total > len(rows):
        console.print(f"showing {len(rows)} of {total} (use --limit or --json)")


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

    system = _system(app)
    try:
        job = get_job(system.engine, job_id)
    finally:
        system.close()
    if as_json:
        print_json(job)
        return
    width = max(len(k) for k in job)
    for key, value in job.items():
        click.echo(f"{key.ljust(width)}  {value if value is not None else ''}")


@click.command(name="run-consumer")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker threads shared by the queues (default: limits.worker_concurrency).")
@click.option("--queue", "queues", multiple=True,
              type=click.Choice(["discovery", "transcripts", "batch"]),
              help="Serve only this queue (repeatable; default: all).")
@click.option("--burst", is_flag=True, help="Exit when no job is runnable or due soon.")
@click.option("--burst-wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="With --burst: wait for retries due within this many seconds.")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds running jobs get to finish after Ctrl-C / SIGTERM.")
@pass_app
@translate_errors
def run_consumer(app: AppContext, workers: int | None, queues: tuple[str, ...], burst: bool,
                 burst_wait: float, grace: float) -> None:
    """Run the job queue: worker threads in this process, until Ctrl-C (or --burst).

    Logs go to stderr (JSON lines, or a readable console on a terminal).

    \b
    Example:
        tubesensei run-consumer --workers 4
        tubesensei run-consumer --burst --burst-wait 10
    """
    from tubesensei.jobs.consumer import Consumer
    from tubesensei.jobs.queues import QUEUES

    system = _system(app, log_to_stderr=True)
    try:
        consumer = Consumer(system, workers=workers, queues=queues or QUEUES, burst=burst,
                            burst_wait=burst_wait, grace_seconds=grace)
        summary = consumer.run()
    finally:
        system.close()
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
