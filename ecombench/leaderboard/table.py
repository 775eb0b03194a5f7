"""The leaderboard table: one row per submission, ranked, with a 95% interval and per-track columns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ecombench.leaderboard.boards import Board
from ecombench.leaderboard.stats import Z95, aggregate, win_rates
from ecombench.submissions import Submission
from ecombench.taskindex import TaskIndex, TaskInfo


@dataclass(frozen=True)
class BoardTable:
    board: Board
    frame: pd.DataFrame  # one row per submission, ranked
    tasks: list[str]


def _passes(sub: Submission, board: Board) -> bool:
    f = board.filters
    return (
        (f.base_model is None or sub.model.base_model == f.base_model)
        and (f.kind is None or sub.model.kind == f.kind)
        and (f.name_contains is None or f.name_contains in sub.name)
    )


def _flags(sub: Submission, tasks: list[TaskInfo]) -> list[str]:
    flags = [f"limit {sub.generation.limit}"] if sub.generation.limit is not None else []
    missing = [t.name for t in tasks if t.name not in sub.tasks]
    if missing:
        flags.append(f"missing {len(missing)} task(s)")
    changed = [t.name for t in tasks if t.name in sub.tasks and (sub.tasks[t.name].data_sha256 != t.data_hash() or sub.tasks[t.name].version != t.version)]
    if changed:
        flags.append(f"other data/version: {', '.join(changed[:3])}{' ...' if len(changed) > 3 else ''}")
    return flags


def build_table(board: Board, index: TaskIndex, subs: list[Submission], by: str = "track") -> BoardTable:
    """Rank the submissions on the board. Flagged submissions (missing tasks, other data, a --limit
    run) get no rank. A board task that no submission has (skipped everywhere) leaves the board."""
    subs = [s for s in subs if _passes(s, board)]
    scored = {name for s in subs for name in s.tasks}
    tasks = [t for t in index.select(board.tasks) if t.name in scored]
    names = [t.name for t in tasks]
    baselines = {t.name: (t.config.get("metadata") or {}).get("random_baseline") for t in tasks}
    rows, meta = [], []
    for sub in subs:
        flags = _flags(sub, tasks)
        present = [n for n in names if n in sub.tasks]
        if not present:
            continue
        for n in present:
            r = sub.tasks[n]
            rows.append((sub.id, n, r.track, r.score, r.stderr or 0.0, baselines.get(n)))
        meta.append({"submission": sub.id, "name": sub.name, "model": sub.model.spec, "base": sub.model.base_model,
                     "kind": sub.model.kind, "date": sub.created.date().isoformat(), "flags": "; ".join(flags)})
    if not meta:
        return BoardTable(board, pd.DataFrame(), names)
    tasks_frame = pd.DataFrame(rows, columns=["submission", "task", "track", "score", "stderr", "baseline"])
    agg = aggregate(tasks_frame, normalize=board.normalize)
    frame = pd.DataFrame(meta).merge(agg, on="submission")
    frame["ci95"] = Z95 * frame["all_around_stderr"]
    clean = frame["flags"] == ""
    if board.ranking == "win_rate":
        wins = win_rates(tasks_frame[tasks_frame["submission"].isin(frame.loc[clean, "submission"])])
        frame["win_rate"] = frame["submission"].map(wins)
        key = "win_rate"
    else:
        key = "all_around"
    frame = frame.sort_values(by=["flags", key, "all_around"], ascending=[True, False, False], key=lambda c: c != "" if c.name == "flags" else c)
    ranks = frame.loc[frame["flags"] == "", key].rank(ascending=False, method="min")
    frame["rank"] = ranks.reindex(frame.index).astype("Int64")
    if by == "task":
        pivot = tasks_frame.pivot(index="submission", columns="task", values="score")
        frame = frame.merge(pivot.add_prefix("task:"), left_on="submission", right_index=True)
    return BoardTable(board, frame.reset_index(drop=True), names)
