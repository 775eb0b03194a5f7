"""``ecombench compare``: per-task and per-track deltas with a paired test on item-level scores.

Items are matched by their content hash (prompt + truth), so two runs pair up even when their
doc order differs. Each task gets an exact paired test (``stats.paired_test``: McNemar's exact test
for 0/1 item scores, a sign-flip permutation test for others) and a 95% interval of its delta where
its items give one; Holm's correction runs across the tasks of one comparison. Tasks pooled by micro
F1 (or by one of eCeLLM's task rules) are compared on item scores, as an approximation. The CLI, its
JSON and the report's side-by-side page all read these figures (``task_json``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.leaderboard.stats import PairedTest, holm, paired_test
from ecombench.leaderboard.store import load_submissions
from ecombench.submissions import ItemRecord, Submission, load_items

ALPHA = 0.05


@dataclass(frozen=True)
class TaskDelta:
    task: str
    track: str
    a: float
    b: float
    n_paired: int
    p_value: float | None
    p_adjusted: float | None
    same_answers: int = 0  # paired items whose raw outputs are the same string
    test: PairedTest | None = None  # None: no paired items

    @property
    def delta(self) -> float:
        return self.b - self.a

    @property
    def significant(self) -> bool:
        return self.p_adjusted is not None and self.p_adjusted < ALPHA


@dataclass(frozen=True)
class Flip:
    task: str
    prompt: str
    target: object
    prediction_a: str
    prediction_b: str
    score_a: float
    score_b: float


@dataclass
class Comparison:
    a: Submission
    b: Submission
    tasks: list[TaskDelta] = field(default_factory=list)
    tracks: dict[str, tuple[float, float]] = field(default_factory=dict)
    flips: list[Flip] = field(default_factory=list)


@dataclass(frozen=True)
class Resolved:
    """What a run name on the command line stands for: the run used, and every run it matched."""

    key: str
    chosen: Submission
    matches: tuple[Submission, ...]  # newest first; more than one when a name is shared by several runs

    def note(self) -> str:
        """``'tiny' matches 3 runs (newest first: id1, id2, id3); using id1``, or "" for one match."""
        if len(self.matches) < 2:
            return ""
        return f"'{self.key}' matches {len(self.matches)} runs (newest first: {', '.join(s.id for s in self.matches)}); using {self.chosen.id}"


def resolve(subs: list[Submission], key: str) -> Resolved:
    """A submission by id, id prefix, or name (the newest of that name, the others kept as ``matches``)."""
    exact = [s for s in subs if s.id == key]
    by_id = exact or [s for s in subs if s.id.startswith(key)]
    if len(by_id) == 1:
        return Resolved(key, by_id[0], (by_id[0],))
    named = sorted((s for s in subs if s.name == key), key=lambda s: s.created, reverse=True)
    if named:
        return Resolved(key, named[0], tuple(named))
    if len(by_id) > 1:
        raise EcombenchError(f"id prefix '{key}' matches {len(by_id)} submissions ({', '.join(s.id for s in by_id[:5])}); give more of the id")
    close = difflib.get_close_matches(key, list(dict.fromkeys([*(s.name for s in subs), *(s.id for s in subs)])), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise EcombenchError(f"no submission named or with id '{key}'{hint}")


def find(subs: list[Submission], key: str) -> Submission:
    """A submission by id, id prefix, or name (the newest of that name)."""
    return resolve(subs, key).chosen


def check_pair(a: Resolved, b: Resolved) -> None:
    """Raise when the chosen runs share no task, naming the runs of the same names that do (by id)."""
    if set(a.chosen.tasks) & set(b.chosen.tasks):
        return
    pairs = sorted(
        ((len(set(x.tasks) & set(y.tasks)), x, y) for x in a.matches for y in b.matches if set(x.tasks) & set(y.tasks)),
        key=lambda p: (-p[0], -max(p[1].created, p[2].created).timestamp()),
    )
    message = f"{a.chosen.name} ({a.chosen.id}) and {b.chosen.name} ({b.chosen.id}) have no task in common"
    if pairs:
        offers = "; ".join(f"ecombench compare {x.id} {y.id} ({n} shared task{'s' if n != 1 else ''})" for n, x, y in pairs[:3])
        message += f"; runs of these names that do: {offers}"
    elif len(a.matches) > 1 or len(b.matches) > 1:
        message += "; nor do the other runs of these names"
    raise EcombenchError(message)


def check_judges(a: Submission, b: Submission) -> None:
    """Raise when both runs have judged tasks graded by different judges or templates: their judged scores are not comparable."""
    if a.judge is not None and b.judge is not None and a.judge.key() != b.judge.key():
        raise EcombenchError(
            f"{a.name} ({a.id}) was judged by {judge_label(a)} and {b.name} ({b.id}) by {judge_label(b)}; "
            "judged scores compare only under one judge and template: run both with the same --judge"
        )


def judge_label(sub: Submission) -> str:
    """A judge as a person reads it: its model, template name and the start of the template's hash."""
    return sub.judge.label() if sub.judge is not None else "no judge"


def check_rules(a: Submission, b: Submission) -> None:
    """Raise when the two runs were scored by different rules: the same answers score differently under them."""
    if a.rules != b.rules:
        raise EcombenchError(
            f"{a.name} ({a.id}) was scored by the {a.rules} rules and {b.name} ({b.id}) by the {b.rules} rules; "
            "score both by one (ecombench score --rules ...) to compare them"
        )


def compare(a: Submission, b: Submission, folder: Path, iters: int = 10_000, seed: int = 0) -> Comparison:
    """Compare ``b`` against ``a`` on the tasks both have (scored by the same rules: others never rank together)."""
    check_rules(a, b)
    check_judges(a, b)
    return compare_items(a, b, by_hash(load_items(folder, a)), by_hash(load_items(folder, b)), iters, seed)


def compare_runs(
    folder: Path, keys: list[str], iters: int = 10_000, say: Callable[[str], None] = lambda line: None
) -> tuple[list[Submission], list[Comparison]]:
    """``ecombench compare``: the runs ``keys`` name in ``folder`` (ids, id prefixes or names; the first is the
    reference), and each other run compared against the reference. ``say`` is told which run a name shared
    by several runs stands for. Refused before anything is compared: fewer than two runs, a name that is
    not there, a run that shares no task with the reference."""
    if len(keys) < 2:
        raise EcombenchError("compare needs at least two submissions")
    subs = load_submissions(folder)
    resolved = [resolve(subs, key) for key in keys]
    for res in resolved:
        if res.note():
            say(res.note())
    for other in resolved[1:]:
        check_pair(resolved[0], other)
    reference = resolved[0].chosen
    return [res.chosen for res in resolved], [compare(reference, other.chosen, folder, iters=iters) for other in resolved[1:]]


def compare_items(
    a: Submission, b: Submission, items_a: dict[str, dict[str, ItemRecord]], items_b: dict[str, dict[str, ItemRecord]], iters: int = 10_000, seed: int = 0
) -> Comparison:
    """``compare`` of items already read (``by_hash``): the report compares each of its runs with several others."""
    shared = [t for t in a.tasks if t in b.tasks]
    if not shared:
        raise EcombenchError(f"{a.name} ({a.id}) and {b.name} ({b.id}) have no task in common")
    out = Comparison(a, b)
    raw: dict[str, tuple[PairedTest | None, int, int]] = {}
    for task in shared:
        keys = sorted(set(items_a.get(task, {})) & set(items_b.get(task, {})))
        sa = [items_a[task][k].score for k in keys]
        sb = [items_b[task][k].score for k in keys]
        test = paired_test(sa, sb, iters=iters, seed=seed) if keys else None
        same = sum(items_a[task][k].prediction == items_b[task][k].prediction for k in keys)
        raw[task] = (test, len(keys), same)
        for k in keys:
            ia, ib = items_a[task][k], items_b[task][k]
            if (ia.score > 0) != (ib.score > 0) or (ia.score == 1.0) != (ib.score == 1.0):
                out.flips.append(Flip(task, ia.prompt, ia.target, ia.prediction, ib.prediction, ia.score, ib.score))
    adjusted = holm({t: test.p_value for t, (test, _, _) in raw.items() if test is not None})
    for task in shared:
        test, n, same = raw[task]
        p = test.p_value if test is not None else None
        out.tasks.append(TaskDelta(task, a.tasks[task].track, a.tasks[task].score, b.tasks[task].score, n, p, adjusted.get(task), same, test))
    tracks = sorted({d.track for d in out.tasks})
    for track in tracks:
        rows = [d for d in out.tasks if d.track == track]
        out.tracks[track] = (sum(d.a for d in rows) / len(rows), sum(d.b for d in rows) / len(rows))
    return out


def task_json(d: TaskDelta) -> dict[str, Any]:
    """One task of a comparison as ``compare --format json`` and the report's side-by-side page show it."""
    t = d.test
    return {
        "a": d.a,
        "b": d.b,
        "delta": d.delta,
        "n_paired": d.n_paired,
        "same_answers": d.same_answers,
        "differing": t.differing if t else 0,
        "test": t.test if t else None,
        "p": d.p_value,
        "p_mc_error": t.mc_error if t else None,
        "p_holm": d.p_adjusted,
        "significant": d.significant,
        # the interval is of the mean item-score difference over the paired items (the task's own delta when
        # its score is that mean; an approximation for pooled scores)
        "ci95": list(t.interval) if t and t.interval else None,
        "ci95_note": (t.interval_note if t else "no paired items") if not (t and t.interval) else "",
    }


def p_text(d: TaskDelta) -> str:
    """A task's Holm-adjusted p-value as the table shows it, or ``-`` when it has none."""
    return f"{d.p_adjusted:.4f}" if d.p_adjusted is not None else "-"


def interval_text(d: TaskDelta) -> str:
    """The 95% interval of a task's delta as the table shows it, or ``-`` when there is none."""
    if d.test is None or d.test.interval is None:
        return "-"
    low, high = d.test.interval
    return f"[{low:+.3f}, {high:+.3f}]"


def by_hash(items: list[ItemRecord]) -> dict[str, dict[str, ItemRecord]]:
    out: dict[str, dict[str, ItemRecord]] = {}
    for item in items:
        out.setdefault(item.task, {})[item.item_hash] = item
    return out


def run_letters(n: int) -> list[str]:
    """``A`` for the reference, then ``B``, ``C``, ... (``B1`` ... past ``Z``)."""
    return [chr(ord("A") + i) if i < 26 else f"B{i}" for i in range(n)]


def wide_rows(results: list[Comparison]) -> tuple[list[str], list[list[str]]]:
    """Several comparisons against one reference as one table: a column per run (``A`` the reference), and
    for each other run its delta against A (``*``: significant after Holm, as in the pairwise table).
    Rows: All-Around and the tracks first (each submission's own figures, as the board shows them), then
    the reference's tasks. A run without a task shows ``-``."""
    a = results[0].a
    letters = run_letters(len(results) + 1)
    header = ["task", letters[0]]  # the runs' names are in the legend above the table (compare_view.legend)
    for letter in letters[1:]:
        header += [letter, f"\u0394{letter}"]

    def row(label: str, ref: float | None, others: list[tuple[float | None, bool]]) -> list[str]:
        cells = [label, "-" if ref is None else f"{ref:.4f}"]
        for value, significant in others:
            cells.append("-" if value is None else f"{value:.4f}")
            cells.append("-" if value is None or ref is None else f"{value - ref:+.4f}" + ("*" if significant else ""))
        return cells

    rows = [row("All-Around", a.all_around, [(r.b.all_around, False) for r in results])]
    for track in sorted(set(a.tracks).union(*(r.b.tracks for r in results))):
        rows.append(row(f"track: {track}", a.tracks.get(track), [(r.b.tracks.get(track), False) for r in results]))
    deltas = [{d.task: d for d in r.tasks} for r in results]
    for task in a.tasks:
        rows.append(row(task, a.tasks[task].score, [(d[task].b, d[task].significant) if task in d else (None, False) for d in deltas]))
    return header, rows
