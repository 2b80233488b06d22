"""One error taxonomy, mapped once at the click group (cli.py): one line, the right exit code;
anything else is a bug whose traceback goes to the log file."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from tubesensei import cli as cli_module
from tubesensei.config import ConfigError
from tubesensei.db.schema import SchemaError
from tubesensei.errors import BadInput, Failure, Interrupted, NotFound, TubeSenseiError
from tubesensei.queries.corpus import ChannelNotInCorpus, VideoNotInCorpus
from tubesensei.queries.jobs import JobNotFound
from tubesensei.queries.search import BadQuery
from tubesensei.queries.sessions import SessionNotFound
from tubesensei.queries.transcripts import TranscriptNotStored
from tubesensei.youtube.errors import Permanent, Transient, YouTubeError
from tubesensei.youtube.ids import InvalidReference


@pytest.mark.parametrize(
    ("cls", "code"),
    [(ConfigError, 2), (InvalidReference, 2), (BadQuery, 2), (BadInput, 2),
     (JobNotFound, 1), (SessionNotFound, 1), (ChannelNotInCorpus, 1), (VideoNotInCorpus, 1),
     (TranscriptNotStored, 1), (SchemaError, 1), (Failure, 1), (NotFound, 1),
     (Transient, 1), (Interrupted, 130)],
)
def test_every_application_error_carries_its_exit_code(cls: type, code: int) -> None:
    assert issubclass(cls, TubeSenseiError) and cls.exit_code == code


def test_youtube_errors_say_where_they_come_from() -> None:
    assert issubclass(YouTubeError, TubeSenseiError)
    assert Permanent("video_unavailable").user_message() == "YouTube: video unavailable"
    assert not issubclass(JobNotFound, LookupError)  # a KeyError from a bug stays a bug


@pytest.fixture
def command(monkeypatch: pytest.MonkeyPatch):
    """A throw-away command on the real root group that raises what the test says."""
    raised: dict[str, BaseException] = {}

    @cli_module.cli.command(name="raise-for-test", hidden=True)
    @click.pass_obj
    def raise_for_test(app) -> None:
        app.runtime()  # logging to the data folder's log file, as every command does
        raise raised["exc"]

    yield raised
    cli_module.cli.commands.pop("raise-for-test", None)


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [(BadInput("give job ids or --session ID"), 2, "Error: give job ids or --session ID"),
     (JobNotFound("no job 42"), 1, "Error: no job 42"),
     (Transient("HTTP 503 from videos.list"), 1, "Error: YouTube: HTTP 503 from videos.list"),
     (Interrupted("Interrupted: demo stopped after 2.0s."), 130,
      "Interrupted: demo stopped after 2.0s.")],
)
def test_expected_errors_are_one_line(command, capsys, exc, code, line) -> None:
    command["exc"] = exc
    assert cli_module.main(["raise-for-test"]) == code
    out, err = capsys.readouterr()
    assert (out, err) == ("", line + "\n")


def test_a_bug_is_logged_with_its_traceback_and_named_in_one_line(command, capsys,
                                                                  isolated_env: Path) -> None:
    command["exc"] = KeyError("video_id")
    assert cli_module.main(["raise-for-test"]) == 1
    out, err = capsys.readouterr()
    log = isolated_env / "data" / "logs" / "tubesensei.log"
    assert out == "" and err.count("\n") == 1
    assert err == f"Error: unexpected KeyError: 'video_id' (traceback in {log})\n"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    bug = [r for r in records if r["event"] == "unexpected error"]
    assert len(bug) == 1 and "Traceback" in bug[0]["exception"]
    assert "KeyError: 'video_id'" in bug[0]["exception"]


def test_a_bug_before_logging_is_set_up_still_gets_one_line(capsys, monkeypatch) -> None:
    @cli_module.cli.command(name="early-bug", hidden=True)
    def early_bug() -> None:
        raise RuntimeError("boom")

    try:
        assert cli_module.main(["early-bug"]) == 1
    finally:
        cli_module.cli.commands.pop("early-bug", None)
    _, err = capsys.readouterr()
    assert err == ("Error: unexpected RuntimeError: boom "
                   "(run with TUBESENSEI_DEBUG=1 for the traceback)\n")
    monkeypatch.setenv("TUBESENSEI_DEBUG", "1")
    cli_module.cli.command(name="early-bug", hidden=True)(early_bug.callback)
    try:
        with pytest.raises(RuntimeError):
            cli_module.main(["early-bug"])
    finally:
        cli_module.cli.commands.pop("early-bug", None)
