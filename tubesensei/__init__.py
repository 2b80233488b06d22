"""TubeSensei: turn YouTube channels into a clean, searchable, local transcript corpus."""

__version__ = "0.1.0"
