"""``tubesensei config set|unset``: change one key of a config file in place.

The file keeps its comments and layout (tomlkit); the value is validated against the settings
model before anything is written; the write is atomic (a temporary file renamed over the
file's real path, so a symlinked dotfile stays a symlink) and a file holding a secret is made
readable only by its owner.
"""

from __future__ import annotations

import difflib
import json
import os
import stat
import tempfile
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, SecretStr, ValidationError

from tubesensei.config import (
    ConfigError,
    Settings,
    _annotation,
    _is_structured,
    _nest,
    env_name_for,
    field_docs,
    render_reference_config,
)
from tubesensei.errors import BadInput

SECRET_MODE = 0o600


@dataclass(frozen=True)
class Edit:
    key: str
    path: Path
    shown: str  # the value as it may be printed (secrets masked)
    changed: bool
    secret: bool
    mode: int


def check_key(dotted: str) -> str:
    """The setting's dotted key, or BadInput naming the closest known keys."""
    key = dotted.strip().lower()
    known = list(field_docs())
    if key in known:
        return key
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = (f"; did you mean {' or '.join(close)}?" if close
            else " (tubesensei config show lists them)")
    raise BadInput(f"unknown setting {dotted!r}{hint}")


def is_secret(key: str) -> bool:
    return _mentions(_annotation(key), SecretStr)


def parse_value(key: str, raw: str) -> Any:
    """The text given on the command line as the TOML value to write, validated by the
    settings model (BadInput with the model's reason otherwise). Lists take JSON
    (``["en","de"]``) or commas (``en,de``)."""
    from pydantic import TypeAdapter

    info = _field_info(key)
    value: Any = raw
    if _is_structured(info.annotation):
        try:
            value = json.loads(raw)
        except ValueError:
            value = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        kind = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        validated = TypeAdapter(kind).validate_python(value)
        # The field's own validators (URLs, ...); rules across keys are checked on load.
        Settings.model_validate(_nest({key: value}))
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
            if loc in ("", key) or loc.startswith(key + ".") or key.endswith("." + loc):
                problem = error["msg"].removeprefix("Value error, ")
                raise BadInput(f"{key}: {problem} (got {_shown(key, raw)})") from None
    return _toml_native(validated)


def set_value(path: Path, key: str, value: Any) -> Edit:
    """Write ``key = value`` into the config file at ``path`` (created from the documented
    starter when missing)."""
    import tomlkit

    doc = _read(path)
    *sections, name = key.split(".")
    table: Any = doc
    for section in sections:
        if section not in table:
            table.add(section, tomlkit.table())
        table = table[section]
    before = table.get(name)
    changed = before is None or _plain(before) != value
    table[name] = value
    secret = is_secret(key)
    mode = _write(path, tomlkit.dumps(doc), secret)
    return Edit(key, path, _shown(key, value), changed, secret, mode)


def unset_value(path: Path, key: str) -> Edit:
    """Remove ``key`` from the config file (its default applies again)."""
    import tomlkit

    if not path.exists():
        return Edit(key, path, "", False, False, 0)
    doc = _read(path)
    *sections, name = key.split(".")
    table: Any = doc
    for section in sections:
        if section not in table:
            return Edit(key, path, "", False, False, _mode(path))
        table = table[section]
    if name not in table:
        return Edit(key, path, "", False, False, _mode(path))
    del table[name]
    mode = _write(path, tomlkit.dumps(doc), False)
    return Edit(key, path, "", True, False, mode)


def overridden_by(key: str, environ: Mapping[str, str], local: Path | None) -> list[str]:
    """What would still win over the file just edited: an environment variable, or a
    ./tubesensei.toml read on top of it that sets the same key."""
    from tubesensei.config import _has_path, read_config_file

    names = [env_name_for(key)]
    parts = key.split(".")
    names += [env_name_for(".".join(parts[:i])) for i in range(1, len(parts))]
    found = [f"environment variable {n}" for n in names if n in {k.upper() for k in environ}]
    if local is not None and local.is_file():
        try:
            if _has_path(read_config_file(local), key):
                found.append(f"{local} (read on top of it in this folder)")
        except ConfigError:
            pass
    return found


# -- helpers ------------------------------------------------------------------------------


def _read(path: Path) -> Any:
    import tomlkit
    from tomlkit.exceptions import ParseError

    if path.is_dir():
        raise BadInput(f"config file {path}: is a directory")
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else render_reference_config()
    except UnicodeDecodeError:
        raise BadInput(f"config file {path}: not UTF-8 text") from None
    except OSError as exc:
        raise BadInput(f"config file {path}: cannot be read ({exc.strerror})") from None
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise BadInput(f"config file {path}: invalid TOML: {exc}") from None


def _write(path: Path, text: str, secret: bool) -> int:
    """Replace the file's content atomically; returns its mode (0o600 if it holds a secret
    or is new, otherwise the mode it had)."""
    real = path.resolve()
    mode = SECRET_MODE
    if real.exists():
        mode = stat.S_IMODE(real.stat().st_mode)
        if secret:
            mode = mode & SECRET_MODE
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    except OSError as exc:
        raise BadInput(f"config file {path}: cannot be written ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise BadInput(f"config file {path}: cannot be written ({exc.strerror})") from None
    return mode


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _field_info(key: str) -> Any:
    *sections, name = key.split(".")
    model: Any = Settings
    for section in sections:
        model = model.model_fields[section].annotation
    return model.model_fields[name]


def _toml_native(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_toml_native(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def _plain(item: Any) -> Any:
    unwrap = getattr(item, "unwrap", None)
    return unwrap() if unwrap is not None else item


def _shown(key: str, value: Any) -> str:
    if is_secret(key):
        return "********"
    return json.dumps(value)


def _mentions(annotation: Any, target: type) -> bool:
    if annotation is target:
        return True
    return any(_mentions(arg, target) for arg in typing.get_args(annotation))
