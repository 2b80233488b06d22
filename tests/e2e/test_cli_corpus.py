"""channels, videos and transcripts commands through the real CLI entry point.

A corpus is discovered and transcribed once through the services (the queue commands are
another module's), then each test gets a copy in its data folder and reads it back through
the CLI, as a user would.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.integration.pipeline_env import (
    API_KEY,
    make_pipeline,
    public_ids,
    transcripts_by_video,
    videos_by_id,
)
from tests.integration.test_pipeline_transcripts import parse_cues
from tubesensei.db.models import Video
from tubesensei.pipeline.discovery import discover_channel
from tubesensei.pipeline.transcripts import fetch_transcript
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import ChannelRef


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(seed=33, channel_sizes=[60, 40])) as running:
        yield running


@pytest.fixture(scope="module")
def corpus_file(sim, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-corpus") / "tubesensei.db"

    def build() -> None:
        p = make_pipeline(sim, path)
        try:
            for channel in sim.world.channels:
                result = discover_channel(p, ChannelRef("id", channel.channel_id))
                for vid in result.to_transcribe:
                    fetch_transcript(p, vid)
                stored = videos_by_id(p)
                for vid, video in stored.items():  # the misses too, with their reasons
                    if video.transcript_status == "pending":
                        fetch_transcript(p, vid)
        finally:
            p.close()
            p.db.dispose()

    build()
    return path


@pytest.fixture
def env(sim, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI pointed at the simulator; returns the data folder (not created yet)."""
    monkeypatch.setenv("TUBESENSEI_YOUTUBE__API_KEY", API_KEY)
    monkeypatch.setenv("TUBESENSEI_YOUTUBE__API_ENDPOINT", sim.base_url)
    monkeypatch.setenv("TUBESENSEI_YOUTUBE__WEB_BASE_URL", sim.base_url)
    return tmp_path / "data"


@pytest.fixture
def corpus(env: Path, corpus_file: Path) -> Path:
    env.mkdir()
    shutil.copy(corpus_file, env / "tubesensei.db")
    return env


def ok(result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == "", result.stderr  # logs go to the log file, never stderr
    return result.stdout


def one_line_error(result, code: int, fragment: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def db_videos(sim, data: Path) -> dict[str, Video]:
    def read():
        p = make_pipeline(sim, data / "tubesensei.db")
        try:
            return videos_by_id(p)
        finally:
            p.close()
            p.db.dispose()

    return read()


# -- channels -------------------------------------------------------------------------------


def test_channels_add_resolves_now_and_stores_one_row(run_cli, sim, env) -> None:
    ch = sim.world.channels[0]
    out = ok(run_cli("channels", "add", ch.handle, ch.channel_id,
                     f"https://www.youtube.com/channel/{ch.channel_id}/videos"))
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("added ")
    assert lines[1].startswith("already there ") and lines[2].startswith("already there ")
    for line in lines:
        assert ch.title in line and ch.channel_id in line
        assert ch.handle in line and "videos" in line and "subscribers" in line
    rows = json.loads(ok(run_cli("channels", "list", "--json")))
    assert [r["youtube_channel_id"] for r in rows] == [ch.channel_id]
    assert rows[0]["videos"] == 0 and rows[0]["status"] == "active"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["channels", "add", "@x"], "handle"),
        (["channels", "add", "@fine_handle", "https://vimeo.com/123"], "not a YouTube URL"),
        (["channels", "add"], "Missing argument"),
        (["channels", "show", "not a ref"], "space"),
        (["channels", "pause", "UC" + "x" * 21], "channel id"),
        (["channels", "remove", "@simchannel0"], "pass --yes"),
        (["channels", "list", "--bogus"], "No such option"),
        (["videos", "list", "--status", "finished"], "Invalid value for '--status'"),
        (["videos", "list", "--kind", "podcast"], "Invalid value for '--kind'"),
        (["videos", "list", "--limit", "0"], "Invalid value for '--limit'"),
        (["videos", "list", "--channel", "https://example.com/@x"], "not a YouTube URL"),
        (["transcripts", "show", "tooshort"], "video id"),
        (["transcripts", "show", "@simchannel0"], "handle is not a video"),
        (["transcripts", "show", "dQw4w9WgXcQ", "--format", "docx"], "Invalid value"),
        (["transcripts", "search", "***"], "no words"),
        (["transcripts", "search", '"" -excluded'], "only excludes (-excluded)"),
        (["transcripts", "search", 'unterminated"'], "unbalanced double quote"),
        (["transcripts", "search", '"unbalanced quote'], "unbalanced double quote"),
        (["transcripts", "search", "-tea"], "only excludes (-tea)"),
        (["transcripts", "search", "-tea", '-"green tea"'], 'only excludes (-tea -"green tea")'),
        (["transcripts", "search", "kite", "--chanel", "@x"], "no such option: --chanel"),
        (["transcripts", "search"], "Missing argument"),
        (["transcripts", "search", "kite", "--since", "yesterday"], "Invalid value for '--since'"),
        (["transcripts", "search", "kite", "--channel", "@@"], ""),
        (["transcripts", "export", "--format", "txt"], "--out FOLDER"),
        (["transcripts", "export", "--format", "pdf"], "Invalid value for '--format'"),
        (["transcripts", "export"], "missing option '--format'"),
        (["transcripts", "export", "--format", "jsonl", "--out", "no/such/dir/x.jsonl"],
         "does not exist"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(run_cli, env, args, fragment) -> None:
    one_line_error(run_cli(*args), 2, fragment)
    assert not env.exists()


def test_export_to_a_file_where_a_folder_is_needed_is_bad_input(run_cli, env, tmp_path) -> None:
    (tmp_path / "afile").write_text("")
    one_line_error(run_cli("transcripts", "export", "--format", "srt", "--out",
                           str(tmp_path / "afile")), 2, "is a file")
    assert not env.exists()


def test_unknown_channels_and_videos_exit_1_with_one_line(run_cli, corpus) -> None:
    one_line_error(run_cli("channels", "add", "@nosuchchannel"), 1, "no YouTube channel")
    for args in (["channels", "show", "@nosuchchannel"], ["channels", "pause", "@nosuch"],
                 ["channels", "remove", "@nosuch", "--yes"],
                 ["videos", "list", "--channel", "@nosuch"],
                 ["transcripts", "search", "kite", "--channel", "@nosuch"],
                 ["transcripts", "export", "--format", "jsonl", "--channel", "@nosuch"]):
        one_line_error(run_cli(*args), 1, "no channel @nosuch")
    one_line_error(run_cli("transcripts", "show", "AAAAAAAAAAA"), 1, "not in the corpus")


def test_missing_api_key_is_one_line(run_cli, env, monkeypatch) -> None:
    monkeypatch.delenv("TUBESENSEI_YOUTUBE__API_KEY")
    one_line_error(run_cli("channels", "add", "@simchannel0"), 1, "TUBESENSEI_YOUTUBE__API_KEY")


def test_channels_list_show_pause_resume(run_cli, sim, corpus) -> None:
    stored = db_videos(sim, corpus)
    rows = json.loads(ok(run_cli("channels", "list", "--json")))
    assert len(rows) == 2
    for row in rows:
        mine = [v for v in stored.values() if sim.world.video(v.youtube_video_id).channel_id
                == row["youtube_channel_id"]]
        assert row["videos"] == len(mine)
        assert row["transcripts"] == sum(v.transcript_status == "done" for v in mine)
        assert row["unavailable"] == sum(v.transcript_status == "unavailable" for v in mine)
        assert row["pending"] == sum(v.transcript_status == "waiting" for v in mine)
    table = ok(run_cli("channels", "list"))
    ch = sim.world.channels[1]
    assert ch.title in table and ch.channel_id in table and ch.handle in table
    shown = json.loads(ok(run_cli("channels", "show", ch.handle, "--json")))
    assert shown["youtube_channel_id"] == ch.channel_id and shown["videos"] == len(public_ids(ch))
    assert ch.channel_id in ok(run_cli("channels", "show", f"https://youtube.com/{ch.handle}"))
    assert ok(run_cli("channels", "pause", ch.handle)).startswith("paused")
    assert json.loads(ok(run_cli("channels", "show", ch.channel_id, "--json")))["status"] == \
        "paused"
    assert ok(run_cli("channels", "resume", ch.handle)).startswith("resumed")


def test_channels_remove_confirms_then_deletes(run_cli, sim, corpus, monkeypatch) -> None:
    ch = sim.world.channels[1]
    monkeypatch.setattr("tubesensei.commands.corpus.interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    declined = run_cli("channels", "remove", ch.handle)
    assert declined.exit_code == 1 and "videos and" in declined.stdout
    assert len(json.loads(ok(run_cli("channels", "list", "--json")))) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    out = ok(run_cli("channels", "remove", ch.handle))
    assert f"{len(public_ids(ch))} videos" in out and "removed" in out
    assert [r["youtube_channel_id"] for r in json.loads(
        ok(run_cli("channels", "list", "--json")))] == [sim.world.channels[0].channel_id]
    assert ok(run_cli("channels", "remove", sim.world.channels[0].channel_id, "--yes"))
    assert json.loads(ok(run_cli("channels", "list", "--json"))) == []


# -- videos ---------------------------------------------------------------------------------


def test_videos_list_tables_truncate_json_gives_every_row(run_cli, sim, corpus) -> None:
    stored = db_videos(sim, corpus)
    everything = json.loads(ok(run_cli("videos", "list", "--json")))
    assert len(everything) == len(stored) > 50
    dates = [v["published_at"] for v in everything]
    assert dates == sorted(dates, reverse=True)
    table = ok(run_cli("videos", "list"))
    assert f"showing 50 of {len(stored)} videos" in table
    assert everything[0]["video_id"] in table
    assert len(json.loads(ok(run_cli("videos", "list", "--json", "--limit", "7")))) == 7
    unavailable = json.loads(ok(run_cli("videos", "list", "--status", "unavailable", "--json")))
    assert unavailable and all(
        v["unavailable_reason"] == sim.world.video(v["video_id"]).unavailable_reason
        for v in unavailable)
    shorts = json.loads(ok(run_cli("videos", "list", "--kind", "short", "--json")))
    assert {v["video_id"] for v in shorts} == {
        vid for vid in stored if sim.world.video(vid).case == "short"}
    ch = sim.world.channels[1]
    mine = json.loads(ok(run_cli("videos", "list", "--channel", ch.handle, "--json")))
    assert {v["video_id"] for v in mine} == public_ids(ch)
    waiting = ok(run_cli("videos", "list", "--status", "waiting"))
    assert "upcoming" in waiting and "live" in waiting and "showing" not in waiting
    assert ok(run_cli("videos", "list", "--status", "failed")).strip() == "no videos match"


# -- transcripts ----------------------------------------------------------------------------


def test_transcripts_show_in_every_format(run_cli, sim, corpus) -> None:
    video = next(v for v in sim.world.channels[0].videos if v.case == "manual_en")
    text = ok(run_cli("transcripts", "show", f"https://youtu.be/{video.video_id}?t=3"))
    assert video.title in text and f"https://youtu.be/{video.video_id}" in text
    stamps = re.findall(r"^\[(\d+:\d\d(?::\d\d)?)\] ", text, re.M)
    assert stamps and stamps[0] == "0:00"
    data = json.loads(ok(run_cli("transcripts", "show", video.video_id, "--format", "json")))
    assert data["video_id"] == video.video_id and data["language_code"] == "en"
    assert " ".join(data["text"].split()) == " ".join(" ".join(video.spoken_lines()).split())
    srt = ok(run_cli("transcripts", "show", video.video_id, "--format", "srt"))
    vtt = ok(run_cli("transcripts", "show", video.video_id, "--format", "vtt"))
    expected = [s["text"] for s in data["segments"]]
    assert [c[2] for c in parse_cues(srt, "srt")] == expected == [c[2] for c in parse_cues(vtt, "vtt")]
    assert vtt.startswith("WEBVTT")
    one_line_error(run_cli("transcripts", "show", video.video_id, "--language", "de"), 1,
                   "stored: en")


@pytest.mark.parametrize("case", ["captions_disabled", "no_english", "age_restricted",
                                  "unavailable", "unplayable", "po_token_required", "live"])
def test_transcripts_show_says_why_there_is_none(run_cli, sim, corpus, case) -> None:
    video = sim.world.find(case)
    reason = video.unavailable_reason or "waiting"
    one_line_error(run_cli("transcripts", "show", video.video_id), 1, reason)


def test_transcripts_search(run_cli, sim, corpus) -> None:
    hits = json.loads(ok(run_cli("transcripts", "search", "battery", "--json")))
    assert len(hits) > 20  # --json: every hit
    for hit in hits:
        assert hit["link"] == f"https://youtu.be/{hit['video_id']}?t={hit['start_seconds']}"
        assert "[battery" in hit["snippet"].lower() and hit["channel"]
    table = ok(run_cli("transcripts", "search", "battery"))
    assert f"showing 20 of {len(hits)} matching passages" in table
    assert hits[0]["link"] in table
    ch = sim.world.channels[1]
    mine = json.loads(ok(run_cli("transcripts", "search", "battery", "--channel", ch.handle,
                                 "--json", "--limit", "5")))
    assert len(mine) == 5 and {h["channel_id"] for h in mine} == {ch.channel_id}
    cut = sorted(h["published_at"] for h in hits)[len(hits) // 2][:10]
    later = json.loads(ok(run_cli("transcripts", "search", "battery", "--since", cut, "--json")))
    earlier = json.loads(ok(run_cli("transcripts", "search", "battery", "--until", cut,
                                    "--json")))
    assert all(h["published_at"][:10] >= cut for h in later)
    assert all(h["published_at"][:10] <= cut for h in earlier)
    assert len(later) + len(earlier) >= len(hits)  # the cut day is in both
    assert ok(run_cli("transcripts", "search", "zzzqqqxxx")).strip() == "no matches"


def test_search_words_may_start_with_a_dash(run_cli, corpus) -> None:
    """`search battery -kite` excludes kite (click must not read -kite as options), as the
    same query in one argument does; the command's options still work around such words."""
    def found(*args: str) -> list[str]:
        return [h["link"] for h in json.loads(ok(run_cli("transcripts", "search", *args)))]

    everything = found("battery", "--json")
    without = found("battery", "-kite", "--json")
    assert 0 < len(without) < len(everything)
    assert without == found("battery -kite", "--json") == found("--json", "battery", "-kite")
    assert found("-kite", "battery", "--limit", "3", "--json") == without[:3]
    assert found("-hot", "battery", "--json") == found("battery -hot", "--json")  # no -h
    assert "Usage: tubesensei transcripts search" in ok(run_cli("transcripts", "search", "-h"))
    assert "Usage:" in ok(run_cli("transcripts", "search", "--help"))


def test_transcripts_export(run_cli, sim, corpus, tmp_path: Path) -> None:
    def stored_transcripts():
        p = make_pipeline(sim, corpus / "tubesensei.db")
        try:
            return transcripts_by_video(p)
        finally:
            p.close()
            p.db.dispose()

    transcripts = stored_transcripts()
    result = run_cli("transcripts", "export", "--format", "jsonl")
    lines = ok(result).splitlines()  # nothing on stderr when writing to stdout
    assert len(lines) == len(transcripts)
    for line in lines:
        record = json.loads(line)
        assert record["text"] == transcripts[record["video"]["id"]].text
    target = tmp_path / "corpus.jsonl"
    written = run_cli("transcripts", "export", "--format", "jsonl", "--out", str(target))
    assert written.exit_code == 0 and written.stdout == ""
    assert written.stderr.startswith(f"exported {len(transcripts)} transcripts")
    assert target.read_text(encoding="utf-8").splitlines() == lines
    ch = sim.world.channels[0]
    files = run_cli("transcripts", "export", "--format", "vtt", "--channel", ch.handle,
                    "--out", str(tmp_path / "subs"))
    assert files.exit_code == 0 and files.stderr.count("\n") == 1
    made = sorted((tmp_path / "subs" / ch.channel_id).glob("*.vtt"))
    assert {p.stem for p in made} == {
        vid for vid in transcripts if sim.world.video(vid).channel_id == ch.channel_id}
    assert list((tmp_path / "subs").iterdir()) == [tmp_path / "subs" / ch.channel_id]


def test_transcripts_reclean(run_cli, sim, corpus) -> None:
    assert ok(run_cli("transcripts", "reclean")).strip() == \
        "re-cleaned 0 transcripts, 0 changed"
    count = len(db_videos(sim, corpus))
    out = ok(run_cli("transcripts", "reclean", "--all"))
    done = int(re.match(r"re-cleaned (\d+) transcripts, 0 changed", out).group(1))
    assert 0 < done < count


def test_the_corpus_matches_the_simulators_truth(sim, corpus) -> None:
    """The acceptance check behind these tests: a transcript for every captioned video,
    every miss with its reason."""
    stored = db_videos(sim, corpus)

    def reasons():
        p = make_pipeline(sim, corpus / "tubesensei.db")
        try:
            with p.db.read() as s:
                return dict((s.execute(select(
                    Video.youtube_video_id, Video.unavailable_reason))).all())
        finally:
            p.close()
            p.db.dispose()

    why = reasons()
    for vid, video in stored.items():
        truth = sim.world.video(vid)
        if truth.kind in ("live", "upcoming"):
            assert video.transcript_status == "waiting"
        elif truth.unavailable_reason:
            assert (video.transcript_status, why[vid]) == ("unavailable", truth.unavailable_reason)
        else:
            assert video.transcript_status == "done", truth.case
