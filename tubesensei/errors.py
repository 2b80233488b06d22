"""One taxonomy of application errors, each carrying the exit code it maps to.

The click group maps these once (cli.py): the message is one line on stderr and the process
exits with ``exit_code``. Anything that is not a :class:`TubeSenseiError` is a bug: its
traceback goes to the log file and stderr gets one line naming the log.

- :class:`BadInput` (exit 2): the user's input cannot work — a bad setting, reference,
  query or option combination. Nothing was written.
- :class:`NotFound` (exit 1): the input was well formed but names nothing stored.
- :class:`Failure` (exit 1): the work could not be done (the schema is too old, no live
  consumer serves a queue).
- YouTube's answers (youtube/errors.py) are :class:`TubeSenseiError` too (exit 1).
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class TubeSenseiError(Exception):
    """Base of every error the product expects; ``str()`` is one human line."""

    exit_code: int = EXIT_FAILURE
    #: Printed before the message on stderr.
    prefix: str = "Error: "

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def user_message(self) -> str:
        """The one line a person reads (never containing secrets)."""
        return self.message


class BadInput(TubeSenseiError):
    """Input that cannot work, found before anything was written: exit 2."""

    exit_code = EXIT_BAD_INPUT


class NotFound(TubeSenseiError):
    """Well-formed input naming nothing stored (a job, a session, a channel, a video)."""


class Failure(TubeSenseiError):
    """The command could not do its work: exit 1."""


class Interrupted(TubeSenseiError):
    """Stopped by Ctrl-C / SIGTERM after cleaning up: the message alone, exit 130."""

    exit_code = EXIT_INTERRUPTED
    prefix = ""
