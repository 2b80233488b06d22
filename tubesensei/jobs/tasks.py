"""The tasks, one per job type of the registry. Each is thin: read the job, call one pipeline
function, return a summary.

Retry, failure and pausing are not decided here (see policy.py); a task only raises.
"""

from __future__ import annotations

from typing import Any

from tubesensei.jobs.registry import JOB_TYPES, PRIORITY_DEFAULT
from tubesensei.jobs.runner import JobContext, TaskFn
from tubesensei.jobs.sessions import queue_batch
from tubesensei.pipeline.channels import sync_channel
from tubesensei.pipeline.context import Pipeline
from tubesensei.pipeline.discovery import add_video, discover_channel, eligible_pending_videos
from tubesensei.pipeline.transcripts import fetch_transcript
from tubesensei.youtube.ids import parse_channel_ref


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
    result = discover_channel(pipeline, ref, mode=mode, on_page=on_page,
                              checkpoint=ctx.checkpoint)
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
    """Refresh a channel's title, description, counts and thumbnails."""
    channel = sync_channel(ctx.pipeline, parse_channel_ref(ctx.job.entity_id))
    return {"channel": channel.youtube_channel_id, "title": channel.title}


def batch_process_transcripts(ctx: JobContext) -> dict[str, Any]:
    """Create one extract job per video of this batch, linked to its session; never waits."""
    meta = ctx.job.metadata
    return queue_batch(ctx.system, int(ctx.job.session_id or 0), meta["video_ids"],
                       int(meta.get("priority", PRIORITY_DEFAULT)))


# Huey's task name for each job type (registry.JobType.task) is the function's name here.
TASKS: dict[str, TaskFn] = {
    name: globals()[jt.task] for name, jt in JOB_TYPES.items()
}
