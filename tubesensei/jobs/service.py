"""What the CLI and the TUI ask of the job system: queue channels and videos.

``enqueue channel`` checks the reference's syntax and queues discovery without calling
YouTube (fast, works offline); the discovery job resolves it.
"""

from __future__ import annotations

from collections.abc import Sequence

from tubesensei.jobs.ledger import Created
from tubesensei.jobs.system import (
    PRIORITY_NEW_CHANNEL,
    PRIORITY_USER_VIDEO,
    JobSystem,
    discovery_spec,
    extract_spec,
)
from tubesensei.youtube.ids import ChannelRef


def channel_entity(ref: ChannelRef) -> str:
    """The ledger's entity for a channel reference: handles and names compare case-blind."""
    if ref.kind in ("handle", "custom", "username"):
        return ChannelRef(ref.kind, ref.value.lower()).display()
    return ref.display()


def enqueue_channels(
    system: JobSystem,
    refs: Sequence[ChannelRef],
    *,
    priority: int = PRIORITY_NEW_CHANNEL,
    full: bool = False,
) -> list[Created]:
    mode = "full" if full else "auto"
    specs = [discovery_spec(channel_entity(r), system.settings, priority, mode) for r in refs]
    return system.submit(specs)


def enqueue_videos(
    system: JobSystem, video_ids: Sequence[str], *, priority: int = PRIORITY_USER_VIDEO
) -> list[Created]:
    return system.submit([extract_spec(v, system.settings, priority) for v in video_ids])
