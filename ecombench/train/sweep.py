"""``ecombench sweep``: train and score a grid of mixtures and LoRA ranks, then tabulate and plot.

The grid follows the KDD Cup 2024 top-5 study: the first ``k`` capabilities (tracks) of a list,
the first ``t`` tasks of each, and a LoRA rank. Each cell is an ``ecombench train`` run with its
own adapter and submission. A finished cell is kept, so re-running a sweep resumes it.
Cells run one after another here, or as Ray tasks over a cluster (``ecombench.executors``);
a claim file per cell keeps two drivers on one folder from training a cell twice.
The sweep ends with ``results.csv``, ``results.md`` and ``plot.png`` (score against number of
capabilities, one line per rank) in its folder and in ``SUBMISSIONS/sweeps/NAME/``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecombench.errors import EcombenchError
from ecombench.executors import Claims, Delivery, LocalExecutor, RayExecutor, pack, submission_files, unpack
from ecombench.io import atomic_write_text
from ecombench.train.config import TrainConfig, _describe, read_yaml_mapping, with_mixture_file
from ecombench.train.data import apply_capabilities, read_sources


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
    # score the untrained base on the same tasks, and give each cell its held-in gain over it with a 95% interval
    compare_to_base: bool = True


def load_sweep(path: Path) -> SweepConfig:
    raw = read_yaml_mapping(path)
    try:
        sweep = SweepConfig.model_validate(raw)
        TrainConfig.model_validate(sweep.train)
    except ValidationError as exc:
        raise EcombenchError(_describe(exc, str(path))) from exc
    mixture = (sweep.train.get("data") or {}).get("mixture")
    if isinstance(mixture, str) and not Path(mixture).expanduser().is_absolute():  # relative to the sweep file, as a train config's
        sweep.train["data"]["mixture"] = str((path.parent / mixture).resolve())
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
    config = with_mixture_file(TrainConfig.model_validate(raw), Path("."))
    if isinstance(config.data.tracks, dict) and config.data.tracks:  # a mixture's weights: only the cell's capabilities
        kept = set(sweep.grid.tracks[: cell["capabilities"]])
        config = config.model_copy(update={"data": config.data.model_copy(update={"tracks": {k: v for k, v in config.data.tracks.items() if k in kept}})})
    return config


@dataclass(frozen=True)
class CellJob:
    """One cell as shipped to where it runs: this process, or a Ray worker."""

    sweep: SweepConfig
    cell: dict[str, Any]
    folder: Path  # the sweep folder on the driver (absolute)
    submissions: Path  # the submissions folder on the driver (absolute)
    delivery: Delivery
    debug: bool = False
    show_progress: bool = True
    defer_scoring: bool = False  # train only: the driver scores the cells' adapters together afterwards

    @property
    def label(self) -> str:  # the Ray task's name
        return f"ecombench sweep {self.sweep.name} cell {self.cell['id']}"


@dataclass(frozen=True)
class CellResult:
    row: dict[str, Any]
    adapter: dict[str, bytes]  # gathered files, for a driver without a shared disk (else empty)
    submission: dict[str, bytes]
    unscored: Any = None  # (its TrainConfig, its TrainOutcome) when its scoring was deferred


@dataclass(frozen=True)
class SweepOutcome:
    folder: Path
    rows: list[dict[str, Any]]  # every finished cell, in grid order
    failed: dict[str, str]  # cell id -> its error (Ray executor)
    elsewhere: dict[str, str]  # cell id -> the other driver that holds its claim (cells still unfinished)


def run_cell(job: CellJob) -> CellResult | None:
    """Train, score and record one cell; None in the non-main processes of an ``accelerate launch``."""
    from ecombench.train.pipeline import train

    with job.delivery.workdir() as scratch:
        folder, subs = (job.folder, job.submissions) if scratch is None else (scratch, scratch / "submissions")
        if scratch is None:
            _note_worker(job.folder, job.cell["id"])
        config = _cell_config(job.sweep, job.cell, folder).model_copy(update={"submissions_dir": subs})
        resume = config.output is not None and (config.output / "train_config.json").is_file()
        outcome = train(config, resume=resume, debug=job.debug, show_progress=job.show_progress, score=not job.defer_scoring)
        if outcome.lineage is None:
            return None
        if job.defer_scoring and config.eval.enabled:
            return CellResult({}, {}, {}, unscored=(config, outcome))
        row = _row(job.cell, outcome.lineage, outcome.submission)
        if scratch is None:
            return CellResult(row, {}, {})
        adapter = sorted(
            (p.relative_to(outcome.adapter).as_posix() for p in outcome.adapter.rglob("*") if p.is_file()),
            key=lambda name: (name == "adapter_config.json", name),
        )  # last: it marks a whole adapter
        adapter = [name for name in adapter if not name.startswith(("checkpoints/", "."))]
        submission = pack(outcome.submission.parent, submission_files(outcome.submission)) if outcome.submission else {}
        return CellResult(row, pack(outcome.adapter, adapter), submission)


def _note_worker(folder: Path, cell_id: str) -> None:
    """Which process trains a cell (``claims/ID.worker``): where to look, or what to stop."""
    info = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
    atomic_write_text(folder / "claims" / f"{cell_id}.worker", json.dumps(info) + "\n")


def _finished(cell: dict[str, Any], config: TrainConfig, folder: Path, subs: Path) -> dict[str, Any] | None:
    """The row of a finished cell: its result.json, or else its submission (from any executor or driver)."""
    from ecombench import submissions

    done = folder / "cells" / cell["id"] / "result.json"
    if done.is_file():
        return json.loads(done.read_text(encoding="utf-8"))
    for path in sorted(subs.glob(f"*-{submissions.slug(config.name or '')}-*.json"), reverse=True):  # newest first
        try:
            sub = submissions.load(path)
        except EcombenchError:
            continue
        if sub.name == config.name and sub.lineage is not None and sub.lineage.config_fingerprint == config.fingerprint():
            row = _row(cell, sub.lineage, path)
            atomic_write_text(done, json.dumps(row, indent=2) + "\n")
            return row
    return None


def run_sweep(
    sweep: SweepConfig,
    *,
    executor: LocalExecutor | RayExecutor | None = None,
    debug: bool = False,
    on_cell: Callable[[dict[str, Any], str], None] | None = None,
) -> SweepOutcome:
    """Train and score every cell not finished yet; write the table and plot of all finished cells.

    A cell is finished when its ``result.json`` or its submission exists, whichever executor wrote it.
    A cell is claimed (``claims/ID.claim``) before it starts, so two drivers on one folder never
    train the same cell. ``on_cell(row, status)`` is called for each cell, ``status`` one of
    ``kept`` (finished before), ``trained``, ``failed`` (row has ``error``) and ``elsewhere``
    (another driver holds it; row has ``owner``). With the local executor the cells are trained first
    and their adapters then scored together (``pipeline.score_adapters``: the base loaded once, shared
    generation passes), so their ``trained`` rows come after the last cell has trained.
    """
    from ecombench import submissions
    from ecombench.distributed import launched_processes

    executor = executor or LocalExecutor()
    notify = on_cell or (lambda row, status: None)
    folder = (sweep.output or Path("sweeps") / submissions.slug(sweep.name)).expanduser().resolve()
    base = with_mixture_file(TrainConfig.model_validate(sweep.train), Path("."))
    subs = base.submissions_dir.expanduser().resolve()
    records, _ = apply_capabilities(read_sources(base.data.sources, strict=base.data.strict).records, base.data.capabilities)
    tasks_by_track: dict[str, list[str]] = {}
    for r in records:
        if r.task not in tasks_by_track.setdefault(r.track, []):
            tasks_by_track[r.track].append(r.task)
    plan = cells(sweep, {k: sorted(v) for k, v in tasks_by_track.items()})
    failed: dict[str, str] = {}
    elsewhere: dict[str, str] = {}
    main = True
    local = executor.name == "local"
    # In an `accelerate launch` every process trains every cell together: no claims between them.
    with Claims(folder / "claims", enabled=launched_processes() == 1) as claims, executor.delivery(folder) as delivery:

        def waiting() -> Iterator[CellJob]:  # drawn by the executor as it has room, so a cell is claimed only when it starts
            for cell in plan:
                config = _cell_config(sweep, cell, folder)
                if (row := _finished(cell, config, folder, subs)) is not None:
                    notify(row, "kept")
                    continue
                if not claims.take(cell["id"]):
                    elsewhere[cell["id"]] = claims.owner(cell["id"]) or "another driver"
                    notify({"id": cell["id"], "owner": elsewhere[cell["id"]]}, "elsewhere")
                    continue
                if (row := _finished(cell, config, folder, subs)) is not None:  # finished while we looked
                    claims.release(cell["id"])
                    notify(row, "kept")
                    continue
                yield CellJob(sweep, cell, folder, subs, delivery, debug, show_progress=local, defer_scoring=local and launched_processes() == 1)

        unscored: list[tuple[dict[str, Any], Any]] = []  # (cell, (config, outcome)): trained, scored together below
        for outcome in executor.map(run_cell, waiting()):
            cell_id = outcome.job.cell["id"]
            held = False  # claimed until scored
            try:
                if outcome.error is not None:
                    failed[cell_id] = outcome.error
                    notify({"id": cell_id, "error": outcome.error}, "failed")
                elif outcome.value is None:
                    main = False
                elif outcome.value.unscored is not None:
                    unscored.append((outcome.job.cell, outcome.value.unscored))
                    held = True
                else:
                    result: CellResult = outcome.value
                    unpack(result.adapter, folder / "cells" / cell_id)
                    unpack(result.submission, subs)
                    atomic_write_text(folder / "cells" / cell_id / "result.json", json.dumps(result.row, indent=2) + "\n")
                    notify(result.row, "trained")
            finally:
                if not held:
                    claims.release(cell_id)
        if unscored:
            from ecombench.train.pipeline import score_adapters

            for (cell, _), scored in zip(unscored, score_adapters([pending for _, pending in unscored], debug), strict=True):
                row = _row(cell, scored.lineage, scored.submission)
                atomic_write_text(folder / "cells" / cell["id"] / "result.json", json.dumps(row, indent=2) + "\n")
                notify(row, "trained")
                claims.release(cell["id"])
    rows = [json.loads(p.read_text(encoding="utf-8")) for c in plan if (p := folder / "cells" / c["id"] / "result.json").is_file()]
    if rows and main:
        if base.eval.enabled and sweep.compare_to_base:
            base_sub = _base_submission(sweep, base, folder, subs, debug)
            rows = [_against_base(row, base_sub, subs) for row in rows]
        write_results(folder, rows, subs / "sweeps" / submissions.slug(sweep.name))
    finished = {row["id"] for row in rows}
    return SweepOutcome(folder, rows, failed, {k: v for k, v in elsewhere.items() if k not in finished})


def _base_submission(sweep: SweepConfig, config: TrainConfig, folder: Path, subs: Path, debug: bool) -> Any:
    """The untrained base scored on the cells' evaluation tasks (once; ``base.json`` names its submission)."""
    from ecombench import submissions
    from ecombench.run import RunOptions, run

    marker = folder / "base.json"
    if marker.is_file():
        try:
            return submissions.load(subs / json.loads(marker.read_text(encoding="utf-8"))["submission"])
        except (EcombenchError, OSError, KeyError, ValueError):
            pass  # scored again below
    scored = run(
        RunOptions(
            model=config.model,
            tasks=config.eval.tasks,
            limit=config.eval.limit,
            name=f"{sweep.name}-base",
            submissions_dir=subs,
            batch_size=config.eval.batch_size,
            debug=debug,
            trust_remote_code=config.trust_remote_code,
        )
    )
    assert scored.path is not None
    atomic_write_text(marker, json.dumps({"submission": scored.path.name}) + "\n")
    return submissions.load(scored.path)


def _against_base(row: dict[str, Any], base: Any, subs: Path) -> dict[str, Any]:
    """The cell's held-in mean against the untrained base on the same held-in items: the gain, its 95% interval
    and p-value (``stats.paired_test``, items of every held-in task pooled; NaN bounds where it gives no interval)."""
    from ecombench import submissions
    from ecombench.leaderboard.stats import paired_test

    row = {**row, "base_all_around": base.all_around}
    if not row.get("submission"):
        return row
    try:
        cell = submissions.load(next(subs.glob(f"{row['submission']}.json")))
    except (StopIteration, EcombenchError):
        return row
    held_in = [t for t in (cell.lineage.held_in if cell.lineage else []) if t in base.tasks]
    if not held_in:
        return row
    mine = {(i.task, i.item_hash): i.score for i in submissions.load_items(subs, cell) if i.task in held_in}
    theirs = {(i.task, i.item_hash): i.score for i in submissions.load_items(subs, base) if i.task in held_in}
    keys = sorted(mine.keys() & theirs.keys())
    a, b = [theirs[k] for k in keys], [mine[k] for k in keys]
    test = paired_test(a, b)
    gain, p = test.delta, test.p_value
    low, high = test.interval if test.interval is not None else (math.nan, math.nan)  # none: no item differs, or too few items
    base_mean = sum(base.tasks[t].score for t in held_in) / len(held_in)
    return {**row, "held_in_base": base_mean, "held_in_gain": gain, "gain_low": low, "gain_high": high, "gain_p": p}


def _row(cell: dict[str, Any], lineage: Any, submission: Path | None) -> dict[str, Any]:
    from ecombench import submissions

    row = {k: cell[k] for k in ("id", "capabilities", "tasks_per_capability", "rank")}
    row["training_tasks"] = len(cell["tasks"])
    row["train_loss"] = lineage.train_loss
    if submission is not None:
        sub = submissions.load(submission)
        held_in = [sub.tasks[t].score for t in lineage.held_in if t in sub.tasks]
        held_out = [sub.tasks[t].score for t in lineage.held_out if t in sub.tasks]
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

    gains = "held_in_gain" in table and table["held_in_gain"].notna().any()
    fig, axes = plt.subplots(1, 2 if gains else 1, figsize=(11 if gains else 6, 4), dpi=120, squeeze=False)
    ax = axes[0][0]
    several_t = table["tasks_per_capability"].nunique(dropna=False) > 1
    for (t, rank), group in table.groupby(["tasks_per_capability", "rank"], dropna=False):
        group = group.sort_values("capabilities")
        label = f"rank {rank}" + (f", {t if t == t and t is not None else 'all'} tasks/capability" if several_t else "")
        ax.plot(group["capabilities"], group["all_around"], marker="o", label=label)
    if "base_all_around" in table and table["base_all_around"].notna().any():
        ax.axhline(float(table["base_all_around"].dropna().iloc[0]), color="grey", linestyle="--", label="untrained base")
    ax.set_xlabel("capabilities (tracks) in the training mixture")
    ax.set_ylabel("All-Around score")
    ax.set_xticks(sorted(table["capabilities"].unique()))
    ax.grid(alpha=0.3)
    ax.legend()
    if gains:
        gx = axes[0][1]
        for (_t, rank), group in table.groupby(["tasks_per_capability", "rank"], dropna=False):
            group = group.sort_values("capabilities").dropna(subset=["held_in_gain"])
            err = [group["held_in_gain"] - group["gain_low"], group["gain_high"] - group["held_in_gain"]]
            gx.errorbar(group["capabilities"], group["held_in_gain"], yerr=err, marker="o", capsize=4, label=f"rank {rank}")
        gx.axhline(0.0, color="grey", linestyle="--")
        gx.set_xlabel("capabilities (tracks) in the training mixture")
        gx.set_ylabel("held-in gain over the base (95% interval)")
        gx.set_xticks(sorted(table["capabilities"].unique()))
        gx.grid(alpha=0.3)
        gx.legend()
    fig.tight_layout()
    from ecombench.io import atomic_writer

    with atomic_writer(path, "wb") as handle:  # a temporary name of its own: two drivers of one sweep may both write it
        fig.savefig(handle, format="png")
    plt.close(fig)
