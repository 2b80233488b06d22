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
from tubesensei.pipeline.transcripts import reclean, store_transcript
from tubesensei.queries.search import search
from tubesensei.youtube.transcripts import FetchedTranscript

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


def _add_video(db: Database, video_id: str) -> None:
    """A stored video (and a channel of its own) for a transcript to be stored on."""
    with db.write() as s:
        channel = Channel(youtube_channel_id="UC" + video_id[0] * 22, title="t")
        s.add(channel)
        s.flush()
        s.add(Video(youtube_video_id=video_id, channel_id=channel.id))


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


def test_a_stored_transcript_reads_back_whole_from_a_fraction_of_its_json(
        tmp_path: Path) -> None:
    """store_transcript keeps the raw segments packed, the cleaned ones as timings and the
    text in its search passages only; all of it reads back as cleaning made it."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    upgrade(url)
    # Rolling two-line captions, and a sentence end before a long pause now and then.
    raw = [(i * 2.0 + (3.0 if i % 50 == 49 else 0.0), 2.5,
            f"line {i // 2} of the rolling caption\nand the next {i}"
            + ("." if i % 50 == 48 else "")) for i in range(400)]
    cleaned = clean_segments(Segment(*s) for s in raw)
    assert "\n\n" in cleaned.text
    db = Database(url)
    try:
        _add_video(db, "ccccccccccc")
        store_transcript(db, FetchedTranscript("ccccccccccc", "en", "English", True, None,
                                               raw))
        with db.read() as s:
            tr = s.execute(select(Transcript)).scalar_one()
            assert tr.segments == [list(x) for x in raw] and tr.segment_count == 400
            assert tr.text == cleaned.text
            assert tr.cleaned_segments == [[c.start, c.duration, c.text]
                                           for c in cleaned.segments]
        engine = create_sync_engine(url)
        with engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT length(segments) + length(cleaned_timing) + length(paragraph_breaks) "
                "FROM transcripts").scalar()
            names = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(transcripts)")}
        engine.dispose()
        assert "text" not in names and "cleaned_segments" not in names
        as_json = len(json.dumps(raw)) + len(json.dumps(tr.cleaned_segments)) + len(tr.text)
        assert stored < as_json / 4
        assert {h.video_id for h in db.query(search, '"line 7 of the rolling"')} == {
            "ccccccccccc"}
    finally:
        db.dispose()


def test_passages_that_do_not_give_the_text_back_are_rebuilt_from_it(
        tmp_path: Path) -> None:
    """Migration 0011 drops transcripts.text only once the passages hold it: a row whose
    passages say something else (edited by hand) gets passages made from its text, one per
    paragraph, and is left for the next reclean."""
    url = f"sqlite:///{tmp_path / 'edited.db'}"
    seed_at_0008(url)
    upgrade(url, "0010")
    engine = create_sync_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE transcript_chunks SET text = 'something else' "
                             "WHERE transcript_id = 1")
    engine.dispose()
    _, text = _cleaned()
    upgrade(url)
    db = Database(url)
    try:
        with db.read() as s:
            tr = s.get(Transcript, 1)
            assert tr is not None
            assert tr.text == text and tr.cleaning_version == 0
        assert [h.video_id for h in db.query(search, "kettle")] == ["aaaaaaaaaaa"]
        assert db.query(search, "something") == []
        report = reclean(db)
        assert report.transcripts == 2
        with db.read() as s:
            tr = s.get(Transcript, 1)
            assert tr is not None and tr.text == text and tr.cleaning_version > 0
    finally:
        db.dispose()


def check_many_passages(url: str) -> None:
    """A transcript with more search passages than one multi-row INSERT carries (1,000) is
    stored whole: every passage, in order, each indexed; and re-cleaning keeps them so."""
    upgrade(url)
    # A sentence every 31 s: each segment opens a passage of its own (CHUNK_SECONDS is 30).
    raw = [(i * 31.0, 3.0, f"passage number w{i}x of the long talk.") for i in range(2345)]
    db = Database(url)
    try:
        _add_video(db, "mmmmmmmmmmm")
        store_transcript(db, FetchedTranscript("mmmmmmmmmmm", "en", "English", False, None,
                                               raw))
        for rebuild in (False, True):
            if rebuild:
                assert reclean(db, everything=True).transcripts == 1
            with db.read() as s:
                rows = s.execute(select(TranscriptChunk.seq, TranscriptChunk.start_s,
                                        TranscriptChunk.text)
                                 .order_by(TranscriptChunk.id)).all()
                tr = s.execute(select(Transcript)).scalar_one()
                assert tr.text == clean_segments(Segment(*x) for x in raw).text
            assert [(r.seq, r.start_s, r.text) for r in rows] == [
                (i, i * 31.0, f"passage number w{i}x of the long talk.") for i in range(2345)]
            for i in (0, 999, 1000, 2344):
                hits = db.query(search, f"w{i}x")
                assert [(h.video_id, h.start_s) for h in hits] == [
                    ("mmmmmmmmmmm", i * 31.0)], i
    finally:
        db.dispose()


def test_a_transcript_of_thousands_of_passages_is_stored_whole(tmp_path: Path) -> None:
    check_many_passages(f"sqlite:///{tmp_path / 'long.db'}")
