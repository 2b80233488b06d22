"""The runtime every command starts from: settings, logging, the data folder, the database.

The database layer (SQLAlchemy) is imported when a command first opens the database: `config
show`, `config path` and the like never pay for it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tubesensei.config import ConfigError, LoadedSettings, Settings, load_settings
from tubesensei.logging import configure_logging

if TYPE_CHECKING:
    from tubesensei.db.engine import Database
    from tubesensei.db.schema import SchemaState
    from tubesensei.jobs.system import JobSystem
    from tubesensei.pipeline.context import Pipeline


READ_ONLY_HINT = "commands that only read still work: lists, show, search, export, stats"


def check_data_dir(path: Path, *, create: bool = True) -> Path:
    """Make sure the data folder exists and is writable; ConfigError (one line) if not."""
    path = path.expanduser()
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        elif not path.is_dir():
            raise ConfigError(f"data folder {path}: does not exist (run `tubesensei init`)")
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except ConfigError:
        raise
    except FileExistsError:
        raise ConfigError(f"data folder {path}: is a file, not a folder (key data_dir)") from None
    except NotADirectoryError:
        raise ConfigError(f"data folder {path}: a parent is not a folder (key data_dir)") from None
    except PermissionError:
        raise ConfigError(f"data folder {path}: not writable, and this command writes there "
                          f"({READ_ONLY_HINT}) (key data_dir)") from None
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise ConfigError(f"data folder {path}: on a read-only file system, and this "
                              f"command writes there ({READ_ONLY_HINT}) (key data_dir)") from None
        raise ConfigError(f"data folder {path}: {exc.strerror} (key data_dir)") from None
    return path


@dataclass
class Runtime:
    """Loaded settings plus the process's resources, opened once when first needed: the
    database (its schema checked once), the job system. ``close()`` releases them."""

    loaded: LoadedSettings
    _db: Database | None = field(default=None, repr=False)
    _jobs: JobSystem | None = field(default=None, repr=False)
    _pipeline: Pipeline | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @classmethod
    def load(
        cls, config_file: Path | None = None, overrides: dict[str, Any] | None = None
    ) -> Runtime:
        return cls(load_settings(config_file, overrides))

    def setup_logging(self, *, to_stderr: bool = False, stream: TextIO | None = None,
                      optional: bool = False) -> None:
        """Log to the log file (or to stderr for run-consumer). A command that writes nothing
        passes ``optional``: it runs without a log file when the data folder cannot hold one."""
        s = self.settings
        secrets = s.secret_values()
        if to_stderr:
            configure_logging(
                level=s.logging.level, fmt=s.logging.format, stream=stream, secrets=secrets
            )
        else:
            try:
                configure_logging(
                    level=s.logging.level, fmt="json", file=s.log_file, secrets=secrets
                )
            except OSError as exc:
                if optional:
                    # No log file here: lines go nowhere (not kept in memory, not on the
                    # terminal, where a command's output belongs).
                    configure_logging(level=s.logging.level, fmt="json",
                                      stream=open(os.devnull, "w"),  # noqa: SIM115
                                      secrets=secrets)
                    return
                # Say what is wrong with the folder (a file in the way, not writable...).
                if s.logging.file is None:
                    check_data_dir(s.resolved_data_dir)
                raise ConfigError(f"log file {s.log_file}: cannot be written ({exc.strerror}) "
                                  "(key logging.file)") from None

    def prepare_data_dir(self) -> Path:
        return check_data_dir(self.settings.resolved_data_dir)

    def ensure_schema(self) -> SchemaState:
        """Create a brand-new database at head; refuse one whose schema does not fit."""
        from tubesensei.db.engine import is_sqlite
        from tubesensei.db.schema import ensure_schema

        if is_sqlite(self.settings.database_url):
            self.prepare_data_dir()
        return ensure_schema(self.settings.database_url, self.settings.database.busy_timeout_ms)

    def database(self, *, read_only: bool = False) -> Database:
        """The process's one Database, at the current schema (checked once). A command that
        only reads passes ``read_only``: where the data folder cannot be written (a
        read-only mount, a backup) it still reads the SQLite file, opened read-only."""
        if self._db is None:
            from tubesensei.db.engine import Database, is_sqlite

            if read_only and is_sqlite(self.settings.database_url) and not self._writable():
                self._db = self._read_only_database()
            else:
                self.ensure_schema()
                self._db = Database.from_settings(self.settings, reader=read_only)
        return self._db

    def _writable(self) -> bool:
        folder = self.settings.resolved_data_dir
        db_file = folder / "tubesensei.db"
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"data folder {folder}: is a file, not a folder (key data_dir)")
        if not folder.is_dir():
            return True  # to be created (check_data_dir says why if it cannot be)
        return os.access(folder, os.W_OK) and (not db_file.exists()
                                                or os.access(db_file, os.W_OK))

    def _read_only_database(self) -> Database:
        from tubesensei.db.engine import Database, read_only_sqlite_url
        from tubesensei.db.schema import schema_state

        folder = self.settings.resolved_data_dir
        if not (folder / "tubesensei.db").is_file():
            raise ConfigError(f"data folder {folder}: no database, and the folder is "
                              "read-only so none can be created (key data_dir)")
        state = schema_state(read_only_sqlite_url(self.settings.database_url),
                             self.settings.database.busy_timeout_ms)
        if not state.up_to_date:
            raise ConfigError(f"data folder {folder} is read-only and its database (schema "
                              f"{state.current}) needs an upgrade to {state.head}; upgrade "
                              "it where it can be written")
        return Database.from_settings(self.settings, read_only=True, reader=True)

    def jobs(self) -> JobSystem:
        """The job system over this process's database."""
        if self._jobs is None:
            from tubesensei.jobs.live_settings import LiveTranscriptSettings
            from tubesensei.jobs.system import JobSystem

            self._jobs = JobSystem(self.settings, self.database())
            self._jobs.queues.check_reachable(self.settings)
            # A long-running consumer follows edits of the config file's [transcripts].
            self._jobs.transcript_settings = LiveTranscriptSettings(self.loaded).current
        return self._jobs

    def pipeline(self) -> Pipeline:
        """YouTube clients over this process's database, for a command's own thread (the
        consumer's workers each make their own)."""
        if self._pipeline is None:
            from tubesensei.pipeline.context import Pipeline

            self._pipeline = Pipeline(self.settings, self.database())
        return self._pipeline

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None
        if self._jobs is not None:
            self._jobs.close()
            self._jobs = None
        if self._db is not None:
            self._db.dispose()
            self._db = None
