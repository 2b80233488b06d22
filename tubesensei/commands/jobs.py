"""Commands of the job system: enqueue, jobs, run-consumer. Each goes through the job
system's one door (``Runtime.jobs()``, a :class:`~tubesensei.jobs.system.JobSystem`)."""

from __future__ import annotations

import re
from typing import Any

import click

from tubesensei.commands.common import (
    DASH_ARGS,
    JOB_TYPE_CHOICE,
    PRIORITY,
    QUEUE_CHOICE,
    AppContext,
    json_option,
    lone_help,
    pass_app,
    shown_rows,
)
from tubesensei.commands.output import console, print_json, showing, table
from tubesensei.db.models import JOB_STATUSES, TRANSCRIPT_STATUSES, UNAVAILABLE_REASONS
from tubesensei.errors import BadInput, Failure

TABLE_ROWS = 50
# A bare video id: 11 of YouTube's id characters (parse_video_id's rule for a bare id).
_BARE_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")


def _report(created: list[Any], what: str, asked: list[str] | None = None) -> None:
    """One line per job; ``asked``: the references as typed, when the job's entity can
    differ (a stored channel is queued under its UC id)."""
    for i, c in enumerate(created):
        entity = c.spec.entity_id
        if asked is not None and asked[i] != entity:
            entity = f"{asked[i]} (stored channel {entity})"
        if c.created:
            click.echo(f"queued   job {c.job_id}  {what} {entity}")
        else:
            click.echo(f"exists   job {c.job_id}  {what} {entity}  (already {c.status})")


@click.group(name="enqueue")
def enqueue_group() -> None:
    """Queue work for run-consumer (offline: nothing is fetched now)."""


@enqueue_group.command(name="channel")
@click.argument("refs", nargs=-1, required=True)
@click.option("--priority", type=PRIORITY, default=None,
              help="Higher runs first (default 10: new channels outrank rescans).")
@click.option("--full", is_flag=True, help="Page the whole uploads playlist, not just new videos.")
@pass_app
def enqueue_channel(app: AppContext, refs: tuple[str, ...], priority: int | None,
                    full: bool) -> None:
    """Queue discovery of channels: every video, then one transcript job per video.

    REF is a UC… id, an @handle, or any channel or video URL. Only the syntax is checked
    now; the discovery job resolves the channel. A channel is discovered once: a reference
    to a stored channel is queued under its UC id (an @handle and its UC… id share one job),
    and a discovery job whose channel another job is discovering joins that job.

    \b
    Example:
        tubesensei enqueue channel @veritasium https://www.youtube.com/@3blue1brown
    """
    from tubesensei.jobs.system import channel_entity
    from tubesensei.youtube.ids import parse_channel_ref

    parsed = [parse_channel_ref(r) for r in refs]  # all checked before anything is queued
    runtime = app.runtime()
    created = runtime.jobs().enqueue_channels(parsed, priority=priority, full=full)
    _report(created, "discover", [channel_entity(r) for r in parsed])
    if runtime.settings.youtube.api_key is None:
        # Queued all the same: the consumer may run elsewhere, with a key of its own.
        click.echo("note: no YouTube Data API key is set here (TUBESENSEI_YOUTUBE__API_KEY or "
                   "youtube.api_key); discovery fails on a consumer without one", err=True)


# Video ids may begin with "-" (even "-h"): let click pass unknown "-xyz" words through.
@enqueue_group.command(name="video", context_settings=DASH_ARGS)
@click.argument("refs", nargs=-1)
@click.option("--status", type=click.Choice(TRANSCRIPT_STATUSES),
              help="Instead of REFs: every stored video with this transcript status.")
@click.option("--reason", type=click.Choice(UNAVAILABLE_REASONS),
              help="With --status unavailable (implied): only misses for this reason.")
@click.option("--channel", "channel", metavar="REF", help="With --status: only this channel.")
@click.option("--priority", type=PRIORITY, default=None, help="Higher runs first (default 5).")
@pass_app
def enqueue_video(app: AppContext, refs: tuple[str, ...], status: str | None,
                  reason: str | None, channel: str | None, priority: int | None) -> None:
    """Queue transcript jobs for single videos (their channel is added on the way), or for
    every stored video with a transcript status, e.g. the misses after a change of
    transcripts.languages. A video whose job was cancelled is queued again.

    \b
    Example:
        tubesensei enqueue video https://youtu.be/dQw4w9WgXcQ jNQXAC9IVRw
        tubesensei enqueue video --status unavailable --reason no_transcript_in_language
    """
    from tubesensei.queries.corpus import select_video_ids
    from tubesensei.youtube.ids import parse_channel_ref, parse_video_id

    if lone_help(refs):
        return
    selecting = status is not None or reason is not None or channel is not None
    if refs and selecting:
        raise BadInput("give video references or --status/--reason/--channel, not both")
    if not refs and not selecting:
        raise BadInput("give video references, or --status STATUS to select stored videos")
    if reason is not None and status not in (None, "unavailable"):
        raise BadInput(f"--reason goes with --status unavailable, not --status {status}")
    if selecting and status is None and reason is None:
        raise BadInput("--channel selects with --status (or --reason): which videos?")
    if not selecting:
        ids = list(dict.fromkeys(parse_video_id(r) for r in refs))
    else:
        ref = parse_channel_ref(channel) if channel is not None else None
        ids = app.runtime().database().query(
            select_video_ids, status=status or "unavailable", reason=reason, channel=ref)
        if not ids:
            click.echo("no stored videos match " + " ".join(
                f"--{k} {v}" for k, v in (("status", status), ("reason", reason),
                                          ("channel", channel)) if v is not None))
            return
    created = app.runtime().jobs().enqueue_videos(ids, priority=priority)
    _report(created, "transcript")


@enqueue_group.command(name="batch", context_settings=DASH_ARGS)
@click.argument("refs", nargs=-1)
@click.option("--name", help="A name for the session (shown in reports; required).")
@click.option("--file", "file", type=click.File("r"), help="Read video references from a file "
              "(one per line; '#' starts a comment; '-' reads stdin).")
@click.option("--channel", "channel", help="All pending videos of this stored channel.")
@click.option("--priority", type=PRIORITY, default=0, show_default=True)
@pass_app
def enqueue_batch(app: AppContext, refs: tuple[str, ...], name: str | None, file: Any,
                  channel: str | None, priority: int) -> None:
    """Queue a processing session: one transcript job per video, with a report.

    \b
    Example:
        tubesensei enqueue batch dQw4w9WgXcQ jNQXAC9IVRw --name "two classics"
        tubesensei enqueue batch --file ids.txt --name "reading list"
        tubesensei enqueue batch --channel @veritasium --name "veritasium backlog"
    """
    from tubesensei.pipeline.discovery import eligible_pending_videos
    from tubesensei.queries.corpus import get_channel
    from tubesensei.youtube.ids import parse_channel_ref, parse_video_id

    if lone_help(refs):
        return
    if name is None:  # checked here, not by click, so that a lone -h is help (DASH_ARGS)
        raise BadInput("missing option '--name' (a name for the session)")
    name = name.strip()
    if not name:
        raise BadInput("--name: give the session a name (it is how reports find it)")
    if len(name) > 200:
        raise BadInput(f"--name: at most 200 characters (got {len(name)})")
    lines = list(refs)
    if file is not None:
        try:
            text = file.read()
        except UnicodeDecodeError:
            raise BadInput(f"--file {file.name}: not a text file (UTF-8, one video id or "
                           "URL per line)") from None
        if "\x00" in text:
            raise BadInput(f"--file {file.name}: not a text file (it holds NUL bytes)")
        lines += [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    # A bare id (most lines of a big file) is taken as it is: parsing each of 100,000 lines
    # as a possible URL took a second.
    ids = [r if _BARE_VIDEO_ID.fullmatch(r) else parse_video_id(r) for r in lines if r]
    ref = parse_channel_ref(channel) if channel else None
    if not ids and ref is None:
        if file is not None:  # the file was read, and held nothing to process
            raise BadInput(f"--file {file.name}: no video ids in it (one video id or URL "
                           "per line; '#' starts a comment)")
        raise BadInput("give video references, --file or --channel")
    rt = app.runtime()
    if ref is not None:
        channel = rt.database().query(get_channel, ref)
        ids += eligible_pending_videos(rt.pipeline(), channel.youtube_channel_id)
    if not ids:
        raise Failure("no videos to process: the channel has no pending videos")
    session_id, batches = rt.jobs().create_batch(name, ids, priority=priority,
                                                 source="channel" if ref else "videos")
    click.echo(f"session {session_id} \"{name}\": {len(set(ids))} videos in {batches} batch(es)")


@click.group(name="jobs")
def jobs_group() -> None:
    """Inspect the job ledger, cancel and retry jobs."""


@jobs_group.command(name="list")
@click.option("--status", type=click.Choice(JOB_STATUSES), help="Only jobs in this status.")
@click.option("--type", "job_type", type=JOB_TYPE_CHOICE, help="Only jobs of this type.")
@click.option("--queue", type=QUEUE_CHOICE, help="Only jobs of this queue.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most N jobs (default: all with --json, 50 in the table).")
@json_option
@pass_app
def jobs_list(app: AppContext, status: str | None, job_type: str | None, queue: str | None,
              limit: int | None, as_json: bool) -> None:
    """List jobs, newest first.

    \b
    Example:
        tubesensei jobs list --status failed
        tubesensei jobs list --type extract_transcript --json
    """
    from tubesensei.queries.jobs import list_jobs

    rows, total = app.reader().query(
        list_jobs, status=status, job_type=job_type, queue=queue,
        limit=shown_rows(limit, as_json, TABLE_ROWS))
    if as_json:
        print_json(rows)
        return
    if not rows:
        filters = [f"--{k} {v}" for k, v in (("status", status), ("type", job_type),
                                              ("queue", queue)) if v is not None]
        click.echo(f"no jobs match {' '.join(filters)}" if filters else "no jobs yet")
        return
    t = table()
    for col in ("id", "type", "entity", "status", "attempts", "error", "finished"):
        t.add_column(col, overflow="fold" if col == "error" else "ellipsis")
    for r in rows:
        error = f"{r['error_class']}: {r['error']}" if r["error_class"] else ""
        t.add_row(str(r["id"]), r["job_type"], r["entity_id"], r["status"],
                  f"{r['attempts']}/{r['max_attempts']}", error[:120],
                  (r["finished_at"] or "")[:19])
    console().print(t)
    showing(len(rows), total, "jobs")


@jobs_group.command(name="show")
@click.argument("job_id", type=int)
@json_option
@pass_app
def jobs_show(app: AppContext, job_id: int, as_json: bool) -> None:
    """Show one job in full: arguments, attempts, timestamps, error, result, worker.

    \b
    Example:
        tubesensei jobs show 42
    """
    from tubesensei.queries.jobs import get_job

    job = app.reader().query(get_job, job_id)
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
def jobs_cancel(app: AppContext, job_ids: tuple[int, ...], session_id: int | None) -> None:
    """Cancel jobs: a queued job never runs; a running one stops at its next checkpoint.

    \b
    Example:
        tubesensei jobs cancel 42 43
        tubesensei jobs cancel --session 3
    """
    if not job_ids and session_id is None:
        raise BadInput("give job ids or --session ID")
    cancelled, requested = app.runtime().jobs().cancel(job_ids, session_id=session_id)
    click.echo(f"cancelled {len(cancelled)} queued job(s); asked {len(requested)} running "
               "job(s) to stop")


@jobs_group.command(name="retry")
@click.argument("job_id", type=int, required=False)
@click.option("--type", "job_type", type=JOB_TYPE_CHOICE, help="Retry failed jobs of this type.")
@click.option("--session", "session_id", type=int, help="Retry a session's failed jobs.")
@click.option("--cancelled", is_flag=True, help="Also cancelled jobs (undoes `jobs cancel`; "
              "a job given by id is retried when cancelled anyway).")
@click.option("--force", is_flag=True, help="Also jobs that used all their attempts (and give "
              "them their attempts back).")
@pass_app
def jobs_retry(app: AppContext, job_id: int | None, job_type: str | None,
               session_id: int | None, cancelled: bool, force: bool) -> None:
    """Re-queue failed jobs that still have attempts (all of them with --force), and
    cancelled jobs: one by id, or all that match with --cancelled.

    \b
    Example:
        tubesensei jobs retry --type extract_transcript
        tubesensei jobs retry 42 --force
        tubesensei jobs retry --session 3 --cancelled
    """
    count = app.runtime().jobs().retry(job_id=job_id, job_type=job_type,
                                       session_id=session_id, force=force, cancelled=cancelled)
    what = "job(s)" if (cancelled or job_id is not None) else "failed job(s)"
    click.echo(f"re-queued {count} {what}")
    if not count and not force:
        click.echo("(jobs that used all their attempts need --force)")


@click.command(name="run-consumer")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker threads shared by the queues (default: limits.worker_concurrency).")
@click.option("--queue", "queues", multiple=True, type=QUEUE_CHOICE,
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
def run_consumer(app: AppContext, workers: int | None, queues: tuple[str, ...], burst: bool,
                 burst_wait: float, grace: float | None, metrics_port: int | None,
                 no_metrics: bool) -> None:
    """Run the job queue: worker threads in this process, until Ctrl-C (or --burst).

    Logs go to stderr (JSON lines, or a readable console on a terminal). On a terminal, live
    progress (done/total per queue, rate, ETA) stays below the log lines. At the end it
    prints what it did and what still waits: the next retry, an open circuit breaker (since
    when, next probe), a paused queue (until when its jobs run).

    \b
    Example:
        tubesensei run-consumer --workers 4
        tubesensei run-consumer --burst --burst-wait 10
    """
    from datetime import UTC, datetime

    from tubesensei.commands.live import live_progress, summary_lines
    from tubesensei.jobs.consumer import Consumer, MetricsUnavailable
    from tubesensei.jobs.registry import QUEUES
    from tubesensei.queries.progress import backlog

    system = app.runtime(log_to_stderr=True).jobs()
    limits = system.settings.limits
    metrics = system.settings.metrics
    port = None if (no_metrics or not metrics.enabled) else (
        metrics.port if metrics_port is None else metrics_port)
    consumer = Consumer(system, workers=workers, queues=queues or QUEUES, burst=burst,
                        burst_wait=burst_wait, grace_seconds=grace, metrics_port=port,
                        metrics_port_required=metrics_port is not None)
    wanted = workers if workers is not None else limits.worker_concurrency
    if wanted > limits.max_concurrent_jobs:
        n = limits.max_concurrent_jobs
        asked = (f"--workers {wanted}" if workers is not None
                 else f"limits.worker_concurrency ({wanted})")
        click.echo(f"{asked} is above limits.max_concurrent_jobs ({n}): running {n} "
                   "(raise it with TUBESENSEI_LIMITS__MAX_CONCURRENT_JOBS or `tubesensei config "
                   "set limits.max_concurrent_jobs N`)", err=True)
    started = datetime.now(UTC)

    def progress() -> Any:
        return system.db.query(backlog, consumer.queues, since=started, min_consumers=1,
                               stale_after=limits.stale_after_seconds,
                               transcripts_per_minute=limits.transcripts_per_minute)

    try:
        with live_progress(progress, consumer.queues):
            summary = consumer.run()
    except MetricsUnavailable as exc:
        raise Failure(f"{exc} (use --metrics-port or --no-metrics)") from None
    for line in summary_lines(summary.elapsed_s, summary.outcomes, summary.remaining,
                              summary.holds, datetime.now(UTC)):
        click.echo(line)
    if summary.failure:
        raise Failure(f"stopped: {summary.failure}; nothing was lost: the jobs it held go "
                      "back to the queue (by the next consumer's reaper) once there is space")
