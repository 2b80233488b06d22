"""The documentation cannot drift from the code: every command is in the README's CLI
reference with help text, and docs/configuration.md covers every setting
(after sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from tubesensei.cli import cli
from tubesensei.config import env_name_for, field_docs

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command a user can run: leaves, and groups that do something by themselves."""
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                found.append(path)
            found.extend(commands(command, path))
        else:
            found.append(path)
    return found


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


def reference_rows() -> list[list[str]]:
    """The README's CLI reference table: the words of each row's first cell."""
    section = README.split("## CLI reference", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        match = re.match(r"\|\s*`(tubesensei\b[^`]*)`\s*\|", line)
        if match:
            rows.append(match.group(1).split()[1:])
    return rows


ROWS = reference_rows()


def test_the_reference_table_is_found() -> None:
    assert len(ROWS) >= 10 and ["init"] in ROWS


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p))
def test_every_command_is_in_the_readme_reference_with_help(path: tuple[str, ...]) -> None:
    name = "tubesensei " + " ".join(path)
    assert command_at(path).get_short_help_str().strip(), f"{name} has no help"
    assert any(row[: len(path)] == list(path) for row in ROWS), (
        f"`{name}` is missing from the CLI reference in README.md"
    )


def test_the_reference_names_only_real_commands() -> None:
    known = commands()
    for row in ROWS:
        words = [w for w in row if re.fullmatch(r"[a-z][a-z-]*", w)]
        assert any(tuple(words[: len(p)]) == p for p in known), (
            f"README.md's CLI reference lists `tubesensei {' '.join(row)}`, which does not exist"
        )


def test_the_readme_names_the_two_commands_and_the_make_targets_exist() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("demo", "test"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no `{target}` target"


def test_relative_links_in_the_docs_resolve() -> None:
    pages = [REPO / "README.md", *(REPO / "docs").glob("*.md")]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_configuration_page_covers_every_setting() -> None:
    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for dotted in field_docs():
        assert f"`{dotted}`" in page, f"docs/configuration.md does not document {dotted}"
        assert f"`{env_name_for(dotted)}`" in page, f"no env name for {dotted}"


FILE_SUFFIXES = {"db", "md", "toml", "log", "json", "jsonl"}


@pytest.mark.parametrize("page", ["README.md", "docs/deployment.md", "docs/troubleshooting.md"])
def test_prose_names_only_real_settings(page: str) -> None:
    """A setting named in the prose (`section.key`) must exist, or the advice is stale."""
    text = (REPO / page).read_text(encoding="utf-8")
    known = set(field_docs())
    sections = {d.split(".")[0] for d in known if "." in d}
    for section, key in re.findall(r"`([a-z_]+)\.([a-z_]+)`", text):
        if section in sections and key not in FILE_SUFFIXES:
            assert f"{section}.{key}" in known, f"{page} names unknown setting {section}.{key}"
