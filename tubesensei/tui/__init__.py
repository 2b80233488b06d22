"""The terminal UI (Textual): ``tubesensei tui``. Only the ``tui`` command imports it."""
