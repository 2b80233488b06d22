"""What the pipeline tests share: a Pipeline on a temp SQLite file pointed at a simulator,
and small readers of what the database holds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tubesensei.config import load_settings
from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, Transcript, Video
from tubesensei.db.schema import ensure_schema
from tubesensei.pipeline.context import Pipeline
from tubesensei.sim import SimChannel, Simulator

API_KEY = "AIza-pipeline-test-key"


def make_pipeline(sim: Simulator, db_file: Path | str, **settings: Any) -> Pipeline:
    """A Pipeline whose YouTube calls go to ``sim``; ``settings`` are dotted config keys.
    ``db_file``: a SQLite file, or a database URL (the server tests' PostgreSQL)."""
    url = db_file if isinstance(db_file, str) else f"sqlite:///{db_file}"
    ensure_schema(url)
    overrides = {
        "youtube.api_key": API_KEY,
        "youtube.api_endpoint": sim.base_url,
        "youtube.web_base_url": sim.base_url,
        "youtube.timeout_seconds": 10.0,
        **settings,
    }
    return Pipeline(load_settings(None, overrides).settings, Database(url))


def playlist_pages(channel: SimChannel) -> int:
    """Pages of the uploads playlist: private and deleted rows take their place too."""
    return math.ceil(len(channel.videos) / 50)


def public_ids(channel: SimChannel) -> set[str]:
    return {v.video_id for v in channel.videos if v.is_public}


def videos_by_id(p: Pipeline) -> dict[str, Video]:
    with p.db.read() as s:
        return {v.youtube_video_id: v for v in (s.execute(select(Video))).scalars()}


def channels(p: Pipeline) -> list[Channel]:
    with p.db.read() as s:
        return list((s.execute(select(Channel))).scalars())


def transcripts_by_video(p: Pipeline) -> dict[str, Transcript]:
    with p.db.read() as s:
        rows = s.execute(select(Video.youtube_video_id, Transcript).join(Transcript))
        return {vid: tr for vid, tr in rows.all()}
