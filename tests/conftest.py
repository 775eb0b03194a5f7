"""Shared fixtures: no network, a private cache, the tiny model built once per session and a browser per module.

Helpers that tests import (factories, the fake OpenAI server, browser pages) live in tests/helpers/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The thread rule ecombench's commands use (ecombench.threads): on a busy CI machine torch's default
# pool oversubscribes the cores and the suite ran 3x slower. Subprocesses apply the rule themselves.
from ecombench import threads as _threads

_threads.apply()


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("ecombench-cache")
    os.environ["ECOMBENCH_CACHE"] = str(cache)
    os.environ["ECOMBENCH_HOME"] = str(tmp_path_factory.mktemp("ecombench-home"))
    yield cache


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module's tests, started by the first page one asks for
    (``with browser.page() as page``)."""
    from tests.helpers.browser import Browser

    made = Browser()
    yield made
    made.close()


@pytest.fixture(scope="session")
def tiny_model(_private_cache) -> Path:
    from ecombench.tiny import ensure_tiny

    return ensure_tiny()


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
