"""Export formats against real parsers (webvtt-py, srt), passages, and safe file names."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
import srt
import webvtt

from tubesensei.errors import BadInput
from tubesensei.pipeline.export import (
    NameTemplate,
    chunk_json,
    passages,
    render,
    to_srt,
    to_vtt,
)
from tubesensei.queries.transcripts import ExportRow

HOSTILE = [
    [0.0, 2.0, "Tom & Jerry <3 say --> hi"],
    [1.5, 1.0, "x > y &amp; z <b>not bold</b>"],  # overlaps its predecessor (rolling)
    [3.0, 1.0, "two\n\nlines"],
    [4.0, 1.0, "   "],
    [5.0, 0.0, "zero length"],
]


def row(**changes) -> ExportRow:
    base = dict(transcript_pk=1, channel_id="UC" + "a" * 22, channel_title="Chan",
                channel_handle="@chan", video_id="dQw4w9WgXcQ", title="A title",
                description="", published_at=datetime(2024, 3, 9, 12, 0, tzinfo=UTC),
                duration_s=60, kind="video", view_count=1, language_code="en",
                language="English", is_generated=False, translated_from=None,
                text="t", segments=HOSTILE, word_count=1)
    base.update(changes)
    return ExportRow(**base)


def expected_text(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines) or "…"


def test_webvtt_parses_and_round_trips_escaped_text() -> None:
    body = to_vtt(HOSTILE)
    assert "Tom &amp; Jerry &lt;3 say --&gt; hi" in body
    captions = webvtt.from_string(body)
    assert len(captions) == len(HOSTILE)
    assert [html.unescape(c.text) for c in captions] == [expected_text(t) for _, _, t in HOSTILE]
    starts = [c.start_in_seconds + c.start_time.milliseconds / 1000 for c in captions]
    assert starts == [0.0, 1.5, 3.0, 4.0, 5.0]
    for a, b in pairwise(captions):
        assert a.end <= b.start  # never overlapping ('HH:MM:SS.mmm' sorts as time)


def test_srt_parses_and_round_trips() -> None:
    subtitles = list(srt.parse(to_srt(HOSTILE)))
    assert [s.index for s in subtitles] == [1, 2, 3, 4, 5]
    assert [s.content for s in subtitles] == [
        "Tom & Jerry <3 say -> hi", "x > y &amp; z <b>not bold</b>", "two\nlines", "…",
        "zero length"]
    assert all(s.start < s.end for s in subtitles)
    assert all(a.end <= b.start for a, b in pairwise(subtitles))
    assert list(srt.parse(srt.compose(subtitles))) == subtitles


def test_jsonl_and_chunks_are_one_valid_object_per_line() -> None:
    long = [[i * 10.0, 10.0, f"word{i}"] for i in range(20)]  # 200 s
    text = render(row(segments=long), "jsonl", chunks=60)
    objects = [json.loads(line) for line in text.splitlines()]
    assert [(o["start"], o["end"]) for o in objects] == [(0.0, 60.0), (60.0, 120.0),
                                                         (120.0, 180.0), (180.0, 200.0)]
    assert objects[1]["url"] == "https://youtu.be/dQw4w9WgXcQ?t=60"
    assert objects[1]["text"] == "word6 word7 word8 word9 word10 word11"
    assert set(objects[0]) == {"video_id", "channel_id", "title", "published_at",
                               "language_code", "chunk", "start", "end", "text", "url"}
    assert list(chunk_json(row(segments=[]), 60)) == []
    assert passages([[0, 1, "a"], [100, 1, "b"]], 30) == [(0.0, 1.0, "a"), (100.0, 101.0, "b")]
    whole = json.loads(render(row(), "jsonl"))
    assert set(whole) == {"channel", "video", "language_code", "language", "is_generated",
                          "translated_from", "word_count", "text", "segments"}


@pytest.mark.parametrize(("title", "expected"), [
    ("Plain", "chan/2024-03-09-Plain-dQw4w9WgXcQ.srt"),
    ("a/b\\c:d*e?f\"g<h>i|j", "chan/2024-03-09-a_b_c_d_e_f_g_h_i_j-dQw4w9WgXcQ.srt"),
    ("tab\tand\nnewline", "chan/2024-03-09-tab_and_newline-dQw4w9WgXcQ.srt"),
])
def test_names_are_safe_on_every_os(title: str, expected: str) -> None:
    name = NameTemplate("{channel_handle}/{published:%Y-%m-%d}-{title}-{id}")
    assert name.path(row(title=title), "srt") == Path(expected)


def test_names_cannot_escape_or_collide() -> None:
    name = NameTemplate("{title}")  # no {id}: appended, so two videos never share a file
    assert name.path(row(title=".."), "vtt") == Path("..-dQw4w9WgXcQ.vtt")
    traversal = NameTemplate("{title}/{id}")
    assert traversal.path(row(title=".."), "vtt") == Path("_/dQw4w9WgXcQ.vtt")
    assert traversal.path(row(title="CON"), "vtt") == Path("_CON/dQw4w9WgXcQ.vtt")
    assert traversal.path(row(title="dots. . "), "vtt") == Path("dots/dQw4w9WgXcQ.vtt")
    long = traversal.path(row(title="x" * 500), "vtt")
    assert all(len(part) <= 120 for part in long.parts)
    german = NameTemplate().path(row(language_code="de"), "srt")
    assert german == Path("UC" + "a" * 22, "dQw4w9WgXcQ.de.srt")


@pytest.mark.parametrize(("template", "fragment"), [
    ("{nope}", "unknown field {nope}"),
    ("{title", "expected '}'"),
    ("", "empty template"),
    ("{published.year.nothing}", "has no attribute"),
    ("{0}", "unknown field {0}"),
])
def test_bad_templates_are_bad_input(template: str, fragment: str) -> None:
    with pytest.raises(BadInput, match=fragment.replace("{", r"\{").replace("}", r"\}")):
        NameTemplate(template)
