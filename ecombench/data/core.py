"""``ecombench data build-core``: regenerate the ecombench-core suite from its seed.

Today it writes the catalog (``tasks/core/catalog``); the Chain-of-Task builders that turn the
catalog into evaluation tasks and training records are the next step of issue 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecombench.data.catalog import build_catalog, write_catalog
from ecombench.paths import builtin_tasks_dir

DEFAULT_SEED = 2024


def default_core_dir() -> Path:
    return builtin_tasks_dir() / "core"


def build_core(out_dir: Path | None = None, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Write the catalog for ``seed`` under ``out_dir/catalog``; return its manifest."""
    root = out_dir or default_core_dir()
    return write_catalog(build_catalog(seed), root / "catalog", seed)
