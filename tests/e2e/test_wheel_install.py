"""Build the wheel, install it (not editable) into a fresh virtualenv, run it there."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_wheel_carries_migrations_and_works_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(REPO)])
    (wheel,) = dist.glob("tubesensei-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tubesensei/migrations/env.py" in names
    assert any(n.startswith("tubesensei/migrations/versions/") and n.endswith(".py") for n in names)
    assert not any(n.startswith("tests/") for n in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    run([str(py), "-m", "pip", "install", "--quiet", str(wheel)])
    exe = env_dir / "bin" / "tubesensei"
    data = tmp_path / "empty-data"
    env = {**os.environ, "TUBESENSEI_DATA_DIR": str(data)}
    outside = tmp_path / "elsewhere"  # no source tree around: only the wheel's files
    outside.mkdir()
    init = run([str(exe), "init"], env=env, cwd=outside)
    assert "database" in init.stdout
    current = run([str(exe), "db", "current"], env=env, cwd=outside)
    assert current.stdout.strip().endswith("(head)")
    assert (data / "tubesensei.db").is_file()
    upgraded = run([str(exe), "db", "upgrade"], env=env, cwd=outside)
    assert "already at" in upgraded.stdout
    version = run([str(exe), "--version"], env=env, cwd=outside)
    assert "tubesensei" in version.stdout
