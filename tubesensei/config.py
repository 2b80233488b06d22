"""Configuration: defaults < tubesensei.toml(s) < environment (TUBESENSEI_*) < command line.

Every field has a default and a one-line docstring; the repository's ``tubesensei.toml`` and
``docs/configuration.md`` document the same keys (tests keep them in step).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tubesensei.errors import BadInput

APP_NAME = "tubesensei"
ENV_PREFIX = "TUBESENSEI_"
ENV_CONFIG = "TUBESENSEI_CONFIG"
ENV_DEBUG = "TUBESENSEI_DEBUG"
CONFIG_FILENAME = "tubesensei.toml"


class Section(BaseModel):
    # The attribute docstrings are read by field_docs() when wanted, and validators built
    # on first use: both cost every command's start-up (~25 ms) at import otherwise.
    model_config = ConfigDict(extra="forbid", validate_default=True, defer_build=True)


class DatabaseSettings(Section):
    url: SecretStr | None = None
    """Unset = SQLite file tubesensei.db in the data folder; or postgresql+psycopg://user@host/db."""
    busy_timeout_ms: int = Field(30_000, ge=0)
    """How long a writer waits for the SQLite write lock before giving up."""
    echo: bool = False
    """Log every SQL statement (debugging only)."""

    @field_validator("url")
    @classmethod
    def _supported_database(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_database_url(value.get_secret_value())
        return value


class QueueSettings(Section):
    backend: Literal["sqlite", "redis"] = "sqlite"
    """Huey storage: sqlite (a file in the data folder) or redis (consumers on several machines)."""
    path: Path | None = None
    """SQLite queue file; unset = queue.db in the data folder."""
    url: SecretStr | None = None
    """Redis URL when backend is redis, e.g. redis://host:6379/0 (needs tubesensei[server])."""
    prefix: str = Field("tubesensei", pattern=r"^[A-Za-z0-9_]{1,40}$")
    """Names this deployment's queues and wake-up channel in Redis (letters, digits, _)."""
    poll_interval_seconds: float = Field(1.0, gt=0, le=60)
    """Fallback polling interval of idle workers (wake-ups are pushed; this is the safety net)."""

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_redis_url(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _url_for_redis(self) -> QueueSettings:
        if self.backend == "redis" and self.url is None:
            raise ValueError('queue.url is required when queue.backend is "redis" '
                             "(e.g. redis://host:6379/0)")
        return self


class YouTubeSettings(Section):
    api_key: SecretStr | None = None
    """YouTube Data API v3 key (console.cloud.google.com). Never logged or stored."""
    api_endpoint: str | None = None
    """Data API root; unset = Google's (https://youtube.googleapis.com). Used for simulators."""
    web_base_url: str | None = None
    """Where requests meant for https://www.youtube.com go; unset = YouTube itself."""
    timeout_seconds: float = Field(30.0, gt=0)
    """Read timeout of every HTTP call to YouTube."""
    connect_timeout_seconds: float = Field(10.0, gt=0)
    """Connect timeout of every HTTP call to YouTube."""
    quota_units_per_day: int = Field(10_000, ge=1)
    """Daily Data API quota of the key's project (shown as units left)."""
    search_cost: int = Field(100, ge=0)
    """Quota units a search.list call costs (only /c/ custom URLs need search)."""
    list_cost: int = Field(1, ge=0)
    """Quota units a channels/playlistItems/videos list call costs."""
    proxy_http_url: SecretStr | None = None
    """Generic HTTP proxy for transcript requests (http://user:pass@host:port)."""
    proxy_https_url: SecretStr | None = None
    """Generic HTTPS proxy for transcript requests."""
    webshare_username: SecretStr | None = None
    """Webshare rotating residential proxy username (instead of a generic proxy)."""
    webshare_password: SecretStr | None = None
    """Webshare rotating residential proxy password."""
    webshare_locations: list[str] = Field(default_factory=list)
    """Webshare exit countries, e.g. ["de", "us"]; empty = any."""

    @field_validator("api_endpoint", "web_base_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_url(value, ("http", "https"))
        return value

    @field_validator("proxy_http_url", "proxy_https_url")
    @classmethod
    def _proxy_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            check_url(value.get_secret_value(), ("http", "https", "socks5", "socks5h"))
        return value


class TranscriptSettings(Section):
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    """Transcript languages in order of preference: the first one with any track wins."""
    allow_translation: bool = False
    """Translate into the first preferred language when only another language exists."""
    include_shorts: bool = True
    """Fetch transcripts for shorts."""
    include_finished_streams: bool = True
    """Fetch transcripts for finished live streams."""


class DiscoverySettings(Section):
    recheck_known: int = Field(50, ge=0)
    """Already-known videos a rescan still looks at before stopping (finds late-public ones)."""
    full_reconcile_days: int = Field(7, ge=0)
    """A rescan becomes a full scan when the last one is older than this (0 = never)."""


class LimitSettings(Section):
    max_attempts: int = Field(5, ge=1)
    """Attempts a job gets for transient errors before it fails."""
    retry_base_seconds: float = Field(30.0, ge=0)
    """First retry delay; doubles each attempt (with jitter)."""
    retry_max_seconds: float = Field(3600.0, ge=0)
    """Cap of the retry delay."""
    retry_jitter: float = Field(0.25, ge=0, le=1)
    """Random +/- fraction applied to each retry delay."""
    transcripts_per_minute: float = Field(30.0, ge=0)
    """Transcript fetches per minute across all workers and processes (0 = no limit)."""
    blocked_cooldown_seconds: float = Field(300.0, ge=0)
    """First pause of the transcripts queue when YouTube blocks us; doubles each time."""
    blocked_cooldown_max_seconds: float = Field(7200.0, ge=0)
    """Longest pause of the transcripts queue when blocked."""
    soft_time_limit_seconds: float = Field(1500.0, gt=0)
    """A discovery/batch job running this long is asked to stop at its next checkpoint."""
    hard_time_limit_seconds: float = Field(1800.0, gt=0)
    """A discovery/batch job running this long is failed with a timeout (late result ignored)."""
    transcript_soft_time_limit_seconds: float = Field(120.0, gt=0)
    """Soft time limit of one transcript job (fetch + store)."""
    transcript_hard_time_limit_seconds: float = Field(180.0, gt=0)
    """Hard time limit of one transcript job."""
    shutdown_grace_seconds: float = Field(30.0, ge=0)
    """How long running jobs may take to finish when run-consumer is asked to stop."""
    max_concurrent_jobs: int = Field(10, ge=1)
    """Most jobs one consumer runs at once, across its queues."""
    max_videos_per_batch: int = Field(50, ge=1)
    """Videos per batch task when a session is split."""
    worker_concurrency: int = Field(4, ge=1)
    """Default worker threads of run-consumer (--workers)."""
    heartbeat_seconds: float = Field(5.0, gt=0)
    """How often a consumer heartbeats its running jobs."""
    stale_after_seconds: float = Field(60.0, gt=0)
    """A running job whose heartbeat is older than this is put back by the reaper."""


class ScheduleSettings(Section):
    rescan: str = "0 */6 * * *"
    """Cron expression: incremental rescan of active channels (not paused or error ones)."""
    reconcile: str = "0 3 * * 0"
    """Cron expression: full reconcile of active channels."""
    prune: str = "30 4 * * *"
    """Cron expression: delete finished jobs and queue results past the retention."""
    sync: str = "15 2 * * *"
    """Cron expression: refresh channel metadata (all but paused; gone ones marked error)."""
    retention_days: int = Field(30, ge=1)
    """Days finished jobs are kept."""

    @field_validator("rescan", "reconcile", "prune", "sync")
    @classmethod
    def _cron(cls, value: str) -> str:
        check_cron(value)
        return " ".join(value.split())


# The five fields of a cron expression as Huey's crontab reads them (strict).
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12),
                ("weekday", 0, 7))


def check_cron(expr: str) -> None:
    """ValueError naming the field unless ``expr`` is a 5-field cron expression Huey accepts:
    ``*``, ``N``, ``A-B``, ``A-B/S``, ``*/S`` (not on weekdays) and comma lists of those."""
    import re

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"{expr!r} is not a cron expression: it needs 5 fields (minute hour "
                         f"day month weekday), got {len(fields)}")
    for text, (name, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        for piece in text.split(","):
            numbers: list[str] = []
            if piece == "*":
                continue
            if m := re.fullmatch(r"(\d+)(?:-(\d+)(?:/(\d+))?)?", piece):
                numbers = [n for n in m.groups()[:2] if n is not None]
                step = m.group(3)
            elif (m := re.fullmatch(r"\*/(\d+)", piece)) and name != "weekday":
                step = m.group(1)
            else:
                raise ValueError(f"{expr!r}: {name} field {text!r} is not valid cron "
                                 "(*, N, A-B, A-B/S, */S or lists of them)")
            if step is not None and int(step) < 1:
                raise ValueError(f"{expr!r}: {name} step must be at least 1")
            for n in numbers:
                if not low <= int(n) <= high:
                    raise ValueError(f"{expr!r}: {name} {n} is out of range {low}-{high}")


class MetricsSettings(Section):
    enabled: bool = True
    """Serve Prometheus metrics from run-consumer."""
    host: str = "127.0.0.1"
    """Address the metrics endpoint listens on."""
    port: int = Field(9464, ge=0, le=65535)
    """Port of the metrics endpoint (0 = pick a free one)."""


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level written."""
    format: Literal["auto", "json", "console"] = "auto"
    """json lines, a readable console, or auto (console on a TTY, json otherwise)."""
    file: Path | None = None
    """Log file of CLI commands; unset = logs/tubesensei.log in the data folder."""


class Settings(BaseSettings):
    """The whole configuration. Build it with :func:`load_settings`, which layers the
    defaults, the config files, the environment (``TUBESENSEI_<SECTION>__<KEY>``) and the
    command line itself, and hands the result to pydantic-settings as its only source (the
    env contract is declared here; a command's threads never see os.environ read behind
    their back). Importing pydantic-settings costs a reading command ~60 ms; --version and
    --help never import this module."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
        case_sensitive=False,
        defer_build=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    data_dir: Path | None = None
    """Folder holding the database, the queue and logs; unset = the platform's user data folder."""
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    youtube: YouTubeSettings = Field(default_factory=YouTubeSettings)
    transcripts: TranscriptSettings = Field(default_factory=TranscriptSettings)
    discovery: DiscoverySettings = Field(default_factory=DiscoverySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    # Every value arrives as an argument (see load_settings, which reads the file and the
    # environment it is given): building Settings never reads os.environ behind our back.

    # -- derived paths -------------------------------------------------------------------
    @property
    def resolved_data_dir(self) -> Path:
        return (self.data_dir or Path(platformdirs.user_data_dir(APP_NAME))).expanduser()

    @property
    def database_url(self) -> str:
        if self.database.url is not None:
            return self.database.url.get_secret_value()
        return f"sqlite:///{self.resolved_data_dir / 'tubesensei.db'}"

    @property
    def queue_path(self) -> Path:
        return (self.queue.path or self.resolved_data_dir / "queue.db").expanduser()

    @property
    def log_file(self) -> Path:
        default = self.resolved_data_dir / "logs" / "tubesensei.log"
        return (self.logging.file or default).expanduser()

    def secret_values(self) -> list[str]:
        """Every secret's value (and its credential parts), for log redaction."""
        values: list[str] = []
        for _path, value in iter_fields(self):
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                if raw:
                    values.append(raw)
                    values.extend(_url_credentials(raw))
        return [v for v in values if len(v) >= 4]


class ConfigError(BadInput):
    """Bad configuration: the message is one line naming the file/variable, key and problem."""


def masked_url(url: str) -> str:
    """The URL with its password (if any) replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "(not a URL)"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_database_url(url: str) -> None:
    """ValueError (a one-line reason, password masked) unless TubeSensei can use ``url``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    shown = masked_url(url)
    try:
        u = make_url(url)
    except ArgumentError:
        raise ValueError(f"{shown!r} is not a database URL (SQLite, or PostgreSQL as "
                         "postgresql+psycopg://user@host/dbname)") from None
    backend, driver = u.get_backend_name(), u.drivername.partition("+")[2]
    if backend == "sqlite" and driver in ("", "pysqlite", "aiosqlite"):
        return
    if backend == "postgresql" and driver in ("", "psycopg", "asyncpg"):
        if not u.database:
            raise ValueError(f"{shown}: names no database (postgresql+psycopg://user@host/dbname)")
        return
    raise ValueError(f"{shown}: {u.drivername} is not supported (SQLite, or PostgreSQL as "
                     "postgresql+psycopg://user@host/dbname)")


def check_url(url: str, schemes: tuple[str, ...]) -> None:
    """ValueError (password masked) unless ``url`` is an absolute URL with a host and one of
    ``schemes``."""
    from urllib.parse import urlsplit

    shown = masked_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"{shown!r} is not a URL") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{shown!r} is not a URL of the form "
                         f"{'|'.join(schemes)}://host[:port]")
    del port


def check_redis_url(url: str) -> None:
    from urllib.parse import urlsplit

    shown = masked_url(url)
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"{shown}: not a Redis URL (redis://host:6379/0)")


@dataclass
class LoadedSettings:
    """Settings plus where they came from (for ``config show``)."""

    settings: Settings
    config_files: list[Path] = field(default_factory=list)
    candidates: list[Path] = field(default_factory=list)  # read once they exist
    file_layers: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    env_values: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def config_file(self) -> Path | None:
        """The most specific file read (the one whose keys win), if any."""
        return self.config_files[-1] if self.config_files else None

    def source_of(self, dotted: str) -> str:
        if _has_path(self.overrides, dotted):
            return "command line"
        env_name = env_name_for(dotted)
        if env_name in self.env_values:
            return f"env {env_name}"
        for path, values in reversed(self.file_layers):
            if _has_path(values, dotted):
                return str(path)
        return "default"


def env_name_for(dotted: str) -> str:
    return ENV_PREFIX + "__".join(part.upper() for part in dotted.split("."))


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILENAME


def config_candidates(explicit: Path | None, environ: Mapping[str, str]) -> list[Path]:
    """The config files that are read when they exist, the later winning: --config PATH
    alone, else $TUBESENSEI_CONFIG alone, else the user config file and then
    ./tubesensei.toml (a folder's own settings win over the user's, as git's local config
    does over the global one)."""
    named = explicit_config_file(explicit, environ)
    if named is not None:
        return [named]
    return [default_config_file(), local_config_file()]


def discover_config_files(explicit: Path | None, environ: Mapping[str, str]) -> list[Path]:
    """The config files to read (a named one must exist: read_config_file says so)."""
    if explicit_config_file(explicit, environ) is not None:
        return config_candidates(explicit, environ)
    return [path for path in config_candidates(explicit, environ) if path.is_file()]


def local_config_file() -> Path:
    """``./tubesensei.toml``: read on top of the user config when it exists."""
    return Path.cwd() / CONFIG_FILENAME


def explicit_config_file(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The file named by --config or $TUBESENSEI_CONFIG, if either is given."""
    if explicit is not None:
        return explicit
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG]).expanduser()
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path}: is a directory") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: invalid TOML: {exc}") from None


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    files: list[Path] | None = None,
) -> LoadedSettings:
    """Build the effective settings from the config files, ``environ`` (default: this process's
    environment, read once here) and ``overrides`` (dotted keys from the command line).
    ``files`` replaces the discovery of config files (``tubesensei init`` validates before the
    file it will create exists).

    Pure: the result depends on the arguments and the file alone, so threads and tests can
    load settings side by side. Raises :class:`ConfigError` with a one-line message.
    """
    env = dict(os.environ if environ is None else environ)
    paths = discover_config_files(config_file, env) if files is None else list(files)
    layers = [(path, read_config_file(path)) for path in paths]
    file_values: dict[str, Any] = {}
    for _path, values in layers:
        file_values = _deep_merge(file_values, values)
    env_values = {k.upper(): v for k, v in env.items() if k.upper().startswith(ENV_PREFIX)}
    env_values.pop(ENV_CONFIG, None)
    env_values.pop(ENV_DEBUG, None)
    init = _nest(dict(overrides or {}))
    _check_env_names(env_values)
    # Precedence: command line > environment > file > defaults.
    merged = _deep_merge(_deep_merge(file_values, _env_tree(env_values)), init)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, layers, env_values, init)) from None
    candidates = config_candidates(config_file, env) if files is None else list(files)
    return LoadedSettings(settings, paths, candidates, layers, env_values, init)


def iter_fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted.key, value) for every leaf field of the settings tree."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        dotted = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            yield from iter_fields(value, dotted + ".")
        else:
            yield dotted, value


def field_docs(model_cls: type[BaseModel] = Settings, prefix: str = "") -> dict[str, str]:
    """dotted.key -> one-line description (from the attribute docstrings)."""
    docs: dict[str, str] = {}
    for name, info in model_cls.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            docs.update(field_docs(annotation, f"{prefix}{name}."))
        else:
            doc = info.description or next(
                (d[name] for c in model_cls.__mro__
                 if name in (d := _attribute_docstrings().get(c.__name__, {}))), "")
            docs[f"{prefix}{name}"] = doc.strip()
    return docs


def setting_keys(model_cls: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    """Every setting's dotted key (field_docs' keys, without reading the docstrings)."""
    keys: list[str] = []
    for name, info in model_cls.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(setting_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


@cache
def _attribute_docstrings() -> dict[str, dict[str, str]]:
    """Class name -> {field: the string literal under it}, read from this module's source
    (what pydantic's use_attribute_docstrings reads, but only when docs are wanted)."""
    import ast
    import inspect

    try:
        tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    except OSError:  # no source installed: no descriptions
        return {}
    found: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        docs = found.setdefault(node.name, {})
        for attr, doc in zip(node.body, node.body[1:], strict=False):
            if (isinstance(attr, ast.AnnAssign) and isinstance(attr.target, ast.Name)
                    and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
                    and isinstance(doc.value.value, str)):
                docs[attr.target.id] = inspect.cleandoc(doc.value.value)
    return found


def masked(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if isinstance(value, Path):
        return str(value)
    return value


# -- helpers ------------------------------------------------------------------------------


def _url_credentials(value: str) -> list[str]:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        return []
    return [p for p in (parts.username, parts.password) if p]


def _has_path(tree: Mapping[str, Any], dotted: str) -> bool:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        parts = key.split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return nested


def _known_env_names() -> set[str]:
    names = {env_name_for(dotted) for dotted in setting_keys()}
    names.update(ENV_PREFIX + section.upper() for section in Settings.model_fields)
    return names


def _check_env_names(env_values: Mapping[str, str]) -> None:
    known = _known_env_names()
    for name in sorted(env_values):
        if name not in known:
            raise ConfigError(f"environment variable {name}: unknown setting")


def _annotation(dotted: str) -> Any:
    """The type annotation of a setting (or a section), by its dotted key."""
    model: Any = Settings
    annotation: Any = None
    for part in dotted.split("."):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        info = model.model_fields.get(part)
        if info is None:
            return None
        annotation = model = info.annotation
    return annotation


def _is_structured(annotation: Any) -> bool:
    """Whether an environment value for this type is JSON (lists, tables, whole sections)."""
    import types
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin = typing.get_origin(annotation)
    if origin in (list, dict, tuple, set):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_structured(a) for a in typing.get_args(annotation) if a is not type(None))
    return False


def _env_tree(env_values: Mapping[str, str]) -> dict[str, Any]:
    """TUBESENSEI_SECTION__KEY=value as {"section": {"key": value}}; lists and tables (and a
    whole section) are JSON, everything else is text for the model to validate."""
    import json

    tree: dict[str, Any] = {}
    for name in sorted(env_values, key=len):  # a whole section first, its keys on top
        dotted = ".".join(part.lower() for part in name[len(ENV_PREFIX):].split("__"))
        value: Any = env_values[name]
        if _is_structured(_annotation(dotted)):
            try:
                value = json.loads(value)
            except ValueError as exc:
                msg = getattr(exc, "msg", str(exc))
                raise ConfigError(f"environment variable {name}: not valid JSON ({msg})") from None
        tree = _deep_merge(tree, _nest({dotted: value}))
    return tree


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``; tables merge key by key."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _describe_validation_error(
    exc: ValidationError, layers: list[tuple[Path, dict[str, Any]]],
    env_values: Mapping[str, str], init: Mapping
) -> str:
    problems = describe_validation_errors(exc, layers, env_values, init)
    more = len(problems) - 1
    return problems[0] + (f" (and {more} more: `tubesensei config check` lists them)"
                          if more else "")


def describe_validation_errors(
    exc: ValidationError, layers: list[tuple[Path, dict[str, Any]]],
    env_values: Mapping[str, str], init: Mapping
) -> list[str]:
    """One line per problem: where it came from (command line, environment variable, which
    config file), the key and what is wrong."""
    problems: list[str] = []
    for error in exc.errors():
        dotted = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        problem = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            problem = "unknown key"
        if error["type"] == "value_error" and dotted in Settings.model_fields:
            problems.append(problem)  # a rule across a section's keys: the message names them
            continue
        if _has_path(init, dotted):
            where = "command line"
        elif env_name_for(dotted) in env_values or _env_parent(dotted, env_values):
            name = _env_parent(dotted, env_values) or env_name_for(dotted)
            where = f"environment variable {name}"
        elif layers:
            path = next((p for p, values in reversed(layers) if _has_path(values, dotted)),
                        layers[-1][0])
            where = f"config file {path}"
        else:
            where = "settings"
        problems.append(f"{where}: {dotted}: {problem}")
    return problems


def check_configuration(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[LoadedSettings | None, list[str]]:
    """Everything wrong with the configuration at once (``tubesensei config check``): every
    unreadable file, unknown environment variable and invalid value, not just the first."""
    env = dict(os.environ if environ is None else environ)
    problems: list[str] = []
    layers: list[tuple[Path, dict[str, Any]]] = []
    for path in discover_config_files(config_file, env):
        try:
            layers.append((path, read_config_file(path)))
        except ConfigError as exc:
            problems.append(str(exc))
    env_values = {k.upper(): v for k, v in env.items() if k.upper().startswith(ENV_PREFIX)}
    env_values.pop(ENV_CONFIG, None)
    env_values.pop(ENV_DEBUG, None)
    known = _known_env_names()
    for name in sorted(env_values):
        if name not in known:
            problems.append(f"environment variable {name}: unknown setting")
            env_values.pop(name)
    try:
        env_tree = _env_tree(env_values)
    except ConfigError as exc:
        return None, [*problems, str(exc)]
    init = _nest(dict(overrides or {}))
    merged: dict[str, Any] = {}
    for _path, values in layers:
        merged = _deep_merge(merged, values)
    merged = _deep_merge(_deep_merge(merged, env_tree), init)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        return None, [*problems, *describe_validation_errors(exc, layers, env_values, init)]
    if problems:
        return None, problems
    return LoadedSettings(settings, [p for p, _ in layers], config_candidates(config_file, env),
                          layers, env_values, init), []


def _env_parent(dotted: str, env_values: Mapping[str, str]) -> str | None:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        name = env_name_for(".".join(parts[:i]))
        if name in env_values:
            return name
    return None


# -- the reference file -------------------------------------------------------------------

_HEADER = """\
# TubeSensei configuration.
#
# Read from --config PATH, else $TUBESENSEI_CONFIG, else the user config folder with a
# ./tubesensei.toml in the current folder on top (`tubesensei config show` prints the files
# and where each value came from). Precedence: command-line arguments > environment > this
# file > defaults. `tubesensei config set KEY VALUE` changes a key and keeps these comments.
# Every key can also be set in the environment as TUBESENSEI_<SECTION>__<KEY>, for example
# TUBESENSEI_YOUTUBE__API_KEY or TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE; lists as JSON.
#
# Every key is listed with its default, commented out: uncomment what you change.
"""


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def render_reference_config() -> str:
    """The documented starter config: every key, its default and a one-line comment."""
    defaults = Settings.model_construct()
    docs = field_docs()
    lines = [_HEADER]
    current_section = ""
    for dotted, doc in docs.items():
        section, _, key = dotted.rpartition(".")
        if section != current_section:
            lines.append(f"\n[{section}]")
            current_section = section
        node: Any = defaults
        for part in dotted.split("."):
            node = getattr(node, part)
        lines.extend(f"# {line.strip()}" for line in doc.splitlines())
        lines.append(f"#   env: {env_name_for(dotted)}")
        if node is None:
            lines.append(f'# {key} = ""   # unset by default')
        else:
            lines.append(f"# {key} = {_toml_value(node)}")
    return "\n".join(lines) + "\n"
