"""Shared fixtures: no network, a private cache, and the tiny model built once per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The thread rule ecombench's commands use (ecombench.threads): on a busy CI machine torch's default
# pool oversubscribes the cores and the suite ran 3x slower. Subprocesses apply the rule themselves.
from ecombench import threads as _threads

_threads.apply()

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("ecombench-cache")
    os.environ["ECOMBENCH_CACHE"] = str(cache)
    os.environ["ECOMBENCH_HOME"] = str(tmp_path_factory.mktemp("ecombench-home"))
    yield cache


@pytest.fixture(scope="session")
def tiny_model(_private_cache) -> Path:
    from ecombench.tiny import ensure_tiny

    return ensure_tiny()


def run_ecombench(*args: object, env: dict[str, str | None] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m ecombench ARGS`` in a subprocess, output captured; ``env`` adds variables to this process's
    environment (a value of None removes one)."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ecombench", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={k: v for k, v in merged.items() if v is not None},
    )


# `accelerate launch` with two CPU processes (gloo), the prefix of the data-parallel tests
ACCELERATE_TWO_CPU = [
    sys.executable,
    "-m",
    "accelerate.commands.launch",
    "--multi_gpu",
    "--num_processes",
    "2",
    "--num_machines",
    "1",
    "--mixed_precision",
    "no",
    "--dynamo_backend",
    "no",
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def record(task: str, task_type: str, metric: str, truth, track: str = "t1", prompt: str | None = None) -> dict:
    return {
        "input_field": prompt or f"question {task} {truth}",
        "output_field": truth,
        "task_name": task,
        "task_type": task_type,
        "metric": metric,
        "is_multiple_choice": task_type == "multiple-choice",
        "track": track,
    }


EMBEDDING_ENV_VARS = ("ECOMBENCH_EMBEDDING_MODEL", "ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL")


@pytest.fixture
def no_multilingual_model(monkeypatch, tmp_path):
    """No paraphrase-multilingual-MiniLM-L12-v2 anywhere (a fresh offline install): no variable, an empty
    Hugging Face cache; returns an environment for subprocesses that says the same."""
    for var in EMBEDDING_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("ecombench.metrics.embedding._from_hf_cache", lambda repo_id: None)
    empty = tmp_path / "hf-empty"
    empty.mkdir()
    return {**{k: v for k, v in os.environ.items() if k not in EMBEDDING_ENV_VARS}, "HF_HOME": str(empty), "HF_HUB_CACHE": str(empty / "hub")}


def multilingual_suite(dest_parent: Path, name: str = "mls") -> Path:
    """An imported ShopBench suite ``name`` (track ``multilingual``) whose task ``<name>_explain`` is scored
    with multilingual-sent-transformer, the official rule for ShopBench's multilingual generation, and
    ``<name>_translate`` with bleu; returns its folder (``dest_parent/name``)."""
    from ecombench.importers import shopbench
    from ecombench.importers.writer import write_suite

    rows = [
        record("explain", "generation", "multilingual-sent-transformer", f"Eine rote Tasse Nummer {i}.", "multilingual", f"Was ist Artikel {i}?\nOutput: ")
        for i in range(3)
    ] + [record("translate", "generation", "bleu", f"rote Tasse {i}", "multilingual", f"Translate: red mug {i}\nOutput: ") for i in range(3)]
    dest_parent.mkdir(parents=True, exist_ok=True)
    source = write_jsonl(dest_parent / f"{name}-source.jsonl", rows)
    return write_suite(shopbench.read(source), name, dest_parent)
