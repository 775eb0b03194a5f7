"""``ecombench sweep``: train and score a grid of mixtures and LoRA ranks, then tabulate and plot.

The grid follows the KDD Cup 2024 top-5 study: the first ``k`` capabilities (tracks) of a list,
the first ``t`` tasks of each, and a LoRA rank. Each cell is an ``ecombench train`` run with its
own adapter and submission. A finished cell is kept, so re-running a sweep resumes it.
The sweep ends with ``results.csv``, ``results.md`` and ``plot.png`` (score against number of
capabilities, one line per rank) in its folder and in ``SUBMISSIONS/sweeps/NAME/``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecombench.errors import EcombenchError
from ecombench.io import atomic_write_text
from ecombench.train.config import TrainConfig, _describe, read_yaml_mapping
from ecombench.train.data import load_records


class Grid(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracks: list[str] = Field(min_length=1)  # capabilities, in the order they are added
    num_capabilities: list[int] = Field(min_length=1)  # k: use the first k tracks
    tasks_per_capability: list[int | None] = [None]  # t: the first t tasks of each track (None = all)
    ranks: list[int] = Field(min_length=1)


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "sweep"
    output: Path | None = None  # default: sweeps/NAME
    train: dict[str, Any] = {}  # a train config (examples/train.yaml) shared by every cell
    grid: Grid


def load_sweep(path: Path) -> SweepConfig:
    raw = read_yaml_mapping(path)
    try:
        sweep = SweepConfig.model_validate(raw)
        TrainConfig.model_validate(sweep.train)
    except ValidationError as exc:
        raise EcombenchError(_describe(exc, str(path))) from exc
    if max(sweep.grid.num_capabilities) > len(sweep.grid.tracks) or min(sweep.grid.num_capabilities) < 1:
        raise EcombenchError(f"{path}: grid.num_capabilities must be between 1 and {len(sweep.grid.tracks)} (the number of grid.tracks)")
    if min(sweep.grid.ranks) < 1:
        raise EcombenchError(f"{path}: grid.ranks must be positive")
    return sweep


def cells(sweep: SweepConfig, tasks_by_track: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every (capabilities, tasks per capability, rank) cell with the tasks it trains on."""
    unknown = [t for t in sweep.grid.tracks if t not in tasks_by_track]
    if unknown:
        raise EcombenchError(f"grid.tracks: no training records for {', '.join(unknown)} (available: {', '.join(sorted(tasks_by_track))})")
    out = []
    for k in sweep.grid.num_capabilities:
        for t in sweep.grid.tasks_per_capability:
            tasks = [task for track in sweep.grid.tracks[:k] for task in tasks_by_track[track][:t]]
            for rank in sweep.grid.ranks:
                cell_id = f"k{k}-t{t if t is not None else 'all'}-r{rank}"
                out.append({"id": cell_id, "capabilities": k, "tasks_per_capability": t, "rank": rank, "tasks": tasks})
    return out


def _cell_config(sweep: SweepConfig, cell: dict[str, Any], folder: Path) -> TrainConfig:
    raw = json.loads(json.dumps(sweep.train))
    raw.setdefault("data", {})
    raw["data"]["tasks"] = cell["tasks"]
    raw["data"].pop("tracks", None)
    raw.setdefault("lora", {})["rank"] = cell["rank"]
    raw["name"] = f"{sweep.name}-{cell['id']}"
    raw["output"] = str(folder / "cells" / cell["id"])
    return TrainConfig.model_validate(raw)


def run_sweep(sweep: SweepConfig, *, debug: bool = False, on_cell: Callable[[dict[str, Any], bool], None] | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """Train and score every cell (skipping finished ones); write the table and plot; return rows.

    ``on_cell(row, reused)`` is called after each cell, ``reused`` when it was finished before.
    """
    from ecombench import submissions
    from ecombench.train.pipeline import train

    folder = (sweep.output or Path("sweeps") / submissions.slug(sweep.name)).expanduser()
    base = TrainConfig.model_validate(sweep.train)
    records, _ = load_records(base.data.sources)
    tasks_by_track: dict[str, list[str]] = {}
    for r in records:
        if r.task not in tasks_by_track.setdefault(r.track, []):
            tasks_by_track[r.track].append(r.task)
    rows = []
    for cell in cells(sweep, {k: sorted(v) for k, v in tasks_by_track.items()}):
        done = folder / "cells" / cell["id"] / "result.json"
        if done.is_file():
            rows.append(json.loads(done.read_text(encoding="utf-8")))
            if on_cell is not None:
                on_cell(rows[-1], True)
            continue
        config = _cell_config(sweep, cell, folder)
        outcome = train(config, resume=(Path(config.output) / "train_config.json").is_file(), debug=debug)
        if outcome.lineage is None:  # not the main process
            continue
        row = _row(cell, outcome)
        atomic_write_text(done, json.dumps(row, indent=2) + "\n")
        rows.append(row)
        if on_cell is not None:
            on_cell(row, False)
    if rows:
        write_results(folder, rows, base.submissions_dir / "sweeps" / submissions.slug(sweep.name))
    return folder, rows


def _row(cell: dict[str, Any], outcome: Any) -> dict[str, Any]:
    from ecombench import submissions

    row = {k: cell[k] for k in ("id", "capabilities", "tasks_per_capability", "rank")}
    row["training_tasks"] = len(cell["tasks"])
    row["train_loss"] = outcome.lineage.train_loss
    if outcome.submission is not None:
        sub = submissions.load(outcome.submission)
        held_in = [sub.tasks[t].score for t in outcome.lineage.held_in if t in sub.tasks]
        held_out = [sub.tasks[t].score for t in outcome.lineage.held_out if t in sub.tasks]
        row.update(
            all_around=sub.all_around,
            held_in=sum(held_in) / len(held_in) if held_in else None,
            held_out=sum(held_out) / len(held_out) if held_out else None,
            submission=sub.id,
            **{f"track:{k}": v for k, v in sub.tracks.items()},
        )
    return row


def write_results(folder: Path, rows: list[dict[str, Any]], mirror: Path) -> None:
    """results.csv, results.md and plot.png in the sweep folder, copied to the submissions' sweeps folder."""
    import pandas as pd

    table = pd.DataFrame(rows).sort_values(["tasks_per_capability", "rank", "capabilities"], na_position="last")
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "results.csv", table.to_csv(index=False))
    atomic_write_text(folder / "results.md", _markdown(table))
    if "all_around" in table:
        plot(table, folder / "plot.png")
    mirror.mkdir(parents=True, exist_ok=True)
    for name in ("results.csv", "results.md", "plot.png"):
        if (folder / name).is_file():
            shutil.copyfile(folder / name, mirror / name)


def _markdown(table: Any) -> str:
    def cell(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, float) and v == v else ("" if v is None or v != v else str(v))

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def plot(table: Any, path: Path) -> None:
    """All-Around against the number of capabilities, one line per rank (and per tasks-per-capability)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    several_t = table["tasks_per_capability"].nunique(dropna=False) > 1
    for (t, rank), group in table.groupby(["tasks_per_capability", "rank"], dropna=False):
        group = group.sort_values("capabilities")
        label = f"rank {rank}" + (f", {t if t == t and t is not None else 'all'} tasks/capability" if several_t else "")
        ax.plot(group["capabilities"], group["all_around"], marker="o", label=label)
    ax.set_xlabel("capabilities (tracks) in the training mixture")
    ax.set_ylabel("All-Around score")
    ax.set_xticks(sorted(table["capabilities"].unique()))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
