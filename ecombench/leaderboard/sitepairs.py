"""The paired tests the report's side-by-side page shows, computed here by ``compare`` (one implementation for
the CLI, its JSON and the page; the page used to resample in JavaScript and got other p-values).

The page can set any two runs side by side, but a report of 10,000 runs cannot hold every pair: it holds
the pairs among the first ``PAIR_RUNS`` runs with items of each board (the page opens on the first two
ranked runs), scored by the same rules. For any other pair the page says so and names the command.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.leaderboard.compare import by_hash, compare_items, interval_text, p_text, task_json
from ecombench.leaderboard.table import BoardTable
from ecombench.submissions import ItemRecord, Submission, load, load_items

PAIR_RUNS = 10  # 45 pairs per board


def pair_key(a: str, b: str) -> str:
    """The key of a pair in ``pairs.js``: the two ids in sorted order (``compare.js`` looks them up so)."""
    return f"{a}|{b}" if a < b else f"{b}|{a}"


def pair_runs(tables: list[BoardTable], items: dict[str, int], limit: int = PAIR_RUNS) -> list[list[tuple[str, str]]]:
    """Per board, (id, record file) of the runs whose pairs the report holds: the first ``limit`` rows of the
    board, in its order, that have items (``items``: id -> item count in the site)."""
    groups = []
    for table in tables:
        rows = [(str(sid), str(file)) for sid, file in zip(table.frame["submission"], table.frame["file"], strict=True) if items.get(str(sid), 0) > 0]
        groups.append(rows[:limit])
    return groups


def pair_payload(groups: list[list[tuple[str, str]]], folder: Path, iters: int = 10_000) -> tuple[dict[str, dict[str, dict[str, Any]]], list[str]]:
    """``{pair_key(a, b): {task: compare.task_json + "shown"}}`` for every pair of runs within a group, scored by the same
    rules and sharing a task, compared as ``ecombench compare <a> <b>`` compares them (``a`` the id that sorts
    first); and warnings. Each run's items are read once."""
    loaded: dict[str, tuple[Submission, dict[str, dict[str, ItemRecord]]] | None] = {}
    warnings: list[str] = []

    def get(sid: str, file: str) -> tuple[Submission, dict[str, dict[str, ItemRecord]]] | None:
        if sid not in loaded:
            try:
                sub = load(folder / file)
                loaded[sid] = (sub, by_hash(load_items(folder, sub)))
            except EcombenchError as exc:
                warnings.append(f"no paired tests for {sid}: {exc}")
                loaded[sid] = None
        return loaded[sid]

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for group in groups:
        runs = sorted((got for sid, file in group if (got := get(sid, file)) is not None), key=lambda p: p[0].id)
        for (a, items_a), (b, items_b) in combinations(runs, 2):
            key = pair_key(a.id, b.id)
            if key in out or a.rules != b.rules or not set(a.tasks) & set(b.tasks):
                continue
            result = compare_items(a, b, items_a, items_b, iters=iters)
            # "shown": the p-value and interval as `ecombench compare` prints them (Python rounds 0.03125 to 0.0312, toFixed to 0.0313)
            out[key] = {d.task: {**task_json(d), "shown": [p_text(d), interval_text(d)]} for d in result.tasks if d.test is not None}
    return out, warnings
