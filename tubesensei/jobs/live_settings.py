"""The ``[transcripts]`` settings of a running consumer, re-read when a config file changes.

A consumer runs for days; a person who adds a language to ``transcripts.languages`` should not
have to restart it. Each job asks :meth:`LiveTranscriptSettings.current`, which costs one
``stat`` per config file; only when a file's modification time, size or inode changed are
the settings loaded again, with the same precedence as at start (command line > environment
> file > defaults), and only the ``[transcripts]`` section is taken from them: languages,
translation, shorts and finished streams. Every other setting (workers, database, proxies,
rate limits) still needs a restart.

A file that no longer parses or validates keeps the settings in use and logs one warning per
change of the file; the next good save is picked up as usual.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tubesensei.config import ConfigError, LoadedSettings, TranscriptSettings, load_settings
from tubesensei.logging import get_logger

log = get_logger(__name__)

Stamp = tuple[tuple[int, int, int] | None, ...]


def _stamp(files: list[Path]) -> Stamp:
    out: list[tuple[int, int, int] | None] = []
    for path in files:
        try:
            st = path.stat()
        except OSError:
            out.append(None)
        else:
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


class LiveTranscriptSettings:
    """What the transcript tasks read instead of the settings loaded at start."""

    def __init__(self, loaded: LoadedSettings) -> None:
        # Every file that would be read, also one created after the start (a first
        # `tubesensei config set` while the consumer runs).
        self._files = list(loaded.candidates or loaded.config_files)
        self._used = set(loaded.config_files)
        self._environ = dict(loaded.env_values)
        self._overrides = dict(loaded.overrides)
        self._current = loaded.settings.transcripts
        self._seen = _stamp(self._files)
        self._lock = threading.Lock()

    def current(self) -> TranscriptSettings:
        """The transcripts settings as the config files say now (see the module's text)."""
        stamp = _stamp(self._files)
        if stamp == self._seen:
            return self._current
        with self._lock:
            if stamp != self._seen:
                self._seen = stamp
                self._reload()
            return self._current

    def _reload(self) -> None:
        files = [str(p) for p in self._files]
        try:
            present = [p for p in self._files if p.is_file()]
            gone = sorted(str(p) for p in self._used if p not in present)
            if gone:  # a file in use vanished (mid-save, or deleted): not "back to defaults"
                raise ConfigError(f"config file {gone[0]}: not found")
            fresh = load_settings(overrides=self._overrides, environ=self._environ,
                                  files=present).settings.transcripts
        except (ConfigError, OSError, ValueError) as exc:
            log.warning("config file changed but cannot be used: keeping the transcripts "
                        "settings in use until it is fixed", files=files,
                        error=getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}",
                        languages=self._current.languages)
            return
        self._used = set(present)
        if fresh == self._current:
            return
        changed = sorted(k for k in type(fresh).model_fields
                         if getattr(fresh, k) != getattr(self._current, k))
        self._current = fresh
        log.info("transcripts settings reloaded from the config file", files=files,
                 changed=changed, languages=fresh.languages,
                 allow_translation=fresh.allow_translation)
