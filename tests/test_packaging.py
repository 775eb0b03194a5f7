"""The wheel ships the task YAMLs and data; builtin:tiny builds the same bytes every time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ecombench.models import folder_hash
from ecombench.tiny import build_tiny, training_text

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_contains_the_task_yamls_and_data(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("ecombench-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = {p.relative_to(REPO).as_posix() for p in (REPO / "tasks").rglob("*") if p.is_file() and p.suffix in (".yaml", ".jsonl")}
    assert bundled and {f"ecombench/{n}" for n in bundled} <= names
    assert {"ecombench/leaderboards/ecombench_core.yaml", "ecombench/leaderboards/ecombench_starter.yaml"} <= names


@pytest.mark.slow
def test_builtin_tiny_is_deterministic(tmp_path):
    text = training_text()
    build_tiny(tmp_path / "a", text)
    build_tiny(tmp_path / "b", text)
    assert folder_hash(tmp_path / "a") == folder_hash(tmp_path / "b")
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
