"""How transcripts are stored (db/packed.py, migration 0009): raw segments packed, cleaned
segments cut out of the text, and a database that holds transcripts converted in place."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import select

from tubesensei.db.engine import Database, create_sync_engine
from tubesensei.db.models import Channel, Transcript, TranscriptChunk, Video
from tubesensei.db.schema import downgrade, upgrade
from tubesensei.pipeline.cleaning import Segment, clean_segments
from tubesensei.queries.search import search

RAW = [
    [0.0, 2.5, "[Music]"],
    [2.5, 3.0, "so today we&#39;re looking at"],
    [5.0, 2.0, "so today we're looking at\nthe quantum kettle."],
    [12.0, 3.0, "It boils \u00e9clairs."],  # a long pause and a sentence end: a paragraph
    [15.0, 2.0, "Nothing else."],
]


def _cleaned() -> tuple[list[list[object]], str]:
    cleaned = clean_segments(Segment(*s) for s in RAW)
    return [[s.start, s.duration, s.text] for s in cleaned.segments], cleaned.text


def seed_at_0008(url: str) -> None:
    """A database at revision 0008 holding two transcripts as that revision stored them
    (JSON), one of them edited by hand so its text no longer fits its segments."""
    upgrade(url, "0008")
    cleaned, text = _cleaned()
    assert "\n\n" in text
    engine = create_sync_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO channels (id, youtube_channel_id, title, description, status, "
            "created_at, updated_at) VALUES (1, 'UCkept', 't', '', 'active', :now, :now)"),
            {"now": now})
        for pk, vid in ((1, "aaaaaaaaaaa"), (2, "bbbbbbbbbbb")):
            conn.execute(sa.text(
                "INSERT INTO videos (id, youtube_video_id, channel_id, title, description, "
                "kind, was_live, transcript_status, discovered_at, created_at, updated_at) "
                "VALUES (:pk, :vid, 1, 'v', '', 'video', :no, 'done', :now, :now, :now)"),
                {"pk": pk, "vid": vid, "no": False, "now": now})
            body = text if pk == 1 else "edited by hand"
            conn.execute(sa.text(
                "INSERT INTO transcripts (id, video_id, language_code, language, is_generated,"
                " segments, cleaned_segments, text, word_count, char_count, cleaning_version,"
                " fetched_at, created_at, updated_at) VALUES (:pk, :pk, 'en', 'English', :no,"
                " :raw, :cleaned, :body, 0, 0, 1, :now, :now, :now)").bindparams(
                    sa.bindparam("raw", type_=sa.JSON()),
                    sa.bindparam("cleaned", type_=sa.JSON())),
                {"pk": pk, "no": False, "raw": RAW, "cleaned": cleaned, "body": body,
                 "now": now})
            conn.execute(sa.text(
                "INSERT INTO transcript_chunks (id, transcript_id, seq, start_s, text) "
                "VALUES (:pk, :pk, 0, 2.5, :body)"), {"pk": pk, "body": body.replace("\n\n", " ")})
    engine.dispose()


def check_converted(url: str) -> None:
    """What ``seed_at_0008`` stored reads back the same after the upgrade, and is found."""
    cleaned, text = _cleaned()
    db = Database(url)
    try:
        with db.read() as s:
            kept, edited = s.execute(select(Transcript).order_by(Transcript.id)).scalars()
            assert kept.segments == RAW  # what reclean rebuilds from, exactly
            assert kept.segment_count == len(RAW)
            assert kept.cleaned_segments == cleaned
            assert kept.text == text and kept.cleaning_version == 1
            assert edited.segments == RAW
            assert edited.cleaning_version == 0  # the next reclean rebuilds it
            assert s.execute(select(TranscriptChunk.id)).scalars().all() == [1, 2]
        assert [h.video_id for h in db.query(search, "kettle")] == ["aaaaaaaaaaa"]
    finally:
        db.dispose()


def check_downgraded(url: str) -> None:
    cleaned, _ = _cleaned()
    engine = create_sync_engine(url)
    with engine.connect() as conn:
        raw, back = conn.execute(sa.text(
            "SELECT segments, cleaned_segments FROM transcripts WHERE id = 1")).one()
        loads = (lambda v: v) if engine.dialect.name == "postgresql" else json.loads
        assert loads(raw) == RAW and loads(back) == cleaned
    engine.dispose()


def test_upgrade_converts_stored_transcripts_and_keeps_their_search(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    seed_at_0008(url)
    upgrade(url)
    check_converted(url)
    engine = create_sync_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT DISTINCT typeof(segments) || typeof(cleaned_timing) FROM transcripts"
        ).scalars().all() == ["blobblob"]
    engine.dispose()
    downgrade(url, "0008")  # and back: plain JSON again
    check_downgraded(url)


def test_a_transcript_takes_a_fraction_of_its_json(tmp_path: Path) -> None:
    """Stored through the model, the raw segments are compressed and the cleaned ones are
    timings only; both read back as they went in."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    upgrade(url)
    raw = [[i * 2.0, 2.5, f"line {i // 2} of the rolling caption\nand the next {i}"]
           for i in range(400)]
    cleaned = clean_segments(Segment(*s) for s in raw)
    db = Database(url)
    try:
        with db.write() as s:
            channel = Channel(youtube_channel_id="UC" + "b" * 22, title="t")
            s.add(channel)
            s.flush()
            video = Video(youtube_video_id="ccccccccccc", channel_id=channel.id)
            s.add(video)
            s.flush()
            s.execute(Transcript.__table__.insert().values(
                video_id=video.id, language_code="en", segments=raw,
                cleaned_timing=[x for c in cleaned.segments
                                for x in (c.start, c.duration, len(c.text))],
                text=cleaned.text))
        with db.read() as s:
            tr = s.execute(select(Transcript)).scalar_one()
            assert tr.segments == raw and tr.segment_count == 400
            assert tr.cleaned_segments == [[c.start, c.duration, c.text]
                                           for c in cleaned.segments]
        engine = create_sync_engine(url)
        with engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT length(segments) + length(cleaned_timing) FROM transcripts").scalar()
        engine.dispose()
        as_json = len(json.dumps(raw)) + len(json.dumps(tr.cleaned_segments))
        assert stored < as_json / 4
    finally:
        db.dispose()
