"""CLI start-up stays cheap: `--version` and `--help` import no command module (nor
SQLAlchemy, pydantic or alembic); a command on a database at head imports its own module and
never alembic. The root group's command summaries are the commands' own (lazy import)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tubesensei.cli import LAZY_COMMANDS, SUMMARIES, LazyCommands, cli
from tubesensei.db import schema

HEAVY = ("sqlalchemy", "pydantic", "alembic", "structlog", "rich", "huey", "tubesensei.jobs",
         "tubesensei.commands.corpus",
         "tubesensei.commands.jobs", "tubesensei.sim", "tubesensei.db.models")


def _modules_after(argv: list[str], tmp_path: Path) -> tuple[int, str, set[str]]:
    """Run the CLI with ``argv`` in a fresh interpreter: exit code, stdout, modules loaded."""
    code = (
        "import io, json, sys, contextlib\n"
        "from tubesensei.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    rc = main({argv!r})\n"
        "print(json.dumps([rc, out.getvalue(), sorted(sys.modules)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rc, out, modules = json.loads(result.stdout.strip().splitlines()[-1])
    return rc, out, set(modules)


def _loaded(modules: set[str], prefix: str) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in modules)


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_nothing_heavy(flag: str, tmp_path: Path) -> None:
    rc, out, modules = _modules_after([flag], tmp_path)
    assert rc == 0 and "tubesensei" in out
    assert [m for m in HEAVY if _loaded(modules, m)] == []


def test_a_command_imports_its_module_alone_and_no_alembic_at_head(tmp_path: Path) -> None:
    rc, _, _ = _modules_after(["init"], tmp_path)
    assert rc == 0
    rc, out, modules = _modules_after(["videos", "list", "--limit", "20"], tmp_path)
    assert rc == 0 and "no videos" in out
    assert _loaded(modules, "tubesensei.commands.corpus")
    for absent in ("alembic", "huey", "tubesensei.commands.jobs",
                   "tubesensei.commands.transcripts", "tubesensei.sim",
                   "sqlalchemy.dialects.postgresql", "tubesensei.pipeline.cleaning"):
        assert not _loaded(modules, absent), absent


def test_commands_on_the_queues_load_no_redis_or_psycopg_on_sqlite(tmp_path: Path) -> None:
    """huey imports both clients when installed; a SQLite deployment never needs them
    (tubesensei/jobs/__init__.py hides them from huey): 12 MB and ~75 ms for redis."""
    rc, _, _ = _modules_after(["init"], tmp_path)
    assert rc == 0
    for argv in (["stats"], ["jobs", "list"]):
        rc, _, modules = _modules_after(argv, tmp_path)
        assert rc == 0 and _loaded(modules, "huey"), argv
        assert not _loaded(modules, "redis") and not _loaded(modules, "psycopg"), argv
        assert not _loaded(modules, "sqlalchemy.dialects.postgresql"), argv


def test_the_tui_loads_no_youtube_client() -> None:
    """The dashboard reads the database and steers the job system; the YouTube clients
    (googleapiclient, youtube-transcript-api: ~125 ms, ~12 MB) are the consumers'."""
    code = ("import sys, tubesensei.tui.app\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in\n"
            "             ('googleapiclient', 'youtube_transcript_api', 'httplib2', 'redis')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_redis_queue_gives_huey_its_redis_names_back() -> None:
    pytest.importorskip("redis")
    code = (
        "import sys\n"
        "import tubesensei.jobs, huey.storage\n"
        "assert 'redis' not in sys.modules and huey.storage.Redis is None\n"
        "from tubesensei.jobs.redis_queue import RedisQueueHuey\n"
        "import redis, redis.exceptions\n"
        "s = huey.storage\n"
        "assert (s.Redis, s.ConnectionPool, s.ConnectionError, s.TimeoutError) == (\n"
        "    redis.Redis, redis.ConnectionPool, redis.exceptions.ConnectionError,\n"
        "    redis.exceptions.TimeoutError)\n"
        "assert s.PriorityRedisStorage.redis_client is redis.Redis\n"
        "h = RedisQueueHuey('t', url='redis://127.0.0.1:1/0', blocking=False, results=False)\n"
        "assert isinstance(h.storage.conn, redis.Redis)  # made, not connected\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_summaries_are_the_commands_own() -> None:
    assert set(SUMMARIES) == set(LAZY_COMMANDS)
    for name, (module, attribute) in LAZY_COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert command.name == name and not command.hidden and not command.deprecated
        stand_in = click.Command(name, help=SUMMARIES[name])
        for limit in (30, 45, 58, 74, 200):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), \
                f"SUMMARIES[{name!r}] differs from its docstring's first paragraph"


def test_lazy_commands_behave_as_a_dict() -> None:
    commands = LazyCommands({"videos": LAZY_COMMANDS["videos"]})
    assert list(commands) == ["videos"] and len(commands) == 1 and "videos" in commands
    assert commands.loaded("videos") is None
    assert commands["videos"].name == "videos" and commands.loaded("videos") is not None
    extra = click.Command("extra")
    commands["extra"] = extra
    assert sorted(commands) == ["extra", "videos"] and commands.get("extra") is extra
    assert commands.pop("extra") is extra and commands.get("missing") is None
    with pytest.raises(KeyError):
        del commands["missing"]
    assert isinstance(cli.commands, LazyCommands) and set(LAZY_COMMANDS) <= set(cli.commands)


def test_completion_of_command_names_uses_the_summaries(tmp_path: Path) -> None:
    env_code = (
        "import os, sys\n"
        "os.environ.update(COMP_WORDS='tubesensei vi', COMP_CWORD='1',\n"
        "                  _TUBESENSEI_COMPLETE='bash_complete')\n"
        "from tubesensei.cli import main\n"
        "try:\n"
        "    main([])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('|corpus' if 'tubesensei.commands.corpus' in sys.modules else '|lazy')\n"
    )
    result = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert "plain,videos" in result.stdout and result.stdout.rstrip().endswith("|lazy")


# -- the schema's head revision, read without alembic --------------------------------------


def test_head_and_known_revisions_match_alembic() -> None:
    script = schema._script()
    assert schema.head_revision() == script.get_current_head()
    assert schema.known_revisions() == {rev.revision for rev in script.walk_revisions()}
    graph = schema.revision_graph()
    assert graph is not None
    assert {rev: tuple(sorted(downs)) for rev, downs in graph.items()} == {
        rev.revision: tuple(sorted(rev._normalized_down_revisions))
        for rev in script.walk_revisions()}


def test_headers_not_said_plainly_fall_back_to_alembic(tmp_path: Path, monkeypatch) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "a.py").write_text("revision = 'a1'\ndown_revision = None\n")
    (versions / "b.py").write_text("revision: str = 'b2'\ndown_revision: str | None = 'a1'\n")
    monkeypatch.setattr(schema, "migrations_dir", lambda: tmp_path / "migrations")
    schema.revision_graph.cache_clear()
    try:
        assert schema.revision_graph() == {"a1": (), "b2": ("a1",)}
        assert schema.head_revision() == "b2"
        (versions / "c.py").write_text("revision = REV  # computed\ndown_revision = 'b2'\n")
        schema.revision_graph.cache_clear()
        assert schema.revision_graph() is None
        (versions / "c.py").write_text("revision = 'c3'\ndown_revision = ('a1', 'b2')\n")
        schema.revision_graph.cache_clear()
        assert schema.revision_graph() == {"a1": (), "b2": ("a1",), "c3": ("a1", "b2")}
        assert schema.head_revision() == "c3"
    finally:
        schema.revision_graph.cache_clear()


# -- config: no attribute-docstring parsing at import ----------------------------------------


def test_field_docs_read_the_source_as_pydantic_would() -> None:
    from pydantic import BaseModel
    from pydantic._internal._docs_extraction import extract_docstrings_from_cls

    from tubesensei.config import Settings, field_docs, setting_keys

    expected: dict[str, str] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        docs = extract_docstrings_from_cls(model, use_inspect=True)
        for name, info in model.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                walk(info.annotation, f"{prefix}{name}.")
            else:
                expected[f"{prefix}{name}"] = docs.get(name, "").strip()

    walk(Settings, "")
    assert field_docs() == expected and all(expected.values())
    assert setting_keys() == list(expected)


def test_config_show_opens_no_database_layer(tmp_path: Path) -> None:
    rc, out, modules = _modules_after(["config", "show"], tmp_path)
    assert rc == 0 and "data_dir" in out
    assert not _loaded(modules, "sqlalchemy") and not _loaded(modules, "tubesensei.db")
