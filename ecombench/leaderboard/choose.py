"""Which board ``leaderboard`` and ``report`` show: the one named, else the one the submissions cover.

With no ``--board``, users' runs choose it (reference rows are on every bundled board): the default
board when any run has one of its tasks, else the board most runs share (``boards.pick_board``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.leaderboard.boards import board_candidates, coverage, covered_hint, get_board, implicit_boards, pick_board
from ecombench.leaderboard.store import Loaded
from ecombench.leaderboard.table import BoardTable, build_table, reference_ids
from ecombench.taskindex import TaskIndex


def _quiet(line: str) -> None:
    pass


def board_table(
    board: str | None,
    index: TaskIndex,
    loaded: Loaded,
    submissions_dir: Path,
    by: str = "track",
    efficiency: bool = False,
    say: Callable[[str], None] = _quiet,
) -> BoardTable:
    """The table of board ``board``, or (None) of the board the submissions cover, which ``say`` is told
    with what else there is. ``efficiency``: with the columns of what each run cost (generate time,
    tokens/s, peak memory, device, threads). A board none of the submissions has a task of is refused,
    naming the boards they do cover."""
    if board is None:
        refs = reference_ids(loaded.meta)
        users = loaded.scores[~loaded.scores["submission"].isin(refs)] if len(refs) < len(loaded.meta) else loaded.scores
        board, line = pick_board(coverage(board_candidates(index), users), total=len(loaded.meta) - len(refs) or len(loaded.meta))
        if line:
            say(line)
    chosen = get_board(board, implicit_boards(index))
    table = replace(build_table(chosen, index, loaded, by=by), show_efficiency=efficiency)
    if table.frame.empty:
        covered = covered_hint(coverage(board_candidates(index), loaded.scores), skip=chosen.name)
        raise EcombenchError(
            f"no submission in {submissions_dir} has a task of board '{chosen.name}' ({', '.join(chosen.tasks)})"
            + (f"; boards they cover: {covered}" if covered else "; their tasks are in no board: `ecombench tasks` lists the tasks")
        )
    return table
