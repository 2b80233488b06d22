"""The tasks. Each is thin: read the job, call one pipeline function, return a summary.

Retry, failure and pausing are not decided here (see policy.py); a task only raises.
"""

from __future__ import annotations

from typing import Any

from tubesensei.jobs.runner import JobContext, TaskFn
from tubesensei.jobs.system import PRIORITY_DEFAULT, extract_spec
from tubesensei.pipeline.channels import sync_channel
from tubesensei.pipeline.discovery import add_video, discover_channel, eligible_pending_videos
from tubesensei.pipeline.transcripts import fetch_transcript
from tubesensei.youtube.ids import parse_channel_ref


def _queue_extracts(ctx: JobContext, video_ids: list[str], priority: int) -> int:
    created = ctx.submit([extract_spec(v, ctx.settings, priority) for v in video_ids])
    return sum(1 for c in created if c.created)


def discover_channel_videos(ctx: JobContext) -> dict[str, Any]:
    """Resolve the channel, discover its videos, queue one extract job per new video."""
    ref = parse_channel_ref(ctx.job.entity_id)
    mode = ctx.job.metadata.get("mode", "auto")
    priority = int(ctx.job.metadata.get("extract_priority", PRIORITY_DEFAULT))
    queued = 0

    async def on_page(_channel_id: str, video_ids: list[str]) -> None:
        nonlocal queued
        queued += _queue_extracts(ctx, video_ids, priority)

    result = ctx.run(
        discover_channel(ctx.pipeline, ref, mode=mode, on_page=on_page, checkpoint=ctx.checkpoint)
    )
    # Videos left pending by an earlier crash between a page and its jobs, or by a change
    # of the shorts/streams rules: queue them now (active jobs are not duplicated).
    leftovers = ctx.run(eligible_pending_videos(ctx.pipeline, result.youtube_channel_id))
    if leftovers:
        queued += _queue_extracts(ctx, leftovers, priority)
    return {**result.as_dict(), "queued": queued}


def extract_transcript(ctx: JobContext) -> dict[str, Any]:
    """Fetch, clean and store one video's transcript (or record why there is none)."""
    video_id = ctx.job.entity_id
    ctx.checkpoint()
    status = ctx.run(add_video(ctx.pipeline, video_id))
    if status == "waiting":
        return {"video_id": video_id, "status": "waiting"}
    ctx.rate_limit()
    return ctx.run(fetch_transcript(ctx.pipeline, video_id, ctx.checkpoint)).as_dict()


def sync_channel_metadata(ctx: JobContext) -> dict[str, Any]:
    """Refresh a channel's title, description, counts and thumbnails."""
    ref = parse_channel_ref(ctx.job.entity_id)
    channel = ctx.run(sync_channel(ctx.pipeline, ref))
    return {"channel": channel.youtube_channel_id, "title": channel.title}


def batch_process_transcripts(ctx: JobContext) -> dict[str, Any]:
    """Create one extract job per video of this batch, linked to its session; never waits."""
    from tubesensei.jobs.sessions import queue_batch

    meta = ctx.job.metadata
    return queue_batch(ctx.executor.system, int(ctx.job.session_id or 0), meta["video_ids"],
                       int(meta.get("priority", PRIORITY_DEFAULT)))


TASKS: dict[str, TaskFn] = {
    "discover_channel": discover_channel_videos,
    "extract_transcript": extract_transcript,
    "sync_channel": sync_channel_metadata,
    "batch_process": batch_process_transcripts,
}
