"""docs/configuration.md, generated from the settings model (like tubesensei.toml).

    python -m tubesensei.config_docs            # print it
    python -m tubesensei.config_docs docs/configuration.md   # write it (make config-reference)

A test checks the committed file equals this output, so the page cannot drift from the code.
"""

from __future__ import annotations

import json
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

from tubesensei.config import Settings, env_name_for, field_docs

_HEADER = """\
# Configuration

<!-- Generated from the settings model by `make config-reference`
     (python -m tubesensei.config_docs docs/configuration.md). Do not edit by hand. -->

Every setting has a default; most people only set the API key. Values come from, highest
first:

1. command-line options (`--data-dir`, `run-consumer --workers`, …);
2. environment variables `TUBESENSEI_<SECTION>__<KEY>` (lists as JSON, e.g.
   `TUBESENSEI_TRANSCRIPTS__LANGUAGES='["en","de"]'`);
3. the config file `tubesensei.toml`: `--config PATH`, else `$TUBESENSEI_CONFIG`, else the
   one in the user config folder (`~/.config/tubesensei/tubesensei.toml` on Linux;
   `tubesensei init` writes it with every key commented out, readable only by you) with a
   `./tubesensei.toml` in the current folder read on top of it (its keys win there);
4. the defaults below.

Change a key with `tubesensei config set KEY VALUE` (`-` as VALUE reads it from a hidden
prompt or stdin, for secrets) and remove it with `tubesensei config unset KEY`: both edit your
config file in place, keep its comments, check the value first, and make a file holding a
secret readable only by you. `tubesensei config check` lists every problem of the files, the
environment and the command line at once; every command refuses an invalid setting (a cron
expression, a URL, a range) when it starts, never later in the middle of a run.

`tubesensei config show` prints every value and where it came from. Secrets (the API key,
proxy credentials, URLs that may hold passwords) are masked there and in every log line, and
are never stored in the database or in job arguments. An unknown key or environment variable
is an error naming it, so a typo never goes unnoticed.
"""

# What a reader needs to know about a section before its keys.
_SECTION_INTROS: dict[str, str] = {
    "": "Where TubeSensei keeps its files. The data folder holds `tubesensei.db` (the corpus "
        "and the job ledger), `queue.db` (the job queue), `logs/` and `run/` (wake-up ports "
        "of running consumers).",
    "database": "The corpus and the job ledger. SQLite in the data folder by default (WAL "
                "mode, writers take the lock up front); a PostgreSQL URL "
                "(`postgresql+psycopg://user:pass@host/db`) when one machine is not enough.",
    "queue": "The Huey job queue that carries job ids between processes. The ledger in the "
             "database is the truth; the queue only says what to run next.",
    "youtube": "How TubeSensei reaches YouTube: the Data API v3 (needs a key, costs quota "
               "units) for channels and video details, and the web endpoints (no key, no "
               "quota, but rate limited and sometimes blocked by IP) for transcripts.",
    "transcripts": "Which transcripts to fetch. The languages are the order of preference; "
                   "within one language a manual transcript is preferred to a generated one "
                   "(and an exact code such as `en` to a regional variant such as `en-GB`). "
                   "Translation, when allowed, only when none of the languages exists. The "
                   "rule that picked a stored transcript is recorded (`chosen_by` in "
                   "`tubesensei videos show`).",
    "discovery": "How rescans of known channels decide to stop early.",
    "limits": "Retries, rate limits, time limits and concurrency of the job system.",
    "schedule": "Periodic work of `run-consumer` (standard 5-field cron expressions, UTC).",
    "metrics": "The Prometheus endpoint of `run-consumer`.",
    "logging": "Logs of the CLI commands (a file in the data folder) and of `run-consumer` "
               "(stderr).",
}


def _leaf_annotation(dotted: str) -> Any:
    model: type[BaseModel] = Settings
    parts = dotted.split(".")
    for part in parts[:-1]:
        model = model.model_fields[part].annotation  # type: ignore[assignment]
    return model.model_fields[parts[-1]].annotation


def _flatten(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _flatten(arg)]
    return [annotation]


def _is_secret(annotation: Any) -> bool:
    return SecretStr in _flatten(annotation)


def _choices(annotation: Any) -> list[str]:
    for arg in _flatten(annotation):
        if typing.get_origin(arg) is Literal:
            return [str(v) for v in typing.get_args(arg)]
    return []


def _default(dotted: str) -> Any:
    node: Any = Settings.model_construct()
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _format_default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int | float):
        return f"`{value!r}`"
    if isinstance(value, list):
        return f"`{json.dumps(value)}`"
    return f"`{json.dumps(str(value))}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _effect(dotted: str, doc: str) -> str:
    annotation = _leaf_annotation(dotted)
    parts = [doc]
    choices = _choices(annotation)
    if choices:
        parts.append("One of " + ", ".join(f"`{c}`" for c in choices) + ".")
    if _is_secret(annotation):
        parts.append("Secret: masked in `config show` and logs.")
    return _cell(" ".join(parts))


def render_configuration_markdown() -> str:
    """The whole docs/configuration.md: every key with its env name, default and effect."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for dotted, doc in field_docs().items():
        section = dotted.rpartition(".")[0]
        sections.setdefault(section, []).append((dotted, doc))
    lines = [_HEADER]
    for section, fields in sections.items():
        lines.append(f"## {'[' + section + ']' if section else 'Top level'}")
        lines.append("")
        intro = _SECTION_INTROS.get(section)
        if intro:
            lines.extend([*textwrap.wrap(intro, width=96), ""])
        lines.append("| key | environment variable | default | effect |")
        lines.append("|---|---|---|---|")
        for dotted, doc in fields:
            lines.append(
                f"| `{dotted}` | `{env_name_for(dotted)}` | {_format_default(_default(dotted))} "
                f"| {_effect(dotted, doc)} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render_configuration_markdown()
    if not args:
        sys.stdout.write(text)
        return 0
    Path(args[0]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
