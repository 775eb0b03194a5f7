"""The paired tests the report's side-by-side page shows, computed here by ``compare`` (one implementation for
the CLI, its JSON and the page; the page used to resample in JavaScript and got other p-values).

The page can set any two runs side by side, but a report of 10,000 runs cannot hold every pair: it holds
the pairs among the first ``PAIR_RUNS`` runs with items of each board (the page opens on the first two
ranked runs), scored by the same rules. For any other pair the page says so and names the command.
"""

from __future__ import annotations

import hashlib
import json
from itertools import combinations
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.io import read_cache_pickle, write_cache_pickle
from ecombench.leaderboard.compare import by_hash, compare_items, interval_text, p_text, task_json
from ecombench.leaderboard.store import read_entry
from ecombench.leaderboard.table import BoardTable
from ecombench.paths import cache_dir
from ecombench.submissions import ItemRecord, Submission, load, load_items

PAIR_RUNS = 10  # 45 pairs per board
CACHE_VERSION = 1  # bump when a pair's payload changes


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


def _cache_path(folder: Path) -> Path:
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "report-pairs" / f"{key}.pickle"


def pair_payload(
    groups: list[list[tuple[str, str]]], folder: Path, items_digests: dict[str, str] | None = None, iters: int = 10_000
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[str]]:
    """``{pair_key(a, b): {task: compare.task_json + "shown"}}`` for every pair of runs within a group, scored by the same
    rules and sharing a task, compared as ``ecombench compare <a> <b>`` compares them (``a`` the id that sorts
    first); and warnings. Each run's items are read once, and only for a pair not in the cache: results are kept
    by the hashes of both records and items files (``items_digests``: id -> its items file's hash, as the site's
    items writer has it), so a rebuild (``report --serve`` rebuilds as runs land) tests only new pairs."""
    subs: dict[str, Submission | None] = {}
    items: dict[str, dict[str, dict[str, ItemRecord]] | None] = {}
    stamps: dict[str, str] = {}
    warnings: list[str] = []
    path = _cache_path(folder)
    cached = read_cache_pickle(path)
    old = cached["pairs"] if isinstance(cached, dict) and cached.get("version") == CACHE_VERSION and isinstance(cached.get("pairs"), dict) else {}
    kept: dict[str, tuple[str, str]] = {}

    def sub_of(sid: str, file: str) -> Submission | None:
        if sid not in subs:
            try:
                subs[sid] = load(folder / file)
                stamps[sid] = f"{read_entry(folder / file)[1]}:{(items_digests or {}).get(sid)}"
            except EcombenchError as exc:
                warnings.append(f"no paired tests for {sid}: {exc}")
                subs[sid] = None
        return subs[sid]

    def items_of(sub: Submission) -> dict[str, dict[str, ItemRecord]] | None:
        if sub.id not in items:
            try:
                items[sub.id] = by_hash(load_items(folder, sub))
            except EcombenchError as exc:
                warnings.append(f"no paired tests for {sub.id}: {exc}")
                items[sub.id] = None
        return items[sub.id]

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for group in groups:
        runs = sorted((got for sid, file in group if (got := sub_of(sid, file)) is not None), key=lambda s: s.id)
        for a, b in combinations(runs, 2):
            key = pair_key(a.id, b.id)
            if key in out or a.rules != b.rules or not set(a.tasks) & set(b.tasks):
                continue
            stamp = f"{stamps[a.id]}|{stamps[b.id]}|{iters}"
            hit = old.get(key)
            if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == stamp and isinstance(hit[1], str):
                out[key] = json.loads(hit[1])
                kept[key] = hit
                continue
            items_a, items_b = items_of(a), items_of(b)
            if items_a is None or items_b is None:
                continue
            result = compare_items(a, b, items_a, items_b, iters=iters)
            # "shown": the p-value and interval as `ecombench compare` prints them (Python rounds 0.03125 to 0.0312, toFixed to 0.0313)
            out[key] = {d.task: {**task_json(d), "shown": [p_text(d), interval_text(d)]} for d in result.tasks if d.test is not None}
            kept[key] = (stamp, json.dumps(out[key]))
    if kept != old:
        write_cache_pickle(path, {"version": CACHE_VERSION, "pairs": kept})
    return out, warnings
