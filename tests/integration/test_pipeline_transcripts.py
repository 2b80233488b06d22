"""Transcript storage, search, export, reclean and quota accounting against the simulator.

One corpus (two channels, every caption case three times) is discovered and transcribed once
per module; each test works on its own copy of that database file.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from tests.integration.pipeline_env import make_pipeline, transcripts_by_video, videos_by_id
from tubesensei.db.engine import Database
from tubesensei.db.models import QuotaUsage, Transcript, TranscriptChunk
from tubesensei.pipeline.cleaning import Segment, clean_segments
from tubesensei.pipeline.discovery import discover_channel
from tubesensei.pipeline.export import export_files, export_stream, iter_export_rows
from tubesensei.pipeline.quota import QuotaMeter
from tubesensei.pipeline.transcripts import (
    fetch_transcript,
    reclean,
    store_transcript,
)
from tubesensei.queries.corpus import VideoNotInCorpus
from tubesensei.queries.search import BadQuery, build_match, search, search_page
from tubesensei.queries.state import quota_today
from tubesensei.queries.transcripts import TranscriptNotStored, show_transcript
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import ChannelRef
from tubesensei.youtube.transcripts import FetchedTranscript

WANTS_TRANSCRIPT = {"manual_en", "generated_en", "multi_language", "short", "finished_live"}
NOT_STORED = {"private", "deleted"}
WAITING = {"live", "upcoming"}


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(seed=21, channel_sizes=[60, 40])) as running:
        yield running


@pytest.fixture(scope="module")
def corpus_file(sim, tmp_path_factory) -> Path:
    """Both channels discovered and every stored, finished video transcribed (or not)."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.db"

    def build() -> None:
        p = make_pipeline(sim, path)
        try:
            for channel in sim.world.channels:
                result = discover_channel(p, ChannelRef("id", channel.channel_id))
                stored = videos_by_id(p)
                for vid in result.new_video_ids:
                    if stored[vid].transcript_status != "waiting":
                        fetch_transcript(p, vid)
        finally:
            p.close()
            p.db.dispose()

    build()
    return path


@pytest.fixture
def corpus(sim, corpus_file: Path, tmp_path: Path):
    copy = tmp_path / "corpus.db"
    shutil.copy(corpus_file, copy)
    p = make_pipeline(sim, copy)
    yield p
    p.close()
    p.db.dispose()


def _raw(segments: list[list[float | str]]) -> list[dict]:
    return [{"text": t, "start": s, "duration": d} for s, d, t in segments]


# -- storage ----------------------------------------------------------------------------------


def test_every_caption_case_is_stored_or_explained(sim, corpus) -> None:
    stored = videos_by_id(corpus)
    transcripts = transcripts_by_video(corpus)
    for video in sim.world.videos:
        case = video.case
        if case in NOT_STORED:
            assert video.video_id not in stored, case
            continue
        row = stored[video.video_id]
        if case in WAITING:
            assert (row.transcript_status, video.video_id in transcripts) == ("waiting", False)
        elif case in WANTS_TRANSCRIPT:
            assert row.transcript_status == "done", case
            tr = transcripts[video.video_id]
            generated = case in ("generated_en", "finished_live") or not video.has_manual_captions
            assert (tr.language_code, tr.is_generated) == ("en", generated), case
            expected = video.expected_segments("en", generated=generated)
            assert _raw(tr.segments) == expected, case
            assert tr.word_count == len(tr.text.split()) > 0 and tr.char_count == len(tr.text)
        else:
            assert row.transcript_status == "unavailable", case
            assert row.unavailable_reason == video.unavailable_reason, case
            assert video.video_id not in transcripts


def test_cleaned_text_is_the_spoken_words_without_cues(sim, corpus) -> None:
    transcripts = transcripts_by_video(corpus)
    for video in sim.world.videos:
        tr = transcripts.get(video.video_id)
        if tr is None:
            continue
        spoken = " ".join(video.spoken_lines("en", generated=tr.is_generated)).split()
        assert tr.text.split() == spoken, video.case
        assert "[Music]" not in tr.text and "&amp;" not in tr.text
        # Cleaned segments keep the raw timing: every start is a raw segment's start.
        assert {s for s, _, _ in tr.cleaned_segments} <= {s for s, _, _ in tr.segments}


def test_fetching_again_replaces_without_duplicates(sim, corpus) -> None:
    video = next(v for v in sim.world.videos if v.case == "manual_en")

    def counts() -> tuple[int, int, int]:
        with corpus.db.read() as s:
            return (
                (s.execute(select(func.count()).select_from(Transcript))).scalar_one(),
                (s.execute(select(func.count()).select_from(TranscriptChunk))).scalar_one(),
                len(corpus.db.query(search, video.spoken_lines()[0], limit=None)),
            )

    before = counts()
    outcome = fetch_transcript(corpus, video.video_id)
    assert (outcome.status, outcome.language_code) == ("done", "en")
    assert counts() == before


def test_unknown_videos_and_missing_transcripts_say_why(sim, corpus) -> None:
    with pytest.raises(VideoNotInCorpus):
        fetch_transcript(corpus, "AAAAAAAAAAA")
    disabled = next(v for v in sim.world.videos if v.case == "captions_disabled")
    with pytest.raises(TranscriptNotStored, match=r"unavailable \(transcripts_disabled\)"):
        corpus.db.query(show_transcript, disabled.video_id)
    live = next(v for v in sim.world.videos if v.case == "live")
    with pytest.raises(TranscriptNotStored, match="waiting"):
        corpus.db.query(show_transcript, live.video_id)
    done = next(v for v in sim.world.videos if v.case == "manual_en")
    with pytest.raises(TranscriptNotStored, match=r"in 'de' \(stored: en\)"):
        corpus.db.query(show_transcript, done.video_id, "de")
    shown = corpus.db.query(show_transcript, done.video_id, "en")
    paragraphs = shown.paragraphs()
    # The same words as the stored text, in paragraphs of at most 45 s (the CLI and TUI rule).
    assert " ".join(text for _, text in paragraphs).split() == shown.text.split()
    assert paragraphs[0][0] == shown.segments[0][0]
    assert [start for start, _ in paragraphs] == sorted(start for start, _ in paragraphs)


# -- search -----------------------------------------------------------------------------------

HOSTILE = [
    'NEAR(battery kite)', 'NEAR(battery, 2)', 'battery*', '((battery',
    'battery)', 'text:battery', '{text}: kite', '-battery kite', '^kite', 'AND', 'OR NOT',
    'battery AND', 'battery OR kite', 'battery NOT kite', 'col:', 'café', '日本語', '🙂 battery',
    'a\x00b', 'NEAR', '"-battery"', '+kite', 'battery:', 'kite _', 'x' * 2000, 'rowid:1',
    'transcript_chunks_fts', '; DROP TABLE videos; --', "' OR 1=1 --", 'kite -',
    'tab\there', 'line\nbreak',
]


# Nothing to search for once FTS5 syntax is taken as text: a one-line BadQuery (exit 2).
NO_WORDS = {'"', '""', '*', '(', ')', "'", "\\", '🙂', '-', '--', '_', '-"battery kite"', '%',
            '; --'}


# A phrase left open is a mistake to point out, not a query to guess at: BadQuery (exit 2).
UNBALANCED = {'"unbalanced quote', '"a" "b" "', 'unterminated"', 'kite "'}


@pytest.mark.parametrize("query", [*HOSTILE, *sorted(NO_WORDS), *sorted(UNBALANCED)])
def test_hostile_queries_never_reach_fts_syntax(corpus, query: str) -> None:
    if query in NO_WORDS:
        with pytest.raises(BadQuery):
            corpus.db.query(search_page, query, limit=5)
        return
    if query in UNBALANCED:
        with pytest.raises(BadQuery, match="unbalanced double quote"):
            corpus.db.query(search_page, query, limit=5)
        return
    hits, total = corpus.db.query(search_page, query, limit=5)  # any other error fails
    assert total >= len(hits)
    for hit in hits:
        assert hit.link == f"https://youtu.be/{hit.video_id}?t={int(hit.start_s)}"


def test_operators_are_searched_as_words(corpus) -> None:
    near = corpus.db.query(search, "NEAR(battery kite)", limit=None)
    assert near == corpus.db.query(search, "near battery kite", limit=None)
    assert corpus.db.query(search, "battery*", limit=None) == corpus.db.query(
        search, "battery", limit=None)
    assert build_match("text:kite -x") == '"text:kite" NOT "x"'


def _fetched(video_id: str, *lines: tuple[float, str]) -> FetchedTranscript:
    return FetchedTranscript(video_id, "en", "English", False, None,
                             [(start, 4.0, line) for start, line in lines])


@pytest.fixture
def crafted(sim, corpus):
    """Two videos (one per channel) whose transcripts hold made-up words."""
    first = next(v for v in sim.world.channels[0].videos if v.case == "manual_en")
    second = next(v for v in sim.world.channels[1].videos if v.case == "manual_en")
    store_transcript(corpus.db, _fetched(
        first.video_id, (0.0, "Quazzle brimbleton zorptastic."), (5.0, "Filler words here."),
        (45.5, "Later the xylofonic part."),
    ))
    store_transcript(corpus.db, _fetched(
        second.video_id, (0.0, "Brimbleton first, then quazzle and more."),
        (5.0, "Nothing zorptastic-free."),
    ))
    return first, second


def test_words_are_anded_quotes_make_phrases_minus_excludes(corpus, crafted) -> None:
    first, second = crafted

    def found(query: str) -> set[str]:
        return {hit.video_id for hit in corpus.db.query(search, query, limit=None)}

    assert found("quazzle brimbleton") == {first.video_id, second.video_id}
    assert found('"quazzle brimbleton"') == {first.video_id}
    assert found('"brimbleton quazzle"') == set()
    assert found("QUAZZLE Brimbleton") == {first.video_id, second.video_id}
    assert found("quazzle -first") == {first.video_id}
    assert found('quazzle -"then quazzle"') == {first.video_id}
    assert found("quazzle nowhereword") == set()
    hit = (corpus.db.query(search, "xylofonic"))[0]
    assert (hit.video_id, int(hit.start_s)) == (first.video_id, 45)
    assert hit.link == f"https://youtu.be/{first.video_id}?t=45"
    assert "\x02xylofonic\x03" in hit.snippet and hit.as_dict()["snippet"].count("[") == 1
    assert hit.channel_id == first.channel_id and hit.title == first.title
    assert build_match('a -"b c"') == '"a" NOT "b c"'


def test_channel_and_date_filters(sim, corpus) -> None:
    everything = corpus.db.query(search, "battery", limit=None)
    assert len({h.channel_id for h in everything}) == 2
    channel = sim.world.channels[1]
    by_channel = corpus.db.query(search, "battery", channel=ChannelRef("handle", channel.handle[1:]),
                              limit=None)
    assert by_channel and {h.channel_id for h in by_channel} == {channel.channel_id}
    assert len(by_channel) == sum(h.channel_id == channel.channel_id for h in everything)
    dates = sorted(h.published_at for h in everything)
    cut = dates[len(dates) // 2]
    since = corpus.db.query(search, "battery", since=cut, limit=None)
    until = corpus.db.query(search, "battery", until=cut, limit=None)
    assert all(h.published_at >= cut for h in since) and all(h.published_at < cut for h in until)
    assert len(since) + len(until) == len(everything)
    cut_naive = cut.replace(tzinfo=None)  # naive is read as UTC
    assert len(corpus.db.query(search, "battery", since=cut_naive, limit=None)) == len(since)
    hits, total = corpus.db.query(search_page, "battery",
                                  channel=ChannelRef("id", channel.channel_id), limit=3)
    assert len(hits) == 3 and total == len(by_channel)
    assert [h.video_id for h in hits] == [h.video_id for h in by_channel[:3]]


def test_removing_a_channel_empties_its_search_results(sim, corpus) -> None:
    from tubesensei.pipeline.channels import remove_channel

    channel = sim.world.channels[0]
    removed = remove_channel(corpus.db, ChannelRef("id", channel.channel_id))
    assert removed.transcripts > 0
    assert {h.channel_id for h in corpus.db.query(search, "battery", limit=None)} == {
        sim.world.channels[1].channel_id}
    with corpus.db.read() as s:
        orphans = s.execute(select(func.count()).select_from(TranscriptChunk).where(
            TranscriptChunk.transcript_id.not_in(select(Transcript.id))))
        assert orphans.scalar_one() == 0


# -- export -----------------------------------------------------------------------------------


def test_jsonl_export_round_trip(sim, corpus) -> None:
    out = io.StringIO()
    report = export_stream(corpus.db, "jsonl", out)
    lines = out.getvalue().splitlines()
    transcripts = transcripts_by_video(corpus)
    stored = videos_by_id(corpus)
    assert report.videos == len(lines) == len(transcripts)
    for line in lines:
        record = json.loads(line)
        vid = record["video"]["id"]
        tr, video = transcripts[vid], stored[vid]
        assert record["text"] == tr.text and record["language_code"] == tr.language_code
        assert [[s["start"], s["duration"], s["text"]] for s in record["segments"]] == \
            tr.cleaned_segments
        assert record["video"]["published_at"] == video.published_at.isoformat()
        assert record["video"]["title"] == video.title and record["is_generated"] == tr.is_generated
        assert record["channel"]["id"] == sim.world.video(vid).channel_id
    channel = sim.world.channels[1]
    only = [row for row in iter_export_rows(corpus.db, channel=ChannelRef(
        "id", channel.channel_id))]
    assert {r.channel_id for r in only} == {channel.channel_id}
    assert len(only) == sum(sim.world.video(v).channel_id == channel.channel_id
                            for v in transcripts)


def parse_cues(body: str, fmt: str) -> list[tuple[float, float, str]]:
    """SRT or WebVTT cues as (start, end, text), read by real parsers (srt, webvtt-py)."""
    if fmt == "srt":
        import srt

        return [(c.start.total_seconds(), c.end.total_seconds(), c.content)
                for c in srt.parse(body)]
    import html

    import webvtt

    def seconds(stamp: str) -> float:
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    return [(seconds(c.start), seconds(c.end), html.unescape(c.text))
            for c in webvtt.from_string(body)]


@pytest.mark.parametrize("fmt", ["srt", "vtt", "txt"])
def test_file_export_round_trip(sim, corpus, tmp_path: Path, fmt: str) -> None:
    report = export_files(corpus.db, fmt, tmp_path / "out")
    transcripts = transcripts_by_video(corpus)
    files = sorted((tmp_path / "out").rglob(f"*.{fmt}"))
    assert report.files == len(files) == len(transcripts)
    for path in files:
        tr = transcripts[path.stem]
        assert path.parent.name == sim.world.video(path.stem).channel_id
        body = path.read_text(encoding="utf-8")
        if fmt == "txt":
            assert body == tr.text + "\n"
            continue
        assert body.startswith("WEBVTT\n\n") if fmt == "vtt" else body.startswith("1\n")
        cues = parse_cues(body, fmt)
        assert [c[2] for c in cues] == [t for _, _, t in tr.cleaned_segments]
        assert [round(c[0], 3) for c in cues] == [round(s, 3) for s, _, _ in tr.cleaned_segments]
        assert all(a[1] <= b[0] + 1e-9 and a[0] < a[1] for a, b in pairwise(cues))


# -- reclean and quota --------------------------------------------------------------------------


def test_reclean_restores_text_and_the_search_index(sim, corpus) -> None:
    video = next(v for v in sim.world.videos if v.case == "generated_en")
    transcripts = transcripts_by_video(corpus)
    good = transcripts[video.video_id]
    with corpus.db.write() as s:  # as if cleaned by an older, worse version
        s.execute(update(Transcript).where(Transcript.id == good.id).values(
            cleaned_timing=[0.0, 1.0, 11], paragraph_breaks=None, cleaning_version=0))
        s.execute(delete(TranscriptChunk).where(TranscriptChunk.transcript_id == good.id))
        s.add(TranscriptChunk(transcript_id=good.id, seq=0, start_s=0.0, text="garbledword"))
    assert [h.video_id for h in corpus.db.query(search, "garbledword")] == [video.video_id]

    report = reclean(corpus.db)
    assert (report.transcripts, report.changed) == (1, 1)
    after = (transcripts_by_video(corpus))[video.video_id]
    expected = clean_segments(Segment(*seg) for seg in good.segments)
    assert after.text == good.text == expected.text
    assert after.cleaned_segments == good.cleaned_segments
    assert corpus.db.query(search, "garbledword") == []
    phrase = f'"{" ".join(good.text.split()[3:6])}"'
    assert video.video_id in {h.video_id for h in corpus.db.query(search, phrase, limit=None)}
    again = reclean(corpus.db, everything=True)
    assert (again.transcripts, again.changed) == (len(transcripts), 0)


def test_quota_units_persist_per_pacific_day(sim, corpus) -> None:
    today = corpus.db.query(quota_today, 10_000)
    assert today.units == today.calls > 0 and today.remaining == 10_000 - today.units
    assert today.resets_at > datetime.now(UTC)
    db: Database = corpus.db
    meter = QuotaMeter()
    # 2025-03-09 08:00 UTC is midnight in Los Angeles (PST, the day DST starts).
    before_midnight = datetime(2025, 3, 9, 7, 59, 59, tzinfo=UTC)
    after_midnight = before_midnight + timedelta(seconds=1)
    for when, units in ((before_midnight, 3), (before_midnight, 2), (after_midnight, 100)):
        meter.record("videos.list", units)
        with db.write() as s:
            meter.flush(s, now=when)
    with db.read() as s:
        rows = dict((s.execute(select(QuotaUsage.day, QuotaUsage.units))).all())
    assert rows[datetime(2025, 3, 8).date()] == 5 and rows[datetime(2025, 3, 9).date()] == 100
    old_day = db.query(quota_today, 10_000, now=before_midnight)
    assert (old_day.day, old_day.units, old_day.calls) == ("2025-03-08", 5, 2)
    assert old_day.resets_at == after_midnight
