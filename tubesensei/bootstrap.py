"""First-run set-up (``tubesensei init``) and the configuration report (``config show``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tubesensei.app import Runtime
from tubesensei.config import (
    ENV_CONFIG,
    LoadedSettings,
    default_config_file,
    iter_fields,
    load_settings,
    masked,
    render_reference_config,
)


@dataclass(frozen=True)
class InitReport:
    data_dir: Path
    config_file: Path
    config_created: bool
    database: str
    revision: str


def _starter_config_target(explicit: Path | None) -> Path:
    import os

    if explicit is not None:
        return explicit
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser()
    return default_config_file()


def initialise(config_file: Path | None, overrides: dict[str, Any]) -> InitReport:
    """Create what is missing: data folder, starter config, database at head. Idempotent."""
    target = _starter_config_target(config_file)
    # Validate settings first, so bad input creates nothing.
    loaded = load_settings(config_file if target.exists() else None, overrides)
    if config_file is None and not target.exists() and loaded.config_file is not None:
        target = loaded.config_file  # e.g. ./tubesensei.toml is in use: don't add another
    runtime = Runtime(loaded)
    data_dir = runtime.prepare_data_dir()
    created = False
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x" mode: never overwrite, even if another process created it meanwhile.
        try:
            with target.open("x", encoding="utf-8") as fh:
                fh.write(render_reference_config())
            created = True
        except FileExistsError:
            pass
    runtime.setup_logging()
    state = runtime.ensure_schema()
    return InitReport(
        data_dir=data_dir,
        config_file=target,
        config_created=created,
        database=_display_url(runtime.settings.database_url),
        revision=state.current or "",
    )


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return str(u.database)
    return u.render_as_string(hide_password=True)


def describe_config(loaded: LoadedSettings) -> list[dict[str, Any]]:
    """One row per setting: key, value (secrets masked), source."""
    rows: list[dict[str, Any]] = []
    for dotted, value in iter_fields(loaded.settings):
        rows.append({"key": dotted, "value": masked(value), "source": loaded.source_of(dotted)})
    return rows
