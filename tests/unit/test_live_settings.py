"""A consumer's [transcripts] settings follow the config file (jobs/live_settings.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tubesensei.config import load_settings
from tubesensei.db.engine import Database
from tubesensei.jobs.live_settings import LiveTranscriptSettings
from tubesensei.pipeline.context import Pipeline


def write(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a new mtime whatever the clock


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tubesensei.toml"
    write(path, '[transcripts]\nlanguages = ["en"]\n')
    return path


def test_a_changed_file_is_read_again_and_a_broken_one_keeps_the_settings(
    config: Path
) -> None:
    live = LiveTranscriptSettings(load_settings(config, environ={}))
    assert live.current().languages == ["en"]
    write(config, '[transcripts]\nlanguages = ["de", "en"]\nallow_translation = true\n')
    assert live.current().languages == ["de", "en"] and live.current().allow_translation
    with capture_logs() as logs:
        write(config, "[transcripts\nlanguages = 'broken'\n")
        for _ in range(3):
            assert live.current().languages == ["de", "en"]
        write(config, '[transcripts]\nlanguages = "not a list"\n')  # invalid value: kept too
        assert live.current().languages == ["de", "en"]
        config.unlink()
        assert live.current().languages == ["de", "en"]
    warnings = [e for e in logs if "cannot be used" in e["event"]]
    assert len(warnings) == 3  # one per change of the file, not one per job
    assert warnings[0]["log_level"] == "warning" and "invalid TOML" in warnings[0]["error"]
    write(config, '[transcripts]\nlanguages = ["fr"]\n')
    assert live.current().languages == ["fr"]


def test_the_environment_and_the_command_line_still_win(config: Path) -> None:
    env = {"TUBESENSEI_TRANSCRIPTS__LANGUAGES": '["es"]'}
    live = LiveTranscriptSettings(load_settings(config, {"transcripts.include_shorts": False},
                                                environ=env))
    write(config, '[transcripts]\nlanguages = ["de"]\ninclude_shorts = true\n'
                  "include_finished_streams = false\n")
    now = live.current()
    assert (now.languages, now.include_shorts, now.include_finished_streams) == (
        ["es"], False, False)


def test_a_pipeline_builds_its_next_client_with_new_settings(tmp_path: Path) -> None:
    settings = load_settings(None, {"data_dir": tmp_path}, environ={}).settings
    pipeline = Pipeline(settings, Database(f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        first = pipeline.transcripts
        pipeline.use_transcript_settings(settings.transcripts)
        assert pipeline.transcripts is first  # unchanged: the same client, its session kept
        changed = settings.transcripts.model_copy(update={"languages": ["de", "en"]})
        pipeline.use_transcript_settings(changed)
        assert pipeline.transcripts is not first
        assert pipeline.transcripts.languages == ("de", "en")
        assert pipeline.settings.transcripts.languages == ["de", "en"]
        assert settings.transcripts.languages == ["en"]  # the shared settings are untouched
    finally:
        pipeline.close()
        pipeline.db.dispose()


def test_a_user_config_created_after_the_start_is_followed(tmp_path: Path) -> None:
    """A consumer started with no config file at all; then `tubesensei config set
    transcripts.languages ...` creates the user config: the next job follows it."""
    from tubesensei.config import default_config_file

    user = default_config_file()
    assert not user.exists()
    live = LiveTranscriptSettings(load_settings(None, environ={}))
    assert live.current().languages == ["en"]
    user.parent.mkdir(parents=True, exist_ok=True)
    write(user, '[transcripts]\nlanguages = ["ja", "en"]\n')
    assert live.current().languages == ["ja", "en"]
