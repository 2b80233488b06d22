"""Search on a synthetic corpus (benchmarks/seed_corpus: Zipf-distributed words, so some are
in every passage): relevance, the capped total and the candidates a page ranks past the cap.
The caps are lowered so that a small corpus crosses them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text

from benchmarks.seed_corpus import seed
from tubesensei.db.engine import Database
from tubesensei.db.models import Transcript, TranscriptChunk
from tubesensei.queries import search as search_module
from tubesensei.queries.search import MatchCount, search, search_page
from tubesensei.youtube.ids import ChannelRef


@pytest.fixture
def corpus(db: Database):
    report = seed(db.engine, channels=3, videos=60, transcripts=40, jobs=0)
    return db, report


def _chunk_ids(db: Database, match: str) -> list[int]:
    """Every chunk the FTS index matches, newest (highest id) first."""
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(
            "SELECT rowid FROM transcript_chunks_fts WHERE transcript_chunks_fts MATCH :m "
            "ORDER BY rowid DESC"), {"m": match})]


def _video_of_chunk(db: Database, chunk_id: int) -> tuple[str, float]:
    with db.engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT v.youtube_video_id, c.start_s FROM transcript_chunks c "
            "JOIN transcripts t ON t.id = c.transcript_id JOIN videos v ON v.id = t.video_id "
            "WHERE c.id = :id"), {"id": chunk_id}).one())


def test_a_phrase_ranks_its_own_video_first(corpus) -> None:
    db, _ = corpus
    with db.engine.connect() as conn:
        chunk_id, words = conn.execute(text(
            "SELECT id, text FROM transcript_chunks ORDER BY id LIMIT 1 OFFSET 37")).one()
    phrase = " ".join(words.split()[10:16])
    own_video, _ = _video_of_chunk(db, chunk_id)
    hits, total = db.query(search_page, f'"{phrase}"', limit=5)
    assert hits[0].video_id == own_video and not total.capped
    # Unquoted, the same words anywhere in a passage: still that passage first.
    assert db.query(search, phrase, limit=5)[0].video_id == own_video


def test_the_total_is_exact_below_the_cap(corpus) -> None:
    db, report = corpus
    word = report.vocabulary[30]
    every = db.query(search, word, limit=None)
    hits, total = db.query(search_page, word, limit=3)
    assert isinstance(total, MatchCount) and not total.capped
    assert total == len(every) and total.text() == f"{len(every):,}"
    assert [h.video_id for h in hits] == [h.video_id for h in every[:3]]


def test_a_word_with_many_matches_is_ranked_over_its_newest(corpus, monkeypatch) -> None:
    db, report = corpus
    monkeypatch.setattr(search_module, "TOTAL_CAP", 20)
    monkeypatch.setattr(search_module, "RANK_POOL", 8)
    word = report.vocabulary[0]  # "the": in every passage
    newest = _chunk_ids(db, f'"{word}"')[:8]
    assert len(_chunk_ids(db, f'"{word}"')) > 20
    hits, total = db.query(search_page, word, limit=5)
    assert total.capped and int(total) == 20 and total.text() == "20+"
    assert len(hits) == 5 and [h.rank for h in hits] == sorted(h.rank for h in hits)
    pool = {_video_of_chunk(db, c) for c in newest}
    assert {(h.video_id, h.start_s) for h in hits} <= pool
    monkeypatch.setattr(search_module, "TOTAL_CAP", 10_000)  # below the cap: the same pool
    hits, total = db.query(search_page, word, limit=5)
    assert not total.capped and total == len(_chunk_ids(db, f'"{word}"'))
    assert {(h.video_id, h.start_s) for h in hits} <= pool
    # limit=None (--json) still returns every match, ranked.
    assert len(db.query(search, word, limit=None)) == len(_chunk_ids(db, f'"{word}"'))


def test_a_phrase_with_many_matches_lists_its_newest(corpus, monkeypatch) -> None:
    db, report = corpus
    monkeypatch.setattr(search_module, "TOTAL_CAP", 5)
    monkeypatch.setattr(search_module, "RANK_POOL", 2)
    phrase = f"{report.vocabulary[0]} {report.vocabulary[0]}"  # "the the"
    matches = _chunk_ids(db, f'"{phrase}"')
    assert len(matches) > 5
    hits, total = db.query(search_page, f'"{phrase}"', limit=3)
    assert total.capped and total.text() == "5+"
    assert [(h.video_id, h.start_s) for h in hits] == [_video_of_chunk(db, c)
                                                       for c in matches[:3]]
    assert "\x02" in hits[0].snippet
    monkeypatch.setattr(search_module, "TOTAL_CAP", 10_000)  # below the cap: exact total
    hits, total = db.query(search_page, f'"{phrase}"', limit=3)
    assert not total.capped and total == len(matches)
    assert [(h.video_id, h.start_s) for h in hits] == [_video_of_chunk(db, c)
                                                       for c in matches[:3]]
    monkeypatch.setattr(search_module, "RANK_POOL", 10_000)  # few matches: ranked by bm25
    ranked = db.query(search, f'"{phrase}"', limit=None)
    hits, total = db.query(search_page, f'"{phrase}"', limit=3)
    assert [h.rank for h in hits] == [h.rank for h in ranked[:3]] and hits[0].rank < 0


def test_a_channel_filter_keeps_its_channel_only(corpus, monkeypatch) -> None:
    db, report = corpus
    channel = report.channel_ids[1]
    word = report.vocabulary[3]
    everywhere = db.query(search, word, limit=None)
    ref = ChannelRef("id", channel)
    mine = db.query(search, word, channel=ref, limit=None)
    assert mine and {h.channel_id for h in mine} == {channel}
    assert len(mine) == sum(h.channel_id == channel for h in everywhere)
    hits, total = db.query(search_page, word, channel=ref, limit=4)
    assert total == len(mine) and [h.video_id for h in hits] == [h.video_id for h in mine[:4]]
    monkeypatch.setattr(search_module, "TOTAL_CAP", 3)
    hits, total = db.query(search_page, word, channel=ref, limit=4)
    assert total.capped and {h.channel_id for h in hits} == {channel}


def test_a_channel_whose_passages_are_apart_still_keeps_its_own(corpus) -> None:
    """A transcript fetched later puts the channel's passages on both sides of another
    channel's: the stretch of ids between them is no longer the channel's alone."""
    db, report = corpus
    channel = report.channel_ids[0]
    word = report.vocabulary[3]
    with db.engine.begin() as conn:
        video_pk, video_id = conn.execute(text(
            "SELECT v.id, v.youtube_video_id FROM videos v "
            "JOIN channels c ON c.id = v.channel_id WHERE c.youtube_channel_id = :c "
            "ORDER BY v.id LIMIT 1"), {"c": channel}).one()
        t_id = conn.execute(insert(Transcript.__table__).values(
            video_id=video_pk, language_code="de", language="German", is_generated=False,
            segments=[[0.0, 1.0, word]], cleaned_timing=[0.0, 1.0, len(word)],
            word_count=1, char_count=len(word), cleaning_version=1,
            fetched_at=datetime.now(UTC), created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC))).inserted_primary_key[0]
        conn.execute(insert(TranscriptChunk.__table__).values(
            transcript_id=t_id, seq=0, start_s=0.0, text=f"{word} zyxwvut"))
    ref = ChannelRef("id", channel)
    everywhere = db.query(search, word, limit=None)
    mine = db.query(search, word, channel=ref, limit=None)
    assert {h.channel_id for h in mine} == {channel}
    assert len(mine) == sum(h.channel_id == channel for h in everywhere)
    hits, total = db.query(search_page, word, channel=ref, limit=4)
    assert total == len(mine) and {h.channel_id for h in hits} == {channel}
    assert [h.video_id for h in db.query(search, "zyxwvut", channel=ref)] == [video_id]


def test_two_words_are_ranked_unless_one_is_in_too_many_passages(corpus, monkeypatch) -> None:
    db, report = corpus
    monkeypatch.setattr(search_module, "RANK_POOL", 5)
    query = f"{report.vocabulary[0]} {report.vocabulary[1]}"
    newest = [_video_of_chunk(db, c) for c in _chunk_ids(
        db, f'"{report.vocabulary[0]}" AND "{report.vocabulary[1]}"')[:3]]
    hits, _ = db.query(search_page, query, limit=3)
    assert all(h.rank < 0 for h in hits)  # bm25 over the newest five
    monkeypatch.setattr(search_module, "WORD_SCORE_LIMIT", 10)
    hits, _ = db.query(search_page, query, limit=3)
    assert [(h.video_id, h.start_s) for h in hits] == newest and {h.rank for h in hits} == {0}
