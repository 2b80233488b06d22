"""Search on PostgreSQL answers as SQLite's FTS5 does, and ``db copy`` moves a corpus up."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration.pipeline_env import make_pipeline, transcripts_by_video
from tests.integration.test_pipeline_transcripts import HOSTILE, NO_WORDS, UNBALANCED
from tests.jobs_helpers import run_burst, settings_for, sim_environ
from tubesensei.pipeline.discovery import discover_channel
from tubesensei.pipeline.transcripts import fetch_transcript
from tubesensei.queries.search import HIGHLIGHT_END, HIGHLIGHT_START, BadQuery, search, search_page
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import ChannelRef, parse_channel_ref

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(seed=41, channel_sizes=[40, 30])) as running:
        yield running


def build(sim, url_or_file) -> None:
    """Discover both channels and fetch every transcript there is, into one database."""
    p = make_pipeline(sim, url_or_file)
    try:
        for channel in sim.world.channels:
            result = discover_channel(p, ChannelRef("id", channel.channel_id))
            for vid in result.to_transcribe:
                fetch_transcript(p, vid)
    finally:
        p.close()
        p.db.dispose()


@pytest.fixture
def both(sim, pg_url: str, tmp_path: Path):
    """The same corpus in SQLite and in PostgreSQL: two Pipelines."""
    build(sim, tmp_path / "corpus.db")
    build(sim, pg_url)
    lite, pg = make_pipeline(sim, tmp_path / "corpus.db"), make_pipeline(sim, pg_url)
    yield lite, pg
    for p in (lite, pg):
        p.close()
        p.db.dispose()


def _queries(sim) -> list[str]:
    video = sim.world.videos_by_case("manual_en")[0]
    line = video.spoken_lines()[0].rstrip(".!?").replace('"', "")  # a phrase of plain words
    words = re.findall(r"\w+", " ".join(video.spoken_lines()).lower())  # no punctuation
    common = max(set(words), key=words.count)
    rare = min((w for w in set(words) if len(w) > 5), key=words.count)
    return [
        "battery", "kite", "running", "batteries", common, rare, f"{common} {rare}",
        f'"{line}"', f'"{" ".join(line.split()[:2])}"', "battery -kite", '-"the kite" battery',
        "café", "Battery", "BATTERY kite", "garden sourdough", "telescope guitar",
    ]


def test_search_finds_the_same_passages_on_both(sim, both) -> None:
    lite, pg = both
    for query in _queries(sim):
        on_lite = {(h.video_id, h.start_s) for h in lite.db.query(search, query, limit=None)}
        on_pg = {(h.video_id, h.start_s) for h in pg.db.query(search, query, limit=None)}
        assert on_lite == on_pg, query
    hits, total = pg.db.query(search_page, "battery", limit=5)
    assert len(hits) == 5 and total == len(lite.db.query(search, "battery", limit=None))
    hit = hits[0]
    assert HIGHLIGHT_START in hit.snippet and HIGHLIGHT_END in hit.snippet
    assert "battery" in hit.plain_snippet("[", "]").lower()
    assert hit.link == f"https://youtu.be/{hit.video_id}?t={int(hit.start_s)}"
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)  # best (lowest) first


def test_filters_and_phrases_on_both(sim, both) -> None:
    lite, pg = both
    channel = sim.world.channels[1]
    ref = ChannelRef("handle", channel.handle[1:])
    for p in (lite, pg):
        by_channel = p.db.query(search, "battery", channel=ref, limit=None)
        assert by_channel and {h.channel_id for h in by_channel} == {channel.channel_id}
    video = sim.world.videos_by_case("manual_en")[0]
    phrase = " ".join(video.spoken_lines()[0].replace('"', "").split()[:6]).rstrip(".!?")
    on_pg = pg.db.query(search, f'"{phrase}"', limit=None)
    assert video.video_id in {h.video_id for h in on_pg}
    assert on_pg[0].video_id in {h.video_id for h in lite.db.query(search, f'"{phrase}"', limit=3)}


def test_past_the_cap_both_count_and_pick_alike(sim, both, monkeypatch) -> None:
    """A total past TOTAL_CAP is "N+" on both; a phrase past it lists the same newest
    passages; a word past it is ranked over the same newest RANK_POOL passages."""
    from tubesensei.queries import search as search_module

    lite, pg = both
    monkeypatch.setattr(search_module, "TOTAL_CAP", 6)
    monkeypatch.setattr(search_module, "RANK_POOL", 4)
    pairs: dict[str, int] = {}
    for video in sim.world.videos_by_case("manual_en"):
        for line in video.spoken_lines():
            words = re.findall(r"[a-z]+", line.lower())
            for pair in itertools.pairwise(words):
                pairs[" ".join(pair)] = pairs.get(" ".join(pair), 0) + 1
    common_phrase = max(pairs, key=pairs.__getitem__)
    for query in ("the", f'"{common_phrase}"', "battery"):
        pages = [p.db.query(search_page, query, limit=3) for p in (lite, pg)]
        (lite_hits, lite_total), (pg_hits, pg_total) = pages
        assert (lite_total.text(), lite_total.capped) == (pg_total.text(), pg_total.capped)
        assert len(lite_hits) == len(pg_hits) == 3, query
        if " " in query:  # newest first: the very same passages
            assert ([(h.video_id, h.start_s) for h in lite_hits]
                    == [(h.video_id, h.start_s) for h in pg_hits]), query
        elif lite_total.capped:  # both pick from the same four newest passages
            with lite.db.engine.connect() as conn:
                newest = set(conn.execute(text(
                    "SELECT v.youtube_video_id, c.start_s FROM transcript_chunks c "
                    "JOIN transcripts t ON t.id = c.transcript_id "
                    "JOIN videos v ON v.id = t.video_id WHERE c.id IN ("
                    " SELECT rowid FROM transcript_chunks_fts WHERE transcript_chunks_fts"
                    " MATCH :m ORDER BY rowid DESC LIMIT 4)"), {"m": f'"{query}"'}).all())
            for hits in (lite_hits, pg_hits):
                assert {(h.video_id, h.start_s) for h in hits} <= newest, query
    assert lite.db.query(search_page, "the", limit=3)[1].capped


def test_a_video_reads_the_same_on_both(sim, both) -> None:
    """videos show: segment counts from the database's JSON functions, the tracks recorded
    at the fetch (migration 0006's columns), the same on PostgreSQL as on SQLite."""
    from tubesensei.queries.corpus import select_video_ids, video_detail

    lite, pg = both
    for case in ("multi_language", "no_english", "captions_disabled", "generated_en"):
        vid = sim.world.find(case).video_id
        on_lite, on_pg = lite.db.query(video_detail, vid), pg.db.query(video_detail, vid)
        stored = [{**t.as_dict(), "fetched_at": None} for t in on_pg.transcripts]
        assert stored == [{**t.as_dict(), "fetched_at": None} for t in on_lite.transcripts]
        assert on_pg.available_languages == on_lite.available_languages is not None, case
        assert on_pg.transcript_status == on_lite.transcript_status, case
    misses = {"status": "unavailable", "reason": "no_transcript_in_language"}
    assert pg.db.query(select_video_ids, **misses) == lite.db.query(select_video_ids, **misses)


def test_channels_list_counts_the_same_on_both(sim, both) -> None:
    """channels list: one count per (channel, transcript status) pair, the statuses a
    UNION of literals, on PostgreSQL as on SQLite; and the same for one channel."""
    from tubesensei.queries.corpus import list_channels

    lite, pg = both

    def counts(p, ref=None) -> list[tuple]:
        return [(c.youtube_channel_id, c.videos, c.transcripts, c.unavailable, c.pending,
                 c.failed) for c in p.db.query(list_channels, ref)]

    everything = counts(lite)
    assert len(everything) == 2 and all(row[1] > 0 and row[2] > 0 for row in everything)
    assert counts(pg) == everything
    one = ChannelRef("id", sim.world.channels[1].channel_id)
    assert counts(pg, one) == counts(lite, one) == [
        row for row in everything if row[0] == one.value]


def test_hostile_queries_are_words_on_postgresql_too(both) -> None:
    lite, pg = both
    for query in sorted(NO_WORDS | UNBALANCED):
        with pytest.raises(BadQuery):
            pg.db.query(search_page, query, limit=5)
    for query in HOSTILE:  # any error but BadQuery fails the test
        hits, total = pg.db.query(search_page, query, limit=None)
        assert total >= len(hits)
        assert ({h.video_id for h in hits}
                == {h.video_id for h in lite.db.query(search, query, limit=None)}), query


# -- db copy ---------------------------------------------------------------------------------


def test_db_copy_moves_a_laptop_corpus_to_postgresql(
    pg_url: str, tubesensei_exe: list[str], tmp_path: Path, server_env: dict[str, str]
) -> None:
    with running_simulator(SimConfig(seed=42, channels=2, videos_per_channel=30)) as sim:
        laptop = tmp_path / "laptop"
        settings = settings_for(sim.base_url, laptop)
        from tubesensei.jobs.system import JobSystem

        system = JobSystem(settings)
        try:
            system.enqueue_channels([parse_channel_ref(c.handle) for c in sim.world.channels])
            run_burst(system)
            system.create_batch("a batch", [v.video_id for v in sim.world.videos
                                            if v.is_public][:5])
        finally:
            system.close()
        env = {**os.environ, **sim_environ(sim.base_url, laptop)}
        copy = subprocess.run([*tubesensei_exe, "db", "copy", "--to", pg_url], env=env,
                              capture_output=True, text=True)
        assert copy.returncode == 0, copy.stderr
        assert "copied" in copy.stdout and "transcript_chunks" in copy.stdout
        again = subprocess.run([*tubesensei_exe, "db", "copy", "--to", pg_url], env=env,
                               capture_output=True, text=True)
        assert again.returncode == 2 and again.stderr.count("\n") == 1
        assert "is not empty" in again.stderr and "--resume" in again.stderr
        resumed = subprocess.run([*tubesensei_exe, "db", "copy", "--to", pg_url, "--resume"],
                                 env=env, capture_output=True, text=True)
        assert resumed.returncode == 0 and "copied 0 rows" in resumed.stdout

        lite = make_pipeline(sim, laptop / "tubesensei.db")
        pg = make_pipeline(sim, pg_url)
        try:
            assert transcripts_by_video(lite).keys() == transcripts_by_video(pg).keys()
            for query in ("battery", "kite garden", '"the battery"'):
                assert ({h.video_id for h in lite.db.query(search, query, limit=None)}
                        == {h.video_id for h in pg.db.query(search, query, limit=None)})
        finally:
            for p in (lite, pg):
                p.close()
                p.db.dispose()

        # The team carries on from the copy: new rows get new ids, the batch's jobs run.
        team = settings_for(sim.base_url, tmp_path / "team", **server_env)
        system = JobSystem(team)
        try:
            before = system.stats()["jobs_by_status"]
            (created,) = system.enqueue_channels([parse_channel_ref(sim.world.channels[0]
                                                                    .channel_id)])
            assert created.created
            run_burst(system)
            after = system.stats()["jobs_by_status"]
            assert after["pending"] == after["running"] == after["failed"] == 0
            assert after["completed"] > before["completed"]
        finally:
            system.close()


def test_db_copy_refuses_bad_targets(tubesensei_exe: list[str], tmp_path: Path,
                                     pg_url: str) -> None:
    env = {**os.environ, "TUBESENSEI_DATA_DIR": str(tmp_path / "d")}
    for target, code, fragment in (
        ("mysql://u:secret@h/db", 2, "mysql://u:***@h/db"),
        (pg_url.replace("127.0.0.1", "127.0.0.1:1").replace(":5432", ""), 1, "cannot reach"),
    ):
        r = subprocess.run([*tubesensei_exe, "db", "copy", "--to", target], env=env,
                           capture_output=True, text=True)
        assert r.returncode == code, r.stderr
        assert r.stderr.count("\n") == 1 and fragment in r.stderr and "secret" not in r.stderr
