"""Board definitions (``leaderboards/*.yaml``): which tasks, how they aggregate, how to rank."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecombench.errors import EcombenchError
from ecombench.paths import builtin_tasks_dir, home_dir
from ecombench.records import describe


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_model: str | None = Field(None, description="keep submissions whose base model is this")
    kind: str | None = Field(None, description="builtin, local, hub or adapter")
    name_contains: str | None = None


class Board(BaseModel):
    """A leaderboard: tasks (task, group or track names), aggregation, normalisation, ranking, filters."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    name: str
    description: str = ""
    tasks: list[str]
    aggregation: Literal["kddcup"] = "kddcup"  # task -> mean per track -> mean of tracks (All-Around)
    normalize: bool = False  # each task against its random-guess baseline: 0 = chance, 100 = perfect
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


def get_board(name: str, groups: list[str]) -> Board:
    """A board by name; a task group (an imported suite, say) without a file gets a default board."""
    boards = available_boards()
    if name in boards:
        return load_board_file(boards[name])
    if name in groups:
        return Board(name=name, description=f"default board of {name}", tasks=[name])
    close = difflib.get_close_matches(name, list(dict.fromkeys([*boards, *groups])), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else f"; boards: {', '.join(sorted(boards))}"
    raise EcombenchError(f"unknown board '{name}'{hint}")
