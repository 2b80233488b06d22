"""The TUI's pure parts: the throughput history, text helpers, transcript blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tubesensei.tui import formatting as fmt
from tubesensei.tui.throughput import ThroughputHistory

T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_history_recounts_recent_buckets_and_catches_late_commits() -> None:
    h = ThroughputHistory(bucket_seconds=10, buckets=6, overlap_seconds=20)
    assert h.recount_seconds(at(0)) == 60  # first refresh: the whole window
    h.replace_from(at(0), h.bucket_start(at(-60)), [("transcripts", at(-35)),
                                                   ("transcripts", at(-5)), ("batch", at(-5))])
    assert h.series(at(0), "transcripts") == [0, 1, 0, 0, 1, 0]
    assert h.series(at(0)) == [0, 1, 0, 0, 2, 0]
    # A job that finished at -3 s but committed after that refresh shows up in the next
    # one, whose recount covers the last refresh plus the overlap; nothing counts twice.
    assert h.recount_seconds(at(1)) == 21
    h.replace_from(at(1), h.bucket_start(at(1 - 21)), [
        ("transcripts", at(-5)), ("batch", at(-5)), ("transcripts", at(-3)),
        ("transcripts", at(0.5))])
    assert h.series(at(1), "transcripts") == [0, 1, 0, 0, 2, 1]
    assert h.per_minute(at(1)) == 5.0
    # Buckets older than the window are dropped; the recount never exceeds the window.
    h.replace_from(at(200), h.bucket_start(at(140)), [])
    assert h.series(at(200)) == [0] * 6
    assert h.recount_seconds(at(1000)) == 60


def test_durations_and_times() -> None:
    assert [fmt.duration(s) for s in (None, 0, 45, 65, 3600 + 120, 90000)] == [
        "–", "0s", "45s", "1m 05s", "1h 02m", "1d 1h"]
    assert [fmt.short_duration(s) for s in (5, 65, 7200, 200000)] == ["5s", "1m", "2h", "2d"]
    assert fmt.ago(at(-30), T0) == "30s ago" and fmt.ago(at(30), T0) == "in 30s"
    assert fmt.until(at(-1), T0) == "now" and fmt.until(None, T0) == "–"
    assert fmt.clock_time(at(5), UTC, T0) == "12:00:05"
    assert fmt.clock_time(at(86400), UTC, T0) == "2025-06-02 12:00"
    from tubesensei.formatting import hms

    assert hms(75) == "1:15" and hms(3725) == "1:02:05" and hms(None) == "-"


def test_sparkline_numbers_and_shortening() -> None:
    assert fmt.sparkline([0, 0]) == "▁▁"
    assert fmt.sparkline([0, 4, 8], width=2) == "▄█"
    assert fmt.number(1234) == "1,234" and fmt.number(2.5) == "2.5" and fmt.number(None) == "–"
    assert fmt.shorten("a  b\nc", 10) == "a b c" and fmt.shorten("abcdef", 4) == "abc…"
    assert fmt.shorten(None, 3) == ""


def test_transcript_blocks_follow_pauses_and_sentences() -> None:
    from tubesensei.formatting import paragraphs as blocks

    segments = [[0, 10, "One."], [10, 10, "Two"], [20, 10, "three."], [30, 5, "Four"],
                [35, 5, "five"], [40, 5, "six."], [60, 5, "After a pause."]]
    assert blocks(segments) == [(0.0, "One. Two three."), (30.0, "Four five six."),
                                (60.0, "After a pause.")]
    runaway = [[n * 5, 5, "word"] for n in range(12)]  # no sentence ends: cut at 45 s
    assert [start for start, _ in blocks(runaway)] == [0.0, 45.0]


def test_entity_search_understands_pasted_references() -> None:
    from tubesensei.tui.data import entity_query

    assert entity_query("  ") is None
    assert entity_query("https://youtu.be/dQw4w9WgXcQ?t=42") == "dQw4w9WgXcQ"
    assert entity_query("https://www.youtube.com/@Veritasium/videos") == "@veritasium"
    assert entity_query("@Veritasium") == "@veritasium"
    assert entity_query("dQw4w") == "dQw4w"  # part of an id: as typed
    assert entity_query("a/b") == "a/b"  # not a reference: as typed
