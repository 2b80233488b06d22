"""One channel once: a discovery job joins work already done or being done on its channel.

The same channel can be queued twice under two references (``@handle`` and ``UC…``, or a
video URL): the ledger's "one active job per entity" cannot see that before the references
are resolved. Two rules close the gap:

- At enqueue, a reference that names a stored channel (its id, handle or one of its videos)
  is queued under the channel's UC id, so the ledger returns the job already queued for it
  (:func:`canonical_entity`; no call to YouTube).
- When a discovery job has resolved its channel (:func:`claim_or_join`): if the channel was
  discovered after this job was queued (a full scan, when this job asked for one), the work
  is done and the job ends at once; if another discovery job is running on the channel now,
  this one joins it (ends, naming that job) — unless it asks for a full scan and the running
  one does not. Otherwise it claims the channel (``channels.discovery_job_id``, one guarded
  UPDATE: two consumers never both claim) and discovers.

A claim needs no release: it counts only while its job is ``running`` in the ledger, so a
killed job's claim lapses when the reaper puts the job back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, ProcessingJob
from tubesensei.queries.corpus import find_channel
from tubesensei.youtube.ids import ChannelRef

CHANNELS = Channel.__table__
JOBS = ProcessingJob.__table__


def canonical_entity(db: Database, ref: ChannelRef) -> str | None:
    """The stored channel's UC id when ``ref`` names one locally (id, handle or a stored
    video), else None (custom names and usernames only YouTube can resolve)."""
    if ref.kind not in ("id", "handle", "video"):
        return None

    def lookup(s: Session) -> str | None:
        channel = find_channel(s, ref)
        return channel.youtube_channel_id if channel is not None else None

    return db.query(lookup)


def _claimed_by_another(job_id: int) -> Any:
    """SQL: the channel is claimed by another job that is running now."""
    return exists().where(JOBS.c.id == CHANNELS.c.discovery_job_id,
                          JOBS.c.id != job_id, JOBS.c.status == "running")


def claim_or_join(db: Database, job_id: int, channel_pk: int, mode: str) -> dict[str, Any] | None:
    """None: this job discovers the channel (it holds the claim now). Otherwise the result
    to end the job with: ``skipped`` (discovered since queued) or ``joined`` (job id)."""
    with db.writer.begin() as conn:  # the write lock first: the read decides the UPDATE
        queued_at = conn.execute(
            select(JOBS.c.created_at).where(JOBS.c.id == job_id)).scalar_one()
        ch = conn.execute(
            select(CHANNELS.c.youtube_channel_id, CHANNELS.c.last_discovered_at,
                   CHANNELS.c.last_full_scan_at, CHANNELS.c.discovery_job_id)
            .where(CHANNELS.c.id == channel_pk)).one()
        done_at = ch.last_full_scan_at if mode == "full" else ch.last_discovered_at
        if done_at is not None and done_at >= queued_at:
            return {"channel": ch.youtube_channel_id, "mode": mode, "queued": 0,
                    "skipped": f"discovered at {done_at.isoformat(timespec='seconds')}, "
                               "after this job was queued"}
        claimed = conn.execute(
            update(CHANNELS)
            .where(CHANNELS.c.id == channel_pk,
                   or_(CHANNELS.c.discovery_job_id.is_(None), ~_claimed_by_another(job_id)))
            .values(discovery_job_id=job_id)
        ).rowcount == 1
        if claimed:
            return None
        holder = select(CHANNELS.c.discovery_job_id).where(
            CHANNELS.c.id == channel_pk).scalar_subquery()
        other = conn.execute(
            select(JOBS.c.id, JOBS.c.metadata).where(JOBS.c.id == holder)).one_or_none()
    if other is None:  # pragma: no cover - the claim's job row was pruned mid-check
        return None
    other_mode = (other.metadata or {}).get("mode", "auto")
    if mode == "full" and other_mode != "full":
        return None  # a full scan was asked for: the running rescan does not cover it
    return {"channel": ch.youtube_channel_id, "mode": mode, "queued": 0,
            "joined": other.id}
