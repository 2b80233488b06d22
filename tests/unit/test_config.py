from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import pytest

from tubesensei.config import (
    ConfigError,
    Settings,
    discover_config_files,
    env_name_for,
    field_docs,
    iter_fields,
    load_settings,
    render_reference_config,
)

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_match_the_seed_plan() -> None:
    s = load_settings(environ={}).settings
    assert s.limits.max_concurrent_jobs == 10
    assert s.limits.max_videos_per_batch == 50
    assert s.limits.worker_concurrency == 4
    assert s.limits.transcripts_per_minute == 30
    assert s.limits.soft_time_limit_seconds == 25 * 60
    assert s.limits.hard_time_limit_seconds == 30 * 60
    assert s.transcripts.languages == ["en"]
    assert s.transcripts.allow_translation is False
    assert s.transcripts.include_shorts and s.transcripts.include_finished_streams


def test_precedence_arguments_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[limits]\nmax_attempts = 3\nretry_base_seconds = 7\n"
                "worker_concurrency = 2\n")
    env = {"TUBESENSEI_LIMITS__RETRY_BASE_SECONDS": "9", "TUBESENSEI_LIMITS__WORKER_CONCURRENCY": "5"}
    loaded = load_settings(cfg, {"limits.worker_concurrency": 8}, environ=env)
    s = loaded.settings
    assert s.limits.max_attempts == 3 and loaded.source_of("limits.max_attempts") == str(cfg)
    assert s.limits.retry_base_seconds == 9
    assert loaded.source_of("limits.retry_base_seconds") == "env TUBESENSEI_LIMITS__RETRY_BASE_SECONDS"
    assert s.limits.worker_concurrency == 8
    assert loaded.source_of("limits.worker_concurrency") == "command line"
    assert s.limits.max_concurrent_jobs == 10
    assert loaded.source_of("limits.max_concurrent_jobs") == "default"


def test_contract_env_names_are_understood(tmp_path: Path) -> None:
    env = {
        "TUBESENSEI_DATA_DIR": str(tmp_path / "d"),
        "TUBESENSEI_YOUTUBE__API_KEY": "AIzaSecretKey",
        "TUBESENSEI_YOUTUBE__API_ENDPOINT": "http://127.0.0.1:9",
        "TUBESENSEI_YOUTUBE__WEB_BASE_URL": "http://127.0.0.1:9",
        "TUBESENSEI_TRANSCRIPTS__LANGUAGES": '["de", "en"]',
        "TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE": "0",
        "TUBESENSEI_LIMITS__MAX_ATTEMPTS": "2",
        "TUBESENSEI_LIMITS__RETRY_BASE_SECONDS": "0.5",
        "TUBESENSEI_LIMITS__BLOCKED_COOLDOWN_SECONDS": "1",
        "TUBESENSEI_METRICS__PORT": "0",
    }
    s = load_settings(environ=env).settings
    assert s.resolved_data_dir == tmp_path / "d"
    assert s.youtube.api_key is not None and s.youtube.api_key.get_secret_value() == "AIzaSecretKey"
    assert s.youtube.api_endpoint == s.youtube.web_base_url == "http://127.0.0.1:9"
    assert s.transcripts.languages == ["de", "en"]
    assert s.limits.transcripts_per_minute == 0
    assert (s.limits.max_attempts, s.limits.retry_base_seconds) == (2, 0.5)
    assert s.limits.blocked_cooldown_seconds == 1 and s.metrics.port == 0
    assert "AIzaSecretKey" not in repr(s)
    assert str(tmp_path / "d" / "tubesensei.db") in s.database_url
    assert s.queue_path == tmp_path / "d" / "queue.db"


def test_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write(tmp_path / "explicit.toml", "")
    from_env = write(tmp_path / "env.toml", "")
    local = write(Path.cwd() / "tubesensei.toml", "")
    user = write(Path(os.environ["XDG_CONFIG_HOME"]) / "tubesensei" / "tubesensei.toml", "")
    env = {"TUBESENSEI_CONFIG": str(from_env)}
    assert discover_config_files(explicit, env) == [explicit]
    assert discover_config_files(None, env) == [from_env]
    assert discover_config_files(None, {}) == [user, local]  # the folder's file wins
    local.unlink()
    assert discover_config_files(None, {}) == [user]
    user.unlink()
    assert discover_config_files(None, {}) == []


def test_folder_config_is_layered_over_the_user_config(tmp_path: Path) -> None:
    """An API key in the user config still applies in a folder (a clone) with its own
    tubesensei.toml; the folder's keys win where both set one, and config show says which
    file each value came from."""
    user = write(Path(os.environ["XDG_CONFIG_HOME"]) / "tubesensei" / "tubesensei.toml",
                 '[youtube]\napi_key = "AIzaUserKey"\n[limits]\nmax_attempts = 7\n')
    local = write(Path.cwd() / "tubesensei.toml", "[limits]\nmax_attempts = 3\n")
    loaded = load_settings(None, {}, environ={})
    assert loaded.settings.youtube.api_key.get_secret_value() == "AIzaUserKey"
    assert loaded.settings.limits.max_attempts == 3
    assert loaded.source_of("youtube.api_key") == str(user)
    assert loaded.source_of("limits.max_attempts") == str(local)
    assert loaded.config_file == local and loaded.config_files == [user, local]
    write(local, "[limits]\nmax_attempts = -1\n")
    with pytest.raises(ConfigError, match=f"config file {local}: limits.max_attempts"):
        load_settings(None, {}, environ={})


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[limits\n", "invalid TOML"),
        ("[youtube]\nnot_a_key = 1\n", "youtube.not_a_key: unknown key"),
        ("surprise = 1\n", "surprise: unknown key"),
        ("[limits]\nmax_attempts = \"many\"\n", "limits.max_attempts: Input should be a valid integer"),
        ("[limits]\nmax_attempts = 0\n", "limits.max_attempts: Input should be greater than or equal to 1"),
        ("[logging]\nlevel = \"LOUD\"\n", "logging.level"),
        ("[transcripts]\nlanguages = []\n", "transcripts.languages"),
        ("limits = 3\n", "limits"),
    ],
)
def test_bad_config_file_is_one_line_naming_file_and_key(
    tmp_path: Path, content: str, fragment: str
) -> None:
    cfg = write(tmp_path / "bad.toml", content)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={})
    message = str(info.value)
    assert "\n" not in message
    assert str(cfg) in message and fragment in message


def test_unreadable_or_missing_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path, environ={})
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(binary, environ={})
    if os.geteuid() != 0:  # root reads everything
        locked = write(tmp_path / "locked.toml", "")
        locked.chmod(0)
        with pytest.raises(ConfigError, match="cannot be read"):
            load_settings(locked, environ={})


def test_bad_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="environment variable TUBESENSEI_LIMITS__MAX_ATTEMPTS"):
        load_settings(environ={"TUBESENSEI_LIMITS__MAX_ATTEMPTS": "lots"})
    with pytest.raises(ConfigError, match="TUBESENSEI_YOUTUBE__APIKEY: unknown setting"):
        load_settings(environ={"TUBESENSEI_YOUTUBE__APIKEY": "x"})
    with pytest.raises(ConfigError, match="TUBESENSEI_TRANSCRIPTS__LANGUAGES"):
        load_settings(environ={"TUBESENSEI_TRANSCRIPTS__LANGUAGES": "[not json"})


def test_secret_values_include_proxy_credentials() -> None:
    env = {
        "TUBESENSEI_YOUTUBE__API_KEY": "AIzaKEY123",
        "TUBESENSEI_YOUTUBE__PROXY_HTTP_URL": "http://bob:hunter22@proxy.example:3128",
    }
    secrets = load_settings(environ=env).settings.secret_values()
    assert {"AIzaKEY123", "bob", "hunter22"} <= set(secrets) or "hunter22" in secrets


def test_reference_file_documents_every_key() -> None:
    """The repository's tubesensei.toml is the config reference: generated, complete, valid."""
    text = (REPO / "tubesensei.toml").read_text()
    assert text == render_reference_config(), "run `make config-reference`"
    docs = field_docs()
    for dotted, doc in docs.items():
        key = dotted.rpartition(".")[2]
        assert doc, f"{dotted} has no docstring"
        assert f"# {key} = " in text and env_name_for(dotted) in text
    # Uncommenting every default gives a valid file with the same settings as the defaults.
    assignment = re.compile(r"^# ([a-z_]+) = ")
    uncommented = "\n".join(
        line[2:] if assignment.match(line) and "unset" not in line else line
        for line in text.splitlines()
    )
    parsed = tomllib.loads(uncommented)
    cfg = Path("all-defaults.toml")
    cfg.write_text(uncommented)
    loaded = load_settings(cfg, environ={})
    assert dict(iter_fields(loaded.settings)) == dict(iter_fields(Settings.model_construct()))
    assert parsed["limits"]["max_concurrent_jobs"] == 10
    json.dumps(parsed)


CRON_CASES = ["0 */6 * * *", "0 3 * * 0", "30 4 * * *", "not cron", "* * * *", "* * * * * *",
              "61 * * * *", "0 0 * * */2", "0 0 1-5/2 * 1-5", "0,15,30 * * 1-12 7",
              "*/0 * * * *", "0 24 * * *", "a b c d e", "0 0 32 * *", "5-1 * * * *",
              "0 0 0 * *", "0 0 * 13 *", "1-2-3 * * * *", "*/15 9-17 * * 1-5", ", * * * *"]


@pytest.mark.parametrize("expr", CRON_CASES)
def test_cron_check_agrees_with_huey(expr: str) -> None:
    """Settings validate cron expressions when loaded, by the rules Huey's crontab applies
    when the consumer runs them (without importing Huey at load time)."""
    from huey import crontab

    from tubesensei.config import check_cron

    fields = expr.split()
    try:
        assert len(fields) == 5
        crontab(minute=fields[0], hour=fields[1], day=fields[2], month=fields[3],
                day_of_week=fields[4], strict=True)
        huey_ok = True
    except (AssertionError, ValueError):
        huey_ok = False
    try:
        check_cron(expr)
        ours = True
    except ValueError:
        ours = False
    assert ours == huey_ok


def test_a_bad_cron_setting_is_refused_on_load() -> None:
    with pytest.raises(ConfigError, match=r"TUBESENSEI_SCHEDULE__RESCAN: schedule\.rescan: "
                                         r"'not cron' is not a cron expression"):
        load_settings(None, {}, environ={"TUBESENSEI_SCHEDULE__RESCAN": "not cron"})


def test_check_configuration_lists_every_problem(tmp_path: Path) -> None:
    from tubesensei.config import check_configuration

    cfg = write(tmp_path / "c.toml", "[limits]\nmax_attempts = 0\n[mystery]\nx = 1\n")
    loaded, problems = check_configuration(cfg, {}, environ={
        "TUBESENSEI_NOPE": "1", "TUBESENSEI_SCHEDULE__PRUNE": "99 * * * *"})
    assert loaded is None
    assert problems == [
        "environment variable TUBESENSEI_NOPE: unknown setting",
        f"config file {cfg}: limits.max_attempts: Input should be greater than or equal to 1",
        "environment variable TUBESENSEI_SCHEDULE__PRUNE: schedule.prune: '99 * * * *': "
        "minute 99 is out of range 0-59",
        f"config file {cfg}: mystery: unknown key",
    ]
    broken = write(tmp_path / "b.toml", "[limits\n")
    assert "invalid TOML" in check_configuration(broken, {}, environ={})[1][0]
    bad_json = check_configuration(None, {}, environ={"TUBESENSEI_TRANSCRIPTS__LANGUAGES": "["})
    assert "not valid JSON" in bad_json[1][0]
    good, none = check_configuration(None, {}, environ={})
    assert good is not None and none == []


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("TUBESENSEI_YOUTUBE__API_ENDPOINT", "notaurl", "is not a URL of the form http|https"),
    ("TUBESENSEI_YOUTUBE__WEB_BASE_URL", "ftp://example.com", "http|https://host"),
    ("TUBESENSEI_YOUTUBE__API_ENDPOINT", "http://h:port", "is not a URL"),
    ("TUBESENSEI_YOUTUBE__PROXY_HTTPS_URL", "proxy.example:8080", "socks5h://host"),
])
def test_urls_are_checked_when_loaded_with_passwords_masked(name, value, fragment) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_settings(None, {}, environ={name: value})
    with pytest.raises(ConfigError) as masked:
        load_settings(None, {}, environ={
            "TUBESENSEI_YOUTUBE__PROXY_HTTP_URL": "gopher://user:hunter22@proxy"})
    assert "hunter22" not in str(masked.value) and "***" in str(masked.value)
    ok = load_settings(None, {}, environ={
        "TUBESENSEI_YOUTUBE__API_ENDPOINT": "http://127.0.0.1:8765",
        "TUBESENSEI_YOUTUBE__PROXY_HTTP_URL": "socks5h://u:p@proxy:1080"}).settings
    assert ok.youtube.api_endpoint == "http://127.0.0.1:8765"
