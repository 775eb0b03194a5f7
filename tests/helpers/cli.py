"""The CLI in a subprocess, the repository's paths and the ``accelerate launch`` prefix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


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
