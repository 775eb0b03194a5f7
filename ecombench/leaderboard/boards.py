"""Board definitions (``leaderboards/*.yaml``): which tasks, how they aggregate, how to rank.

Every task, group (a suite, an imported suite) and track is a board too, without a file: the
board of its tasks, aggregated like the suites (track = mean of its tasks, All-Around = mean of
tracks). A YAML file is only needed for something else: several suites, normalisation, win-rate
ranking or filters. With no ``--board``, ``pick_board`` chooses the board from the submissions.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecombench.errors import EcombenchError
from ecombench.paths import builtin_tasks_dir, home_dir
from ecombench.records import describe
from ecombench.taskindex import DEFAULT_SUITE, TaskIndex

DEFAULT_BOARD = DEFAULT_SUITE  # leaderboards/ecombench_core.yaml


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_model: str | None = Field(default=None, description="keep submissions whose base model is this")
    kind: str | None = Field(default=None, description="builtin, local, hub or adapter")
    name_contains: str | None = None


class Board(BaseModel):
    """A leaderboard: tasks (task, group or track names), aggregation, normalisation, ranking, filters."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    name: str
    description: str = ""
    tasks: list[str]
    aggregation: Literal["kddcup"] = "kddcup"  # task -> mean per track -> mean of tracks (All-Around)
    normalize: bool = False  # each task against its random-guess baseline: 0 = chance, 100 = perfect (stats.NORMALISATION)
    ranking: Literal["all_around", "win_rate"] = "all_around"
    filters: Filters = Filters()


def boards_dirs() -> list[Path]:
    """Bundled boards (``leaderboards/`` beside the tasks: the repo root, or the installed package),
    then ``$ECOMBENCH_HOME/leaderboards``."""
    bundled = builtin_tasks_dir().parent / "leaderboards"
    return [p for p in (bundled, home_dir() / "leaderboards") if p.is_dir()]


def load_board_file(path: Path) -> Board:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EcombenchError(f"{path}: YAML does not parse ({getattr(exc, 'problem', exc)})") from exc
    try:
        return Board.model_validate(data)
    except ValidationError as exc:
        raise EcombenchError(f"{path}: {describe(exc)}") from exc


def available_boards() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in boards_dirs():
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def implicit_boards(index: TaskIndex) -> list[str]:
    """The names that are boards without a file: every task, group and track of the index."""
    return list(dict.fromkeys([*index.tasks, *index.groups, *sorted({t.track for t in index.tasks.values()})]))


def get_board(name: str, groups: list[str]) -> Board:
    """A board by name: a board file, else a default board over a task, group or track in ``groups``
    (``implicit_boards(index)``; older callers pass the group names only)."""
    boards = available_boards()
    if name in boards:
        return load_board_file(boards[name])
    if name in groups:
        return Board(name=name, description=f"default board of {name}: track = mean of its tasks, All-Around = mean of tracks", tasks=[name])
    close = difflib.get_close_matches(name, list(dict.fromkeys([*boards, *groups])), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else f"; boards: {', '.join(sorted(boards))}"
    raise EcombenchError(f"unknown board '{name}'{hint}")


def board_candidates(index: TaskIndex) -> dict[str, list[str]]:
    """Boards to choose from when none is named, in order of preference on a tie: board files, then
    groups (suites), then tasks that belong to no group; each with its tasks. Tracks are left out
    (a track name may span suites). A board file that does not load is left out here; naming it
    with ``--board`` reports why."""
    out: dict[str, list[str]] = {}
    for name, path in available_boards().items():
        try:
            out[name] = [t.name for t in index.select(load_board_file(path).tasks)]
        except EcombenchError:
            continue
    grouped: set[str] = set()
    for name in index.groups:
        try:
            tasks = index.leaf_tasks(name)
        except EcombenchError:
            continue
        grouped.update(tasks)
        out.setdefault(name, tasks)
    for name in index.tasks:
        if name not in grouped:
            out.setdefault(name, [name])
    return out


def coverage(candidates: dict[str, list[str]], scores: pd.DataFrame) -> pd.DataFrame:
    """How many submissions each board covers (has at least one of its tasks; ``scores`` rows are
    submission, task), best first: most submissions, then most tasks, then the order of
    ``candidates``. Boards no submission covers are left out. Columns: board, submissions, tasks,
    part_of (a board ranked above whose tasks include all of this one's, say a suite of its track
    group, else "")."""
    pairs = pd.DataFrame([(b, t, i) for i, (b, tasks) in enumerate(candidates.items()) for t in tasks], columns=["board", "task", "order"])
    size = pairs.groupby("board", sort=False).agg(tasks=("task", "size"), order=("order", "first"))
    ran = scores[["submission", "task"]].astype({"task": object}).drop_duplicates()
    hits = pairs.merge(ran, on="task").groupby("board", sort=False)["submission"].nunique().rename("submissions")
    out = size.join(hits, how="inner").reset_index()
    out = out.sort_values(["submissions", "tasks", "order"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    seen: list[tuple[str, set[str]]] = []
    part_of = []
    for name in out["board"]:
        tasks = set(candidates[name])
        part_of.append(next((other for other, bigger in seen if tasks <= bigger), ""))
        seen.append((name, tasks))
    return out.assign(part_of=part_of)[["board", "submissions", "tasks", "part_of"]]


def covered_hint(cover: pd.DataFrame, skip: str = "", limit: int = 5) -> str:
    """``--board kdd_dev (3 submissions), --board ecombench_starter (1 submission)``: the best covered
    boards other than ``skip``, for messages; a board that is part of one listed above (or of
    ``skip``) is left out."""
    rows = cover[(cover["board"] != skip) & (cover["part_of"] == "")].head(limit)
    return ", ".join(f"--board {b} ({n} submission{'s' if n != 1 else ''})" for b, n in zip(rows["board"], rows["submissions"], strict=True))


def pick_board(cover: pd.DataFrame, total: int, default: str = DEFAULT_BOARD) -> tuple[str, str]:
    """The board to show when none is named, and a line saying which and what else there is.

    The default board when any submission has one of its tasks; otherwise the board covering the
    most of the ``total`` submissions (ties: more tasks, then board files before suites before
    tasks). The line is empty when the default board shows every submission.
    """
    covered = dict(zip(cover["board"], cover["submissions"], strict=True))
    if default in covered or cover.empty:
        name = default
        if covered.get(default, 0) == total:
            return name, ""
        others = covered_hint(cover, skip=default)
        missing = total - covered.get(default, 0)
        return name, (f"{missing} of {total} submissions have no task of board '{default}'" + (f"; see them with {others}" if others else ""))
    name = str(cover["board"].iloc[0])
    line = f"no submission has a task of the default board '{default}'; showing board '{name}' ({covered[name]} of {total} submissions, --board {name})"
    others = covered_hint(cover, skip=name)
    return name, line + (f"; other boards: {others}" if others else "")
