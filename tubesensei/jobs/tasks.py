"""The tasks, one per job type of the registry. Each is thin: read the job, call one pipeline
function, return a summary.

Retry, failure and pausing are not decided here (see policy.py); a task only raises.
"""

from __future__ import annotations

from typing import Any

from tubesensei.jobs.discovery_claims import claim_or_join
from tubesensei.jobs.registry import JOB_TYPES, PRIORITY_DEFAULT
from tubesensei.jobs.runner import JobContext, TaskFn
from tubesensei.jobs.sessions import queue_batch
from tubesensei.logging import get_logger
from tubesensei.pipeline.channels import check_channel_gone, sync_channels
from tubesensei.pipeline.context import Pipeline
from tubesensei.pipeline.discovery import (
    add_video,
    discover_channel,
    eligible_pending_videos,
    resolve_channel,
)
from tubesensei.pipeline.transcripts import fetch_transcript
from tubesensei.queries.corpus import stored_channel_ids
from tubesensei.youtube.errors import NotFoundReason, Permanent
from tubesensei.youtube.ids import ChannelRef, parse_channel_ref

log = get_logger(__name__)


def _pipeline(ctx: JobContext) -> Pipeline:
    """The thread's pipeline with the [transcripts] settings as they are now (a consumer
    follows edits of the config file without a restart: jobs/live_settings.py)."""
    pipeline = ctx.pipeline
    pipeline.use_transcript_settings(ctx.system.transcript_settings())
    return pipeline


def _queue_extracts(ctx: JobContext, video_ids: list[str], priority: int) -> int:
    created = ctx.system.enqueue_videos(video_ids, priority=priority)
    return sum(1 for c in created if c.created)


def discover_channel_videos(ctx: JobContext) -> dict[str, Any]:
    """Resolve the channel, discover its videos, queue one extract job per new video."""
    ref = parse_channel_ref(ctx.job.entity_id)
    mode = ctx.job.metadata.get("mode", "auto")
    priority = int(ctx.job.metadata.get("extract_priority", PRIORITY_DEFAULT))
    queued = 0

    def on_page(_channel_id: str, video_ids: list[str]) -> None:
        nonlocal queued
        queued += _queue_extracts(ctx, video_ids, priority)

    pipeline = _pipeline(ctx)
    try:
        channel = resolve_channel(pipeline, ref)
        # One channel once: ends here when another job discovers it now or did since.
        joined = claim_or_join(ctx.system.db, ctx.job.id, channel.id, mode)
        if joined is not None:
            return joined
        result = discover_channel(pipeline, ChannelRef("id", channel.youtube_channel_id),
                                  mode=mode, on_page=on_page, checkpoint=ctx.checkpoint)
    except Permanent as exc:
        # The channel or its uploads playlist is not found: if YouTube no longer has the
        # stored channel, it is marked ``error`` (rescans skip it; the daily sync looks again).
        if exc.reason in (NotFoundReason.CHANNEL_NOT_FOUND, NotFoundReason.PLAYLIST_NOT_FOUND):
            checked = check_channel_gone(pipeline, ref)
            if checked is not None and checked.outcome == "not_found":
                log.warning("channel marked: not found on YouTube", channel=str(ref),
                            status=checked.status, error=checked.last_error)
        raise
    # Videos left pending by an earlier crash between a page and its jobs, or by a change
    # of the shorts/streams rules: queue them now (active jobs are not duplicated).
    leftovers = eligible_pending_videos(pipeline, result.youtube_channel_id)
    if leftovers:
        queued += _queue_extracts(ctx, leftovers, priority)
    return {**result.as_dict(), "queued": queued}


def extract_transcript(ctx: JobContext) -> dict[str, Any]:
    """Fetch, clean and store one video's transcript (or record why there is none)."""
    video_id = ctx.job.entity_id
    ctx.checkpoint()
    pipeline = _pipeline(ctx)
    status = add_video(pipeline, video_id)
    if status == "waiting":
        return {"video_id": video_id, "status": "waiting"}
    ctx.rate_limit()
    return fetch_transcript(pipeline, video_id, ctx.checkpoint).as_dict()


def sync_channel_metadata(ctx: JobContext) -> dict[str, Any]:
    """Refresh the metadata of every stored channel but paused ones, 50 per Data API call;
    those YouTube no longer returns are marked ``error``."""
    pipeline = _pipeline(ctx)
    ids = pipeline.db.query(stored_channel_ids, paused=False)
    start_units = pipeline.meter.total_units
    results = sync_channels(pipeline, ids, checkpoint=ctx.checkpoint)
    outcomes = [r.outcome for r in results]
    return {"channels": len(results), "updated": outcomes.count("updated"),
            "unchanged": outcomes.count("unchanged"), "not_found": outcomes.count("not_found"),
            "back": sum(1 for r in results if r.changes.get("status") == ("error", "active")),
            "units": pipeline.meter.total_units - start_units}


def batch_process_transcripts(ctx: JobContext) -> dict[str, Any]:
    """Create one extract job per video of this batch, linked to its session; never waits."""
    meta = ctx.job.metadata
    return queue_batch(ctx.system, int(ctx.job.session_id or 0), meta["video_ids"],
                       int(meta.get("priority", PRIORITY_DEFAULT)))


# Huey's task name for each job type (registry.JobType.task) is the function's name here.
TASKS: dict[str, TaskFn] = {
    name: globals()[jt.task] for name, jt in JOB_TYPES.items()
}
