"""How far a judge agrees with people (or with another judge): Cohen's kappa and the confusion table.

A labelled sample is JSON Lines or CSV with the fields ``question``, ``answer`` and ``human`` (the person's
grade: ``A``/``B``/``C`` or ``CORRECT``/``INCORRECT``/``NOT_ATTEMPTED``, read as judge replies are), and
``reference`` (the gold answer the judge grades against; ``target`` and ``gt`` are read as the same). A second
judge's verdicts are a file of the same form with ``grade`` instead of ``human``, matched by (question, answer).
Kappa is scikit-learn's ``cohen_kappa_score`` (unweighted): 1 is full agreement, 0 what chance gives.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.io import open_regular
from ecombench.judge.verdicts import LETTERS, Grade, parse_verdict
from ecombench.records import iter_jsonl

REFERENCE_FIELDS = ("reference", "target", "gt")


@dataclass(frozen=True)
class Labelled:
    question: str
    reference: str
    answer: str
    grade: Grade
    where: str  # file:line


def _rows(path: Path) -> list[tuple[str, dict]]:
    """(file:line, row) of a JSON Lines or CSV file (by suffix: ``.csv`` is CSV, anything else JSON Lines)."""
    if path.suffix.lower() != ".csv":
        return [(f"{path}:{n}", row) for n, row in iter_jsonl(path)]
    try:
        raw = open_regular(path)
    except OSError as exc:
        raise EcombenchError(f"{path}: cannot read ({exc.strerror})") from exc
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
        try:
            reader = csv.DictReader(handle)
            return [(f"{path}:{reader.line_num}", row) for row in reader]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise EcombenchError(f"{path}: not a readable UTF-8 CSV file ({exc})") from exc


def read_labelled(path: Path, grade_field: str = "human", kind: str = "simpleqa") -> list[Labelled]:
    """The rows of a labelled sample (or of a judge's verdicts, ``grade_field="grade"``); a row without its
    fields, or with a grade that is not one of the kind's, is an error naming its file:line."""
    out = []
    for where, row in _rows(path):
        missing = [f for f in ("question", "answer", grade_field) if not isinstance(row.get(f), str)]
        if missing:
            raise EcombenchError(f"{where}: no text field {', '.join(repr(f) for f in missing)} (a labelled sample has question, answer, {grade_field})")
        grade = parse_verdict(row[grade_field], kind)
        if grade == Grade.UNPARSEABLE and grade_field == "human":
            names = ", ".join(f"{letter} ({g.value})" for letter, g in LETTERS[kind].items())
            raise EcombenchError(f"{where}: {grade_field} grade {row[grade_field]!r} is not one of {names}")
        reference = next((row[f] for f in REFERENCE_FIELDS if isinstance(row.get(f), str)), "")
        out.append(Labelled(row["question"], reference, row["answer"], grade, where))
    if not out:
        raise EcombenchError(f"{path}: no rows")
    return out


def match_verdicts(sample: Sequence[Labelled], verdicts: Sequence[Labelled], verdicts_path: Path) -> list[Grade]:
    """The second judge's grade of each sample row, matched by (question, answer)."""
    by_pair: dict[tuple[str, str], Grade] = {}
    for v in verdicts:
        by_pair.setdefault((v.question, v.answer), v.grade)
    out = []
    for row in sample:
        if (row.question, row.answer) not in by_pair:
            raise EcombenchError(f"{verdicts_path}: no verdict for the question and answer of {row.where}")
        out.append(by_pair[(row.question, row.answer)])
    return out


@dataclass(frozen=True)
class Agreement:
    """Kappa (None where it is undefined: both raters gave one and the same grade throughout), the share of
    rows graded alike, and the confusion table: ``matrix[i][j]`` rows graded ``labels[i]`` by the first rater
    (the people) and ``labels[j]`` by the second (the judge)."""

    items: int
    kappa: float | None
    observed: float
    labels: list[str]
    matrix: list[list[int]]


def agreement(first: Sequence[Grade], second: Sequence[Grade], kind: str = "simpleqa") -> Agreement:
    """Cohen's kappa and the confusion table of two raters' grades of the same items."""
    import warnings

    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    if len(first) != len(second) or not first:
        raise ValueError(f"{len(first)} and {len(second)} grades: two raters need the same items, at least one")
    labels = [g.value for g in LETTERS[kind].values()]
    if Grade.UNPARSEABLE in first or Grade.UNPARSEABLE in second:
        labels.append(Grade.UNPARSEABLE.value)
    a, b = [g.value for g in first], [g.value for g in second]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kappa is 0/0 where both raters gave one grade throughout: None below
        kappa = float(cohen_kappa_score(a, b, labels=labels))
    matrix = confusion_matrix(a, b, labels=labels).tolist()
    return Agreement(len(a), None if kappa != kappa else kappa, sum(x == y for x, y in zip(a, b)) / len(a), labels, matrix)


def judge_sample(sample: Sequence[Labelled], generate, judge_identity: str, template, cache) -> list[Grade]:
    """The judge's grade of each row of a labelled sample (``grade``'s arguments; replies cached as in a run)."""
    from ecombench.judge.grade import JudgeItem, grade

    return [v.grade for v in grade([JudgeItem(r.question, r.reference, r.answer) for r in sample], generate, judge_identity, template, cache)]


def as_json(result: Agreement) -> dict:
    return {"items": result.items, "kappa": result.kappa, "observed_agreement": result.observed, "labels": result.labels, "confusion": result.matrix}
