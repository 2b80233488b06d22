"""First-run set-up (``tubesensei init``) and the configuration report (``config show``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tubesensei.app import Runtime
from tubesensei.config import (
    ConfigError,
    LoadedSettings,
    default_config_file,
    explicit_config_file,
    iter_fields,
    load_settings,
    local_config_file,
    masked,
    read_config_file,
    render_reference_config,
)


@dataclass(frozen=True)
class InitReport:
    data_dir: Path
    config_file: Path
    config_created: bool
    database: str
    revision: str
    also_read: Path | None = None  # ./tubesensei.toml, read on top of the user config
    also_read_keys: int = 0


def initialise(config_file: Path | None, overrides: dict[str, Any]) -> InitReport:
    """Create what is missing: data folder, config file, database at head. Idempotent.

    The config file is the one named by --config or $TUBESENSEI_CONFIG, else the user
    config file: always that one, even where a ./tubesensei.toml is read too (a clone of the
    repository has one, and a key pasted there would end up in a tracked file).
    """
    explicit = explicit_config_file(config_file, os.environ)
    target = explicit or default_config_file()
    local = local_config_file()
    # Validate settings first, so bad input creates nothing.
    if target.exists():
        loaded = load_settings(config_file, overrides)
    else:
        files = [] if explicit is not None or not local.is_file() else [local]
        loaded = load_settings(config_file, overrides, files=files)
    runtime = Runtime(loaded)
    data_dir = runtime.prepare_data_dir()
    created = create_starter_config(target)
    runtime.setup_logging()
    state = runtime.ensure_schema()
    also = None
    if explicit is None and local.is_file() and local.resolve() != target.resolve():
        also = local
    return InitReport(
        data_dir=data_dir,
        config_file=target,
        config_created=created,
        database=_display_url(runtime.settings.database_url),
        revision=state.current or "",
        also_read=also,
        also_read_keys=len(list(_leaves(read_config_file(also)))) if also else 0,
    )


def create_starter_config(target: Path) -> bool:
    """Write the documented starter config at ``target`` unless something is there already
    (never overwritten, even if another process creates it meanwhile). Readable only by its
    owner from the start: it is where the API key goes."""
    if target.exists():
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ConfigError(f"config file {target}: cannot be created ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render_reference_config())
    return True


def _leaves(tree: dict[str, Any]) -> Iterator[str]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from (f"{key}.{leaf}" for leaf in _leaves(value))
        else:
            yield key


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return str(u.database)
    return u.render_as_string(hide_password=True)


def describe_config(loaded: LoadedSettings) -> list[dict[str, Any]]:
    """One row per setting: key, value (secrets masked), source. A path left unset shows the
    one in use (the data folder, the SQLite file, the queue file, the log file)."""
    s = loaded.settings
    in_use: dict[str, Any] = {
        "data_dir": str(s.resolved_data_dir),
        "database.url": s.database_url,
        "queue.path": str(s.queue_path) if s.queue.backend == "sqlite" else None,
        "logging.file": str(s.log_file),
    }
    rows: list[dict[str, Any]] = []
    for dotted, value in iter_fields(s):
        source = loaded.source_of(dotted)
        shown = masked(value)
        if value is None and in_use.get(dotted) is not None:
            shown, source = in_use[dotted], "default (derived)"
        rows.append({"key": dotted, "value": shown, "source": source})
    return rows
