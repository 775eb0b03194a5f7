"""The leaderboard table: one row per submission, ranked, with a 95% interval and per-track columns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ecombench.leaderboard import overlap
from ecombench.leaderboard.boards import Board
from ecombench.leaderboard.stats import NORMALISATION, Z95, aggregate, competition_rank, normalisable, win_rates
from ecombench.leaderboard.store import Loaded
from ecombench.metrics.rulesets import KDDCUP, inferred, substitutes, substitutes_note
from ecombench.taskindex import TaskIndex, TaskInfo


@dataclass(frozen=True)
class BoardTable:
    board: Board
    frame: pd.DataFrame  # one row per submission, ranked
    tasks: list[str]
    notes: tuple[str, ...] = ()  # how to read the table: shown under it (caption, footnotes, JSON "notes")
    show_efficiency: bool = False  # the efficiency: columns (time, tokens/s, peak memory) are shown (--efficiency)


RANK_KEYS = {"all_around": "All-Around", "win_rate": "mean win rate"}
# Model kind of the reference rows that `ecombench references` writes (random guess, most frequent answer,
# oracle, builtin:tiny): shown among the ranked rows for scale, flagged "reference", never ranked.
REFERENCE_KIND = "reference"


# The board's "source" column: rows from `ecombench run` (any model kind), from `score --save`, or reference rows.
SOURCES = {"predictions": "predictions", REFERENCE_KIND: "reference", "api": "run (server)"}


# What the board's notes say when a row is flagged contaminated, or noted as not checked (overlap.py).
CONTAMINATED_NOTE = (
    "contaminated: trained on records that overlap items of this board's tasks (the tasks and item counts from the run's lineage); "
    "listed after the ranked rows, not ranked, and left out of the other rows' ranks and win rates"
)
UNCHECKED_NOTE = "note 'not checked against N of the board's tasks': the run's training data was not checked for overlap with those tasks; it is ranked"


def reference_ids(meta: pd.DataFrame) -> set[str]:
    """The submissions of ``meta`` (a ``Loaded.meta``) that are reference rows."""
    return set(meta.loc[meta["kind"] == REFERENCE_KIND, "submission"])


def notes(board: Board, not_normalised: list[str], references: bool = False) -> tuple[str, ...]:
    """The lines that explain a board's numbers: how it ranks and ties, and its normalisation."""
    lines = [
        f"rank: by {RANK_KEYS[board.ranking]} as shown (4 decimals; 2 for 0-100 scores); equal shown values share a rank "
        "and the next is skipped (1, 1, 3); tied rows are listed by All-Around, then name; flagged rows get no rank"
    ]
    if references:
        lines.append(
            "reference rows (flag 'reference': random guess, most frequent answer, oracle, builtin:tiny) are listed "
            "for scale among the ranked rows and are not ranked"
        )
    if board.normalize:
        lines.append(NORMALISATION + (f" (here: {', '.join(not_normalised)})" if not_normalised else ""))
    return tuple(lines)


def _filter(meta: pd.DataFrame, board: Board) -> pd.DataFrame:
    f = board.filters
    keep = pd.Series(True, index=meta.index)
    if f.base_model is not None:
        keep &= meta["base"] == f.base_model
    if f.kind is not None:
        keep &= meta["kind"] == f.kind
    if f.name_contains is not None:
        keep &= meta["name"].str.contains(f.name_contains, regex=False)
    return meta[keep]


def _held_out_means(scores: pd.DataFrame, meta: pd.DataFrame) -> pd.Series:
    """Mean score over the board tasks a trained model never saw in training (EcomGPT's held-out view)."""
    seen = {sub: set(held_in.split()) for sub, held_in in zip(meta["submission"], meta["held_in"], strict=True) if isinstance(held_in, str)}
    unseen = scores[[sub in seen and task not in seen[sub] for sub, task in zip(scores["submission"], scores["task"], strict=True)]]
    return unseen.groupby("submission")["score"].mean()


def ranked_rules(tasks: list[TaskInfo], meta: pd.DataFrame) -> str:
    """The rules a board ranks: those its tasks carry (an imported suite's benchmark, else the KDD Cup's);
    a board mixing suites of different rules ranks the rules most of its submissions used."""
    declared = {(t.config.get("metadata") or {}).get("rules") or inferred([t.metric]) for t in tasks}
    if len(declared) == 1:
        return declared.pop()
    counts = meta["rules"].value_counts()
    return str(sorted(counts.index, key=lambda r: (-counts[r], r))[0]) if not counts.empty else KDDCUP


def rules_flags(meta: pd.DataFrame, ranked: str) -> list[str]:
    """Per row: empty, or ``'<rules> rules'`` where the row was scored by other rules than the board ranks:
    the same answers score differently under Shopping MMLU's code and the KDD Cup's, so they never rank together."""
    return ["" if rules == ranked else f"{rules} rules" for rules in meta["rules"]]


def build_table(board: Board, index: TaskIndex, loaded: Loaded, by: str = "track") -> BoardTable:
    """Rank the submissions on the board. Flagged submissions (missing tasks, other data or task
    version, a ``--limit`` run, training data that overlapped the board's items: ``overlap.board_flag``)
    get no rank; a row whose training data was not checked against some board tasks keeps its rank
    with a ``note`` column (present only then). A row is complete only against the board's own task
    list: a board task that no submission has leaves the table's columns, yet every row still
    counts it as missing."""
    meta = _filter(loaded.meta, board)
    wanted = index.select(board.tasks)
    scores = loaded.scores[loaded.scores["submission"].isin(meta["submission"]) & loaded.scores["task"].isin([t.name for t in wanted])]
    present = set(scores["task"])
    tasks = [t for t in wanted if t.name in present]
    names = [t.name for t in tasks]
    if scores.empty:
        return BoardTable(board, pd.DataFrame(), names)
    current = pd.DataFrame(
        [(t.name, t.data_hash(), t.version, (t.config.get("metadata") or {}).get("random_baseline")) for t in tasks],
        columns=["task", "current_sha", "current_version", "baseline"],
    )
    baselines = pd.to_numeric(current["baseline"], errors="coerce")
    not_normalised = [t for t, b in zip(current["task"], baselines, strict=True) if not normalisable(b)]
    scores = scores.merge(current, on="task")
    scores["changed"] = (scores["data_sha256"] != scores["current_sha"]) | (scores["version"] != scores["current_version"])
    per_sub = scores.groupby("submission").agg(n_tasks=("task", "size"), changed=("changed", "sum"))
    meta = meta[meta["submission"].isin(per_sub.index)].merge(per_sub, left_on="submission", right_index=True)
    flags = []
    # a row trained on items of the board's tasks is not ranked, nor lets its shots or rules decide what the board ranks
    board_tasks = [t.name for t in wanted]
    contaminated = [overlap.board_flag(trained, board_tasks) for trained in meta["overlap"]]
    trusted = meta[[not flag for flag in contaminated]]
    trusted = meta if trusted.empty else trusted
    # 0-shot and few-shot scores are not comparable: a board ranks one shot count (0 when present) and flags the others.
    ranked_shots = 0 if (trusted["shots"] == 0).any() else trusted["shots"].min()
    for kind, limit, n_tasks, changed, shots, dirty in zip(
        meta["kind"], meta["limit"], meta["n_tasks"], meta["changed"], meta["shots"], contaminated, strict=True
    ):
        parts = ["reference"] if kind == REFERENCE_KIND else []
        if dirty:
            parts.append(dirty)
        if shots != ranked_shots:
            parts.append(f"{int(shots)}-shot")
        if limit is not None and not pd.isna(limit):
            parts.append(f"limit {int(limit)}")
        if n_tasks < len(wanted):
            missing = len(wanted) - n_tasks
            parts.append(f"missing {missing} of {len(wanted)} task{'s' if len(wanted) != 1 else ''}")
        if changed:
            parts.append(f"other data/version on {int(changed)} task(s)")
        flags.append("; ".join(parts))
    ranked = ranked_rules(tasks, trusted)
    flags = ["; ".join(p for p in (rules, flag) if p) for flag, rules in zip(flags, rules_flags(meta, ranked), strict=True)]
    # judged tasks rank only under one judge and template: the most common among the trusted rows (ties: by key)
    judges = trusted["judge"].dropna().value_counts() if "judge" in trusted else pd.Series(dtype=int)
    ranked_judge = str(sorted(judges.index, key=lambda k: (-judges[k], k))[0]) if not judges.empty else None
    if ranked_judge is not None:
        flags = [
            "; ".join(p for p in (flag, f"judged by {label}" if key is not None and not pd.isna(key) and key != ranked_judge else "") if p)
            for flag, key, label in zip(flags, meta["judge"], meta["judge_label"], strict=True)
        ]
    meta = meta.assign(flags=flags)
    unchecked = [overlap.unchecked_note(checked, board_tasks) for checked in meta["checked"]]
    if any(unchecked):  # ranked as ever, with a note: the check said nothing about these tasks
        meta = meta.assign(note=unchecked)
    frame = meta.merge(aggregate(scores[["submission", "task", "track", "score", "stderr", "baseline"]], normalize=board.normalize), on="submission")
    frame["ci95"] = Z95 * frame["all_around_stderr"]
    frame["source"] = frame["kind"].map(SOURCES).fillna("run")  # where the row came from: a run, predictions scored, a reference
    if frame["lora_rank"].notna().any():
        frame["held_out"] = frame["submission"].map(_held_out_means(scores, meta))
    clean = frame["flags"] == ""
    key = "all_around"
    if board.ranking == "win_rate":
        frame["win_rate"] = frame["submission"].map(win_rates(scores[scores["submission"].isin(frame.loc[clean, "submission"])]))
        key = "win_rate"
    # ties: ranked on the values as shown (competition_rank), listed by All-Around, then name; reference rows are
    # listed where their value falls among the ranked rows, other flagged rows after them
    reference = frame["kind"] == REFERENCE_KIND
    shown_rank = competition_rank(frame[key]).fillna(len(frame) + 1)
    frame = frame.assign(_flagged=~clean & ~reference, _shown=shown_rank).sort_values(
        ["_flagged", "_shown", "all_around", "name"], ascending=[True, True, False, True], kind="stable"
    )
    frame["rank"] = competition_rank(frame.loc[frame["flags"] == "", key]).reindex(frame.index).astype("Int64")
    frame = frame.drop(columns=["_flagged", "_shown", "n_tasks", "changed"])
    if by == "task":
        pivot = scores.pivot(index="submission", columns="task", values="score")
        frame = frame.merge(pivot.add_prefix("task:"), left_on="submission", right_index=True)
    lines = notes(board, not_normalised, bool(reference.any()))
    if any(contaminated):
        lines = (*lines, CONTAMINATED_NOTE)
    if any(unchecked):
        lines = (*lines, UNCHECKED_NOTE)
    if ranked_judge is not None:
        label = meta.loc[meta["judge"] == ranked_judge, "judge_label"].iloc[0]
        lines = (*lines, f"judged tasks graded by {label}; rows judged by another judge or template are flagged and not ranked")
    if ranked != KDDCUP or (meta["rules"] != ranked).any():  # boards of KDD-scored runs only read as before
        lines = (*lines, f"scores follow the {ranked} rules (--rules of score and run); rows scored by other rules are flagged and not ranked")
    stand_ins = {t.name: "; ".join(found.values()) for t in tasks if (found := substitutes(ranked, [t.metric]))}
    if stand_ins:  # e.g. eCeLLM's Answer_Generation: never shown as if it were the paper's metric
        lines = (*lines, substitutes_note(ranked, stand_ins))
    return BoardTable(board, frame.reset_index(drop=True), names, lines)
