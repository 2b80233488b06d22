"""The foundation commands through the real entry point, in-process and as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import click
import pytest

from tubesensei.cli import cli
from tubesensei.db.schema import head_revision


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
    return found


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(run_cli, path: tuple[str, ...]) -> None:
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Usage: tubesensei " + " ".join(path) in result.stdout
    command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help, f"{path} has no docstring"
    if not isinstance(command, click.Group):
        assert "Example" in command.help, f"{' '.join(path)} has no example"


def test_version_and_root_help(run_cli) -> None:
    from tubesensei import __version__

    assert run_cli("--version").stdout.strip().endswith(__version__)
    result = run_cli("--help")
    assert result.exit_code == 0 and "init" in result.stdout


def test_init_is_idempotent_and_never_overwrites_config(run_cli, tmp_path: Path) -> None:
    first = run_cli("init")
    assert first.exit_code == 0, first.stderr
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "tubesensei" / "tubesensei.toml"
    assert config.is_file() and "[created]" in first.stdout
    config.write_text("[limits]\nmax_attempts = 3\n")
    second = run_cli("init")
    assert second.exit_code == 0 and "kept (exists)" in second.stdout
    assert config.read_text() == "[limits]\nmax_attempts = 3\n"
    assert (tmp_path / "data" / "tubesensei.db").is_file()
    assert (tmp_path / "data" / "logs" / "tubesensei.log").is_file()
    assert run_cli("db", "current").stdout.strip() == f"{head_revision()} (head)"


def test_commands_create_a_brand_new_database_by_themselves(run_cli, tmp_path: Path) -> None:
    result = run_cli("db", "current", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "current": head_revision(), "head": head_revision(), "up_to_date": True
    }


def test_outdated_database_names_db_upgrade(run_cli, tmp_path: Path) -> None:
    assert run_cli("init").exit_code == 0
    from tubesensei.db.engine import create_sync_engine

    engine = create_sync_engine(f"sqlite:///{tmp_path / 'data' / 'tubesensei.db'}")
    with engine.begin() as conn:  # simulate an old database by pretending the head moved on
        conn.exec_driver_sql("UPDATE alembic_version SET version_num='0001'")
        conn.exec_driver_sql("INSERT INTO channels (youtube_channel_id, title, description, status, "
                             "created_at, updated_at) VALUES ('UCx', 't', '', 'active', "
                             "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    engine.dispose()
    import tubesensei.db.schema as schema

    real = schema.head_revision
    schema.head_revision = lambda: "0002"  # type: ignore[assignment]
    try:
        result = run_cli("db", "current")
    finally:
        schema.head_revision = real  # type: ignore[assignment]
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "tubesensei db upgrade" in result.stderr


def test_db_upgrade_reports(run_cli) -> None:
    first = run_cli("db", "upgrade")
    assert first.exit_code == 0 and f"(empty) -> {head_revision()}" in first.stdout
    again = run_cli("db", "upgrade")
    assert again.exit_code == 0 and "already at" in again.stdout


def test_config_show_sources_and_masking(run_cli, tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[youtube]\napi_key = "AIzaFromFile123"\n[limits]\nmax_attempts = 4\n')
    monkeypatch.setenv("TUBESENSEI_LIMITS__RETRY_BASE_SECONDS", "2.5")
    result = run_cli("--config", str(cfg), "config", "show", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {row["key"]: row for row in data["settings"]}
    assert data["config_file"] == str(cfg)
    assert rows["youtube.api_key"] == {"key": "youtube.api_key", "value": "********",
                                       "source": str(cfg)}
    assert rows["limits.max_attempts"]["value"] == 4
    assert rows["limits.retry_base_seconds"]["source"] == "env TUBESENSEI_LIMITS__RETRY_BASE_SECONDS"
    assert rows["limits.worker_concurrency"]["source"] == "default"
    assert "AIzaFromFile123" not in result.stdout
    table = run_cli("--config", str(cfg), "config", "show")
    assert table.exit_code == 0 and "limits.max_attempts" in table.stdout
    assert "AIzaFromFile123" not in table.stdout


def test_data_dir_option_beats_environment(run_cli, tmp_path: Path) -> None:
    result = run_cli("--data-dir", str(tmp_path / "elsewhere"), "config", "show", "--json")
    data = json.loads(result.stdout)
    assert data["data_dir"] == str(tmp_path / "elsewhere")
    rows = {row["key"]: row for row in data["settings"]}
    assert rows["data_dir"]["source"] == "command line"


@pytest.mark.parametrize(
    ("setup", "args", "fragment"),
    [
        (lambda p: (p / "b.toml").write_text("[limits\n"), ["--config", "b.toml", "config", "show"],
         "invalid TOML"),
        (lambda p: (p / "b.toml").write_text("[queue]\nmystery = 1\n"),
         ["--config", "b.toml", "init"], "queue.mystery: unknown key"),
        (lambda p: (p / "b.toml").write_text("[limits]\nmax_attempts = 'x'\n"),
         ["--config", "b.toml", "db", "upgrade"], "limits.max_attempts"),
        (lambda p: None, ["--config", "missing.toml", "config", "show"], "not found"),
        (lambda p: (p / "afile").write_text(""), ["--data-dir", "afile/sub", "init"],
         "data folder"),
        (lambda p: None, ["no-such-command"], "No such command"),
        (lambda p: None, ["config", "show", "--bogus"], "No such option"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_created(
    run_cli, tmp_path: Path, setup, args: list[str], fragment: str
) -> None:
    setup(Path.cwd())
    result = run_cli(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()
    assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "tubesensei").exists()


def test_bad_environment_is_exit_2(run_cli, monkeypatch) -> None:
    monkeypatch.setenv("TUBESENSEI_LIMITS__MAX_ATTEMPTS", "plenty")
    result = run_cli("config", "show")
    assert result.exit_code == 2
    assert "TUBESENSEI_LIMITS__MAX_ATTEMPTS" in result.stderr and result.stderr.count("\n") == 1


def test_installed_console_script_in_a_subprocess(tubesensei_exe, tmp_path: Path) -> None:
    env = dict(os.environ)
    out = subprocess.run([*tubesensei_exe, "init"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # CLI commands log to the file, never to stderr
    bad = subprocess.run([*tubesensei_exe, "--config", "nope.toml", "config", "show"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_processes_creating_a_new_database_at_once_take_turns(tubesensei_exe, tmp_path) -> None:
    env = {**os.environ, "TUBESENSEI_DATA_DIR": str(tmp_path / "fresh")}
    procs = [subprocess.Popen([*tubesensei_exe, "db", "current"], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == f"{head_revision()} (head)"
