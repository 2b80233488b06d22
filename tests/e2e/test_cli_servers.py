"""Pointing TubeSensei at servers it cannot use: one line naming which and the URL (password
masked); exit 2 for a URL that cannot work, 1 for a server that does not answer. No server
is needed for these."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SECRET = "hunter2pw"


def run(tubesensei_exe, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    return subprocess.run([*tubesensei_exe, *args], env=full, capture_output=True, text=True,
                          timeout=60)


def one_line(result, code: int, *fragments: str) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("url", "fragment"),
    [(f"mysql://u:{SECRET}@db/x", "mysql://u:***@db/x: mysql is not supported"),
     (f"postgresql+pg8000://u:{SECRET}@db/x", "postgresql+pg8000 is not supported"),
     (f"postgresql+psycopg://u:{SECRET}@db/", "names no database"),
     ("garbage", "is not a database URL")],
)
def test_a_database_url_that_cannot_work_exits_2(tubesensei_exe, tmp_path, url, fragment):
    result = run(tubesensei_exe, "enqueue", "channel", "@someone",
                 TUBESENSEI_DATABASE__URL=url, TUBESENSEI_DATA_DIR=str(tmp_path / "d"))
    one_line(result, 2, "TUBESENSEI_DATABASE__URL", fragment)
    assert not (tmp_path / "d").exists()


def test_queue_settings_that_cannot_work_exit_2(tubesensei_exe, tmp_path) -> None:
    data = str(tmp_path / "d")
    one_line(run(tubesensei_exe, "stats", TUBESENSEI_QUEUE__BACKEND="redis",
                 TUBESENSEI_DATA_DIR=data), 2, "queue.url is required")
    one_line(run(tubesensei_exe, "stats", TUBESENSEI_QUEUE__BACKEND="redis",
                 TUBESENSEI_QUEUE__URL=f"http://u:{SECRET}@q", TUBESENSEI_DATA_DIR=data),
             2, "http://u:***@q: not a Redis URL")
    one_line(run(tubesensei_exe, "stats", TUBESENSEI_QUEUE__BACKEND="postgres",
                 TUBESENSEI_DATA_DIR=data), 2, "'sqlite' or 'redis'")


def test_an_unreachable_database_exits_1(tubesensei_exe, tmp_path) -> None:
    url = f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/corpus"
    for args in (("stats",), ("videos", "list"), ("transcripts", "search", "kite"),
                 ("enqueue", "channel", "@someone")):
        result = run(tubesensei_exe, *args, TUBESENSEI_DATABASE__URL=url,
                     TUBESENSEI_DATA_DIR=str(tmp_path / "d"))
        one_line(result, 1, "cannot reach the database at postgresql+psycopg://u:***@127.0.0.1:1")


def test_an_unreachable_redis_exits_1_and_nothing_is_queued(tubesensei_exe, tmp_path) -> None:
    data = tmp_path / "d"
    result = run(tubesensei_exe, "enqueue", "channel", "@someone",
                 TUBESENSEI_QUEUE__BACKEND="redis",
                 TUBESENSEI_QUEUE__URL=f"redis://:{SECRET}@127.0.0.1:1/0",
                 TUBESENSEI_DATA_DIR=str(data))
    one_line(result, 1, "cannot reach Redis at redis://:***@127.0.0.1:1/0")
    jobs = run(tubesensei_exe, "jobs", "list", "--json", TUBESENSEI_DATA_DIR=str(data))
    assert jobs.returncode == 0 and jobs.stdout.strip() == "[]"


BLOCK = ("import sys; sys.modules['psycopg'] = None; sys.modules['redis'] = None;"
         "from tubesensei.cli import main; sys.exit(main(sys.argv[1:]))")


def test_a_missing_client_names_the_extra_to_install(tmp_path) -> None:
    env = {**os.environ, "TUBESENSEI_DATA_DIR": str(tmp_path / "d")}
    pg = subprocess.run(
        [sys.executable, "-c", BLOCK, "stats"], capture_output=True, text=True,
        env={**env, "TUBESENSEI_DATABASE__URL": f"postgresql+psycopg://u:{SECRET}@h/db"})
    one_line(pg, 2, "needs the psycopg client", "tubesensei[server]", "u:***@h/db")
    redis = subprocess.run(
        [sys.executable, "-c", BLOCK, "stats"], capture_output=True, text=True,
        env={**env, "TUBESENSEI_QUEUE__BACKEND": "redis",
             "TUBESENSEI_QUEUE__URL": "redis://127.0.0.1:6379/0"})
    one_line(redis, 2, "needs the redis client", "tubesensei[server]")
