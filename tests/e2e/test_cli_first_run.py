"""A first run without traps: init always creates the user config, `config set|unset` edit it
in place (comments kept, secrets hidden and mode 600), completion scripts, the command log."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from tubesensei.config import render_reference_config


def user_config() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "tubesensei" / "tubesensei.toml"


def test_init_creates_the_user_config_even_where_a_folder_config_exists(run_cli) -> None:
    """In a clone, ./tubesensei.toml (tracked) exists: init still creates the user config,
    says the folder's file is read too, and the user's settings apply in that folder."""
    Path("tubesensei.toml").write_text(render_reference_config())  # as in the repository
    result = run_cli("init")
    assert result.exit_code == 0, result.stderr
    assert f"config file  {user_config()}  [created]" in result.stdout
    assert f"also read    {Path.cwd() / 'tubesensei.toml'}" in result.stdout
    assert "sets nothing" in result.stdout
    assert stat.S_IMODE(user_config().stat().st_mode) == 0o600
    assert run_cli("config", "set", "limits.max_attempts", "7").exit_code == 0
    shown = json.loads(run_cli("config", "show", "--json").stdout)
    rows = {row["key"]: row for row in shown["settings"]}
    assert rows["limits.max_attempts"] == {"key": "limits.max_attempts", "value": 7,
                                           "source": str(user_config())}
    assert shown["config_files"] == [str(user_config()), str(Path.cwd() / "tubesensei.toml")]
    # The folder's own setting wins where both set a key, and config set says so.
    Path("tubesensei.toml").write_text("[limits]\nmax_attempts = 2\n")
    again = run_cli("config", "set", "limits.max_attempts", "9")
    assert again.exit_code == 0
    assert "tubesensei.toml (read on top of it in this folder) sets limits.max_attempts" in (
        again.stderr)
    assert "sets 1 key(s), which win" in run_cli("init").stdout


def test_init_creates_the_file_tubesensei_config_names(run_cli, tmp_path: Path,
                                                       monkeypatch) -> None:
    target = tmp_path / "elsewhere" / "team.toml"
    monkeypatch.setenv("TUBESENSEI_CONFIG", str(target))
    result = run_cli("init")
    assert result.exit_code == 0, result.stderr
    assert f"config file  {target}  [created]" in result.stdout and target.is_file()
    assert not user_config().exists()
    assert run_cli("config", "set", "transcripts.languages", "en,de").exit_code == 0
    assert tomllib.loads(target.read_text())["transcripts"]["languages"] == ["en", "de"]


def test_config_set_keeps_comments_and_hides_secrets(run_cli, tmp_path: Path,
                                                     monkeypatch) -> None:
    assert run_cli("init").exit_code == 0
    before = user_config().read_text()
    os.chmod(user_config(), 0o644)
    result = run_cli("config", "set", "youtube.api_key", "AIzaSecretFromTheLine")
    assert result.exit_code == 0, result.stderr
    assert "AIzaSecretFromTheLine" not in result.stdout + result.stderr
    assert "youtube.api_key = ********" in result.stdout and "mode 600" in result.stdout
    assert stat.S_IMODE(user_config().stat().st_mode) == 0o600
    text = user_config().read_text()
    # Every comment of the starter is still there; exactly one line was added.
    assert set(before.splitlines()) <= set(text.splitlines())
    assert len(text.splitlines()) == len(before.splitlines()) + 1
    data = tomllib.loads(text)
    assert data["youtube"]["api_key"] == "AIzaSecretFromTheLine"
    # From stdin with VALUE '-': replaces the key in place.
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("AIzaFromStdin\n"))
    assert run_cli("config", "set", "youtube.api_key", "-").exit_code == 0
    assert tomllib.loads(user_config().read_text())["youtube"]["api_key"] == "AIzaFromStdin"
    shown = run_cli("config", "show")
    assert "AIzaFromStdin" not in shown.stdout and "********" in shown.stdout
    # The command log never holds it either.
    log = (tmp_path / "data" / "logs" / "tubesensei.log").read_text()
    assert "AIzaFromStdin" not in log and "AIzaSecretFromTheLine" not in log
    # unset: the default applies again; a second unset says it is not set.
    assert "removed from" in run_cli("config", "unset", "youtube.api_key").stdout
    assert "api_key" not in tomllib.loads(user_config().read_text()).get("youtube", {})
    assert "is not set in" in run_cli("config", "unset", "youtube.api_key").stdout


def test_config_set_creates_the_file_and_writes_typed_values(run_cli) -> None:
    assert not user_config().exists()
    assert run_cli("config", "set", "limits.transcripts_per_minute", "12.5").exit_code == 0
    assert run_cli("config", "set", "transcripts.languages", '["de","en"]').exit_code == 0
    assert run_cli("config", "set", "metrics.enabled", "false").exit_code == 0
    assert run_cli("config", "set", "data_dir", "/tmp/somewhere").exit_code == 0
    data = tomllib.loads(user_config().read_text())
    assert data["limits"]["transcripts_per_minute"] == 12.5
    assert data["transcripts"]["languages"] == ["de", "en"]
    assert data["metrics"]["enabled"] is False and data["data_dir"] == "/tmp/somewhere"
    assert "# TubeSensei configuration." in user_config().read_text()  # the documented starter
    same = run_cli("config", "set", "metrics.enabled", "false")
    assert "(unchanged)" in same.stdout


def test_config_set_notes_an_environment_override(run_cli, monkeypatch) -> None:
    monkeypatch.setenv("TUBESENSEI_LIMITS__MAX_ATTEMPTS", "3")
    result = run_cli("config", "set", "limits.max_attempts", "8")
    assert result.exit_code == 0
    assert "environment variable TUBESENSEI_LIMITS__MAX_ATTEMPTS sets limits.max_attempts" in (
        result.stderr)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["limits.max_attempts", "0"], "limits.max_attempts: Input should be greater than"),
        (["limits.max_attempts", "many"], "valid integer"),
        (["limits.max_atempts", "3"], "did you mean limits.max_attempts"),
        (["nothing.like.this", "3"], "unknown setting 'nothing.like.this'"),
        (["queue.backend", "kafka"], "queue.backend: Input should be 'sqlite' or 'redis'"),
        (["database.url", "garbage"], "is not a database URL"),
        (["transcripts.languages", ""], "at least 1 item"),
    ],
)
def test_config_set_refuses_bad_values_and_writes_nothing(run_cli, args, fragment) -> None:
    assert run_cli("init").exit_code == 0
    before = user_config().read_text()
    result = run_cli("config", "set", *args)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr
    assert user_config().read_text() == before


def test_config_set_on_a_broken_file_is_one_line(run_cli) -> None:
    user_config().parent.mkdir(parents=True)
    user_config().write_text("[limits\n")
    result = run_cli("config", "set", "limits.max_attempts", "3")
    assert result.exit_code == 2 and "invalid TOML" in result.stderr
    assert result.stderr.count("\n") == 1
    assert user_config().read_text() == "[limits\n"


def test_config_set_with_an_empty_value_from_stdin(run_cli, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(""))
    result = run_cli("config", "set", "youtube.api_key", "-")
    assert result.exit_code == 2 and "no value given" in result.stderr
    assert not user_config().exists()


def test_config_set_keeps_a_symlinked_config_a_symlink(run_cli, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "tubesensei.toml"
    dotfiles.parent.mkdir()
    dotfiles.write_text("# mine\n")
    user_config().parent.mkdir(parents=True)
    user_config().symlink_to(dotfiles)
    assert run_cli("config", "set", "limits.max_attempts", "4").exit_code == 0
    assert user_config().is_symlink()
    assert dotfiles.read_text().startswith("# mine\n")
    assert tomllib.loads(dotfiles.read_text())["limits"]["max_attempts"] == 4


def test_config_show_table_names_the_data_folder_and_keeps_keys_whole(run_cli, tmp_path,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli("config", "show")
    assert result.exit_code == 0
    assert "limits.transcript_hard_time_limit_seconds" in result.stdout  # the longest key
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    monkeypatch.delenv("COLUMNS")  # piped: 160 wide
    line = next(row for row in run_cli("config", "show").stdout.splitlines()
                if "data_dir" in row)
    assert str(tmp_path / "data") in line
    rows = {r["key"]: r for r in json.loads(run_cli("config", "show", "--json").stdout)
            ["settings"]}
    assert rows["queue.path"]["value"] == str(tmp_path / "data" / "queue.db")
    assert rows["logging.file"]["source"] == "default (derived)"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(run_cli, shell: str) -> None:
    result = run_cli("completion", shell)
    assert result.exit_code == 0
    assert "_TUBESENSEI_COMPLETE" in result.stdout


def test_completion_answers_through_the_installed_command(tubesensei_exe) -> None:
    env = {**os.environ, "_TUBESENSEI_COMPLETE": "bash_complete",
           "COMP_WORDS": "tubesensei config set limits.transcripts_p", "COMP_CWORD": "3"}
    out = subprocess.run(tubesensei_exe, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "limits.transcripts_per_minute" in out.stdout
    bad = subprocess.run([*tubesensei_exe, "completion", "tcsh"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_data_dir_below_a_file_is_one_line_without_a_log(run_cli, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    for command in (["stats"], ["videos", "list"], ["config", "show"]):
        result = run_cli("--data-dir", str(tmp_path / "afile" / "sub"), *command)
        if command == ["config", "show"]:
            assert result.exit_code == 0  # shows the settings; it writes nothing
            continue
        assert result.exit_code == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "a parent is not a folder" in result.stderr
        assert "log" not in result.stderr and "Traceback" not in result.stderr


def test_commands_log_what_they_did(run_cli, tmp_path: Path) -> None:
    assert run_cli("videos", "list").exit_code == 0
    assert run_cli("jobs", "show", "424242").exit_code == 1
    assert run_cli("jobs", "list", "--status", "nonsense").exit_code == 2
    lines = [json.loads(line) for line in
             (tmp_path / "data" / "logs" / "tubesensei.log").read_text().splitlines()]
    commands = [line for line in lines if line["event"] == "command"]
    assert commands[0]["argv"] == ["videos", "list"] and commands[0]["exit_code"] == 0
    assert commands[1]["argv"] == ["jobs", "show", "424242"]
    assert commands[1]["exit_code"] == 1 and commands[1]["error"] == "no job 424242"
    assert commands[1]["level"] == "warning" and commands[0]["seconds"] >= 0


def test_an_unexpected_error_is_logged_with_its_traceback(run_cli, tmp_path, monkeypatch) -> None:
    def boom(*_a, **_k):
        raise KeyError("a bug")

    monkeypatch.setattr("tubesensei.queries.corpus.list_videos", boom, raising=True)
    result = run_cli("videos", "list")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "unexpected KeyError" in result.stderr and "tubesensei.log" in result.stderr
    log = (tmp_path / "data" / "logs" / "tubesensei.log").read_text()
    assert "Traceback" in log and "a bug" in log
    assert '"error": "unexpected KeyError"' in log


def test_config_check_lists_every_problem_at_once(run_cli, monkeypatch) -> None:
    ok = run_cli("config", "check")
    assert ok.exit_code == 0 and "configuration OK" in ok.stdout
    assert "youtube.api_key is not set" in ok.stdout
    monkeypatch.setenv("TUBESENSEI_SCHEDULE__RESCAN", "not cron")
    monkeypatch.setenv("TUBESENSEI_LIMITS__MAX_ATTEMPTS", "0")
    bad = run_cli("config", "check")
    assert bad.exit_code == 2
    assert "schedule.rescan" in bad.stdout and "limits.max_attempts" in bad.stdout
    assert bad.stderr == "Error: 2 problem(s) in the configuration (listed above)\n"
    both = run_cli("stats")
    assert "(and 1 more: `tubesensei config check` lists them)" in both.stderr
    # Every other command refuses the bad cron at once instead of failing every minute.
    monkeypatch.delenv("TUBESENSEI_LIMITS__MAX_ATTEMPTS")
    stats = run_cli("stats")
    assert stats.exit_code == 2 and "schedule.rescan" in stats.stderr


def test_config_set_says_when_a_rule_across_keys_is_not_met_yet(run_cli) -> None:
    first = run_cli("config", "set", "queue.backend", "redis")
    assert first.exit_code == 0  # the value itself is fine
    assert "note: the configuration is not usable yet" in first.stderr
    assert "queue.url" in first.stderr
    second = run_cli("config", "set", "queue.url", "redis://127.0.0.1:6379/0")
    assert second.exit_code == 0 and "not usable" not in second.stderr
