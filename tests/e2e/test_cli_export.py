"""transcripts export through the real CLI: filters for incremental exports, file names,
passages for embedding pipelines, and formats that real parsers accept."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
import srt
import webvtt

from tests.e2e import test_cli_corpus as corpus_tests
from tests.e2e.test_cli_corpus import ok

# The CLI corpus tests' fixtures, shared: one simulated world.
sim = corpus_tests.sim
corpus_file = corpus_tests.corpus_file
env = corpus_tests.env
corpus = corpus_tests.corpus


def jsonl(run_cli, *args: str) -> list[dict]:
    return [json.loads(line) for line in
            ok(run_cli("transcripts", "export", "--format", "jsonl", *args)).splitlines()]


def test_filters_select_what_an_incremental_export_needs(run_cli, sim, corpus) -> None:
    everything = jsonl(run_cli)
    assert len(everything) > 10
    first, second = sim.world.channels[0], sim.world.channels[1]
    one = jsonl(run_cli, "--channel", first.handle)
    both = jsonl(run_cli, "--channel", first.handle, "--channel", second.channel_id)
    assert {r["channel"]["id"] for r in one} == {first.channel_id}
    assert len(both) == len(everything)
    assert jsonl(run_cli, "--changed-since", "2999-01-01") == []
    assert len(jsonl(run_cli, "--changed-since", "2000-01-01")) == len(everything)
    dates = sorted(r["video"]["published_at"] for r in everything)
    middle = dates[len(dates) // 2][:10]
    recent = jsonl(run_cli, "--since", middle)
    assert recent and all(r["video"]["published_at"][:10] >= middle for r in recent)
    assert len(recent) < len(everything)
    languages = {r["language_code"] for r in everything}
    for code in languages:
        only = jsonl(run_cli, "--language", code.split("-")[0])
        assert only and all(r["language_code"].split("-")[0] == code.split("-")[0]
                            for r in only)


def test_chunks_give_passages_with_links(run_cli, corpus) -> None:
    passages = jsonl(run_cli, "--chunks", "30")
    videos = jsonl(run_cli)
    assert len(passages) > len(videos)
    by_video: dict[str, list[dict]] = {}
    for p in passages:
        by_video.setdefault(p["video_id"], []).append(p)
        assert p["url"] == f"https://youtu.be/{p['video_id']}?t={int(p['start'])}"
        assert p["end"] >= p["start"]
    for video in videos:
        chunks = by_video[video["video"]["id"]]
        assert [c["chunk"] for c in chunks] == list(range(len(chunks)))
        assert " ".join(c["text"] for c in chunks).split() == " ".join(
            s["text"] for s in video["segments"]).split()


def test_name_template_and_real_parsers(run_cli, sim, corpus, tmp_path: Path) -> None:
    out = tmp_path / "subs"
    for fmt in ("vtt", "srt"):
        result = run_cli("transcripts", "export", "--format", fmt, "--out", str(out),
                         "--name", "{channel_handle}/{published:%Y-%m-%d}-{title}-{id}")
        assert result.exit_code == 0, result.stderr
    handles = {c.handle.lstrip("@") for c in sim.world.channels}
    vtts = sorted(out.rglob("*.vtt"))
    assert vtts and {p.parent.name for p in vtts} <= handles
    for path in vtts:
        assert path.name[:4].isdigit() and path.name[10] == "-"
        captions = webvtt.read(str(path))
        subtitles = list(srt.parse(path.with_suffix(".srt").read_text(encoding="utf-8")))
        assert len(captions) == len(subtitles) > 0
        for caption, subtitle in zip(captions, subtitles, strict=True):
            assert html.unescape(caption.text).replace("-->", "->") == subtitle.content


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["--format", "srt", "--out", "x", "--chunks", "30"], 2, "--chunks: only with --format jsonl"),
    (["--format", "jsonl", "--name", "{id}"], 2, "--name: only with --format txt, srt or vtt"),
    (["--format", "srt", "--out", "x", "--name", "{nope}"], 2, "unknown field {nope}"),
    (["--format", "jsonl", "--language", "english!"], 2, "not a language code"),
    (["--format", "jsonl", "--since", "yesterday"], 2, "Invalid value for '--since'"),
    (["--format", "jsonl", "--channel", "@nosuchchannel"], 1, "@nosuchchannel"),
])
def test_bad_export_options_are_one_line(run_cli, corpus, args, code, fragment) -> None:
    result = run_cli("transcripts", "export", *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr
    assert not Path("x").exists()
