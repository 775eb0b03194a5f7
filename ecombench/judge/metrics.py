"""SimpleQA's metrics of judged short answers, and the rubric aggregate: pure functions of grades.

SimpleQA (openai/simple-evals, ``simpleqa_eval.py``): *correct* is the share of all items graded correct;
*correct given attempted* is correct / (correct + incorrect), the items not marked not-attempted; the
*F-score* is their harmonic mean (0 where both are 0). An UNPARSEABLE verdict counts as attempted and not
correct (as incorrect), and is counted apart so that it is seen. ChineseEcomQA reports these per concept type
and over all items pooled (``overall``: every item weighs the same, not every concept type).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ecombench.judge.verdicts import Grade

OVERALL = "overall"


@dataclass(frozen=True)
class SimpleQAScores:
    """Counts of each grade, and SimpleQA's three rates."""

    items: int
    correct: int
    incorrect: int
    not_attempted: int
    unparseable: int

    @property
    def correct_rate(self) -> float:
        return self.correct / self.items if self.items else 0.0

    @property
    def attempted(self) -> int:
        return self.correct + self.incorrect + self.unparseable

    @property
    def correct_given_attempted(self) -> float:
        return self.correct / self.attempted if self.attempted else 0.0

    @property
    def f_score(self) -> float:
        c, cga = self.correct_rate, self.correct_given_attempted
        return 2 * c * cga / (c + cga) if c + cga else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "items": self.items,
            "correct": self.correct_rate,
            "correct_given_attempted": self.correct_given_attempted,
            "f_score": self.f_score,
            "n_correct": self.correct,
            "n_incorrect": self.incorrect,
            "n_not_attempted": self.not_attempted,
            "n_unparseable": self.unparseable,
        }


def simpleqa_scores(grades: Sequence[Grade]) -> SimpleQAScores:
    """SimpleQA's counts of a list of CORRECT / INCORRECT / NOT_ATTEMPTED / UNPARSEABLE grades."""
    other = {g for g in grades} - {Grade.CORRECT, Grade.INCORRECT, Grade.NOT_ATTEMPTED, Grade.UNPARSEABLE}
    if other:
        raise ValueError(f"not SimpleQA grades: {', '.join(sorted(other))}")
    return SimpleQAScores(
        items=len(grades),
        correct=grades.count(Grade.CORRECT),
        incorrect=grades.count(Grade.INCORRECT),
        not_attempted=grades.count(Grade.NOT_ATTEMPTED),
        unparseable=grades.count(Grade.UNPARSEABLE),
    )


def simpleqa_by_group(grades: Sequence[Grade], groups: Sequence[str]) -> dict[str, SimpleQAScores]:
    """Scores per group (a ChineseEcomQA concept type), in order of first appearance, then ``overall``."""
    if len(grades) != len(groups):
        raise ValueError(f"{len(grades)} grades for {len(groups)} group names")
    out = {g: simpleqa_scores([grade for grade, group in zip(grades, groups) if group == g]) for g in dict.fromkeys(groups)}
    out[OVERALL] = simpleqa_scores(list(grades))
    return out


def rubric_score(grades: Sequence[Grade]) -> float:
    """An item's score under a rubric: the share of its points MET. A NOT_MET or UNPARSEABLE point counts as not met."""
    if not grades:
        raise ValueError("a rubric item needs at least one point")
    return sum(g == Grade.MET for g in grades) / len(grades)
