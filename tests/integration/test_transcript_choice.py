"""Which track the pipeline stores, and the rule it records (transcripts.chosen_by), with the
real youtube-transcript-api talking to the simulator.

The languages are the order of preference; within one language manual before generated, an
exact code before a regional variant; translation only when enabled and no listed language
exists. Some tests reshape a video's tracks in this module's own simulator (the web answers
are built from ``caption_tracks`` at every request).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.pipeline_env import make_pipeline
from tubesensei.db.models import Transcript, Video
from tubesensei.pipeline.context import Pipeline
from tubesensei.pipeline.discovery import discover_channel
from tubesensei.pipeline.transcripts import TranscriptOutcome, fetch_transcript
from tubesensei.sim import SimConfig, Simulator, running_simulator
from tubesensei.sim.world import SimTrack, SimVideo
from tubesensei.youtube.ids import ChannelRef


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimConfig(seed=33, channel_sizes=[60])) as running:
        yield running


@pytest.fixture
def db_file(sim: Simulator, tmp_path: Path) -> Path:
    path = tmp_path / "corpus.db"
    p = make_pipeline(sim, path)
    try:
        discover_channel(p, ChannelRef("id", sim.world.channels[0].channel_id))
    finally:
        p.close()
        p.db.dispose()
    return path


@pytest.fixture
def tracks_of(sim: Simulator) -> Iterator[Any]:
    """Set a video's tracks for one test; the simulator gets its own back afterwards."""
    saved: dict[str, list[SimTrack]] = {}

    def reshape(video: SimVideo, tracks: list[SimTrack]) -> None:
        saved.setdefault(video.video_id, list(video.caption_tracks))
        video.caption_tracks = tracks

    yield reshape
    for video_id, tracks in saved.items():
        sim.world.video(video_id).caption_tracks = tracks


def fetch(sim: Simulator, db_file: Path, video_id: str, languages: list[str],
          translation: bool = False) -> tuple[TranscriptOutcome, Transcript]:
    p: Pipeline = make_pipeline(sim, db_file, **{"transcripts.languages": languages,
                                                 "transcripts.allow_translation": translation})
    try:
        outcome = fetch_transcript(p, video_id)
    finally:
        p.close()
        p.db.dispose()
    rows = {r.language_code: r for r in stored(sim, db_file, video_id)}
    return outcome, rows[str(outcome.language_code)]


def stored(sim: Simulator, db_file: Path, video_id: str) -> list[Transcript]:
    p = make_pipeline(sim, db_file)
    try:
        with p.db.read() as s:
            return list(s.execute(select(Transcript).join(Video).where(
                Video.youtube_video_id == video_id)).scalars())
    finally:
        p.close()
        p.db.dispose()


def manual_codes(video: SimVideo) -> list[str]:
    return [t.language_code for t in video.caption_tracks if not t.is_generated]


def test_a_generated_track_in_the_first_language_beats_a_manual_one_in_the_second(
        sim, db_file, tracks_of) -> None:
    video = sim.world.find("multi_language")
    other = next(code for code in manual_codes(video) if code != "en")
    # No manual English: a generated en and manual tracks in other languages.
    tracks_of(video, [t for t in video.caption_tracks
                      if t.is_generated or t.language_code != "en"])
    outcome, row = fetch(sim, db_file, video.video_id, ["en", other])
    assert (row.language_code, row.is_generated, row.chosen_by) == ("en", True, "generated")
    assert outcome.as_dict()["chosen_by"] == "generated"
    assert [{"start": s, "duration": d, "text": t} for s, d, t in row.segments] == \
        video.expected_segments("en", generated=True)
    # The other order prefers the other language, whose track is manual.
    _, row = fetch(sim, db_file, video.video_id, [other, "en"])
    assert (row.language_code, row.is_generated, row.chosen_by) == (other, False, "manual")


def test_manual_before_generated_within_a_language_and_the_row_updated(
        sim, db_file, tracks_of) -> None:
    video = sim.world.find("multi_language")  # manual and generated en
    outcome, row = fetch(sim, db_file, video.video_id, ["en", "de"])
    assert (row.language_code, row.is_generated, row.chosen_by) == ("en", False, "manual")
    assert (outcome.status, outcome.chosen_by) == ("done", "manual")
    # YouTube drops the manual track: fetching again replaces the en row, rule and all.
    tracks_of(video, [t for t in video.caption_tracks if t.language_code != "en"
                      or t.is_generated])
    _, row = fetch(sim, db_file, video.video_id, ["en", "de"])
    assert (row.language_code, row.is_generated, row.chosen_by) == ("en", True, "generated")


def test_a_regional_variant_stands_in_for_its_language(sim, db_file, tracks_of) -> None:
    video = sim.world.find("generated_en")
    tracks_of(video, [SimTrack("en-GB", "English (United Kingdom)", False),
                      *video.caption_tracks])
    _, row = fetch(sim, db_file, video.video_id, ["en"])
    assert (row.language_code, row.is_generated, row.chosen_by) == (
        "en-GB", False, "manual_regional")
    _, row = fetch(sim, db_file, video.video_id, ["en-GB"])
    assert (row.language_code, row.chosen_by) == ("en-GB", "manual")


def test_translation_only_when_no_listed_language_exists(sim, db_file) -> None:
    video = sim.world.find("no_english")  # manual a, manual b, generated a
    first, second = manual_codes(video)
    outcome, row = fetch(sim, db_file, video.video_id, ["en", second], translation=True)
    assert (row.language_code, row.is_generated, row.translated_from, row.chosen_by) == (
        second, False, None, "manual")
    outcome, row = fetch(sim, db_file, video.video_id, ["en"], translation=True)
    assert (row.language_code, row.translated_from, row.chosen_by) == ("en", first,
                                                                       "translation")
    assert outcome.as_dict()["chosen_by"] == "translation"
    assert [{"start": s, "duration": d, "text": t} for s, d, t in row.segments] == \
        video.expected_segments(first, False, translate_to="en")
    rules = {r.language_code: r.chosen_by for r in stored(sim, db_file, video.video_id)}
    assert rules == {second: "manual", "en": "translation"}


def test_no_listed_language_and_no_translation_stores_nothing(sim, db_file) -> None:
    video = sim.world.find("no_english")
    p = make_pipeline(sim, db_file, **{"transcripts.languages": ["en", "ja"]})
    try:
        outcome = fetch_transcript(p, video.video_id)
    finally:
        p.close()
        p.db.dispose()
    assert (outcome.status, outcome.reason, outcome.chosen_by) == (
        "unavailable", "no_transcript_in_language", None)

