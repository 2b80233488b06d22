"""docs/configuration.md is generated from the settings model and committed."""

from __future__ import annotations

from pathlib import Path

from tubesensei.config import env_name_for, field_docs
from tubesensei.config_docs import main, render_configuration_markdown

REPO = Path(__file__).resolve().parents[2]


def test_committed_configuration_page_is_the_generated_one() -> None:
    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render_configuration_markdown(), "run `make config-reference`"


def test_every_key_has_a_row_with_env_name_default_and_effect() -> None:
    rows = {
        line.split("|")[1].strip().strip("`"): [c.strip() for c in line.split("|")[2:-1]]
        for line in render_configuration_markdown().splitlines()
        if line.startswith("| `")
    }
    docs = field_docs()
    assert set(rows) == set(docs)
    for dotted, (env, default, effect) in rows.items():
        assert env == f"`{env_name_for(dotted)}`"
        assert default and effect.startswith(docs[dotted].replace("|", "\\|"))
    assert rows["transcripts.languages"][1] == '`["en"]`'
    assert rows["youtube.api_key"][1] == "unset" and "Secret" in rows["youtube.api_key"][2]
    assert "`sqlite`, `redis`." in rows["queue.backend"][2]
    assert rows["transcripts.allow_translation"][1] == "`false`"


def test_main_prints_or_writes(tmp_path: Path, capsys) -> None:
    assert main([]) == 0
    assert capsys.readouterr().out == render_configuration_markdown()
    target = tmp_path / "configuration.md"
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_configuration_markdown()
