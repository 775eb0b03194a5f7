"""Grading with a model judge, behind one narrow interface: ``generate(prompts) -> replies``.

``generate`` is any backend's greedy generation (one reply per prompt, in order); the grader builds prompts
from a template, asks the judge only for the keys its cache lacks (each distinct prompt once), keeps the raw
replies, and reads each strictly (``ecombench.judge.verdicts``). Three modes:

- ``grade``: SimpleQA-style grading of an answer against a reference (CORRECT / INCORRECT / NOT_ATTEMPTED).
- ``grade_rubric``: each rubric point of an item graded MET / NOT_MET; the item's score is the share of its
  points met (an unparseable point counts as not met, and is counted).
- ``grade_pairwise``: two answers compared in both orders; a pair whose verdict flips with the order is a tie
  and counts toward the position bias (``position_bias``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from ecombench.errors import EcombenchError
from ecombench.judge.cache import JudgeCache, cache_key
from ecombench.judge.metrics import rubric_score
from ecombench.judge.template import Template
from ecombench.judge.verdicts import Grade, parse_verdict

Generate = Callable[[list[str]], list[str]]


class Verdict(BaseModel):
    """One judge call: the cache key, the prompt, the raw reply, the grade read from it, whether it came from the cache."""

    key: str
    prompt: str
    reply: str
    grade: Grade
    cached: bool


@dataclass(frozen=True)
class JudgeItem:
    """An answer to grade against its reference; ``group`` (a concept type) is carried for the per-group scores."""

    question: str
    reference: str
    answer: str
    group: str = ""


@dataclass(frozen=True)
class RubricItem:
    question: str
    answer: str
    points: tuple[str, ...]


@dataclass(frozen=True)
class RubricResult:
    points: list[Verdict]
    score: float  # share of points MET
    unparseable: int


@dataclass(frozen=True)
class PairItem:
    question: str
    first: str
    second: str
    reference: str = ""


Winner = Literal["first", "second", "tie", "unparseable"]


@dataclass(frozen=True)
class PairResult:
    forward: Verdict  # asked with ``first`` shown first
    backward: Verdict  # asked with ``second`` shown first
    winner: Winner
    flipped: bool  # both read, and the better answer changed with the order


@dataclass(frozen=True)
class PositionBias:
    pairs: int
    read: int  # pairs whose two verdicts were both read
    flipped: int

    @property
    def share(self) -> float:
        """The share of read pairs whose verdict flips with the order (0: no sign of position bias)."""
        return self.flipped / self.read if self.read else 0.0


def _require(template: Template, kind: str) -> None:
    if template.kind != kind:
        raise EcombenchError(f"template {template.name} is a {template.kind} template; this grading needs a {kind} one")


def ask(requests: Sequence[tuple[str, str]], generate: Generate, kind: str, judge_identity: str, template: Template, cache: JudgeCache | None) -> list[Verdict]:
    """Verdicts of (key, prompt) requests: cached replies read back, the rest asked in one ``generate`` call."""
    hits = cache.get_many(k for k, _ in requests) if cache is not None else {}
    missing = {key: prompt for key, prompt in requests if key not in hits}
    fresh: dict[str, str] = {}
    if missing:
        prompts = list(missing.values())
        replies = generate(prompts)
        if not isinstance(replies, list) or len(replies) != len(prompts) or not all(isinstance(r, str) for r in replies):
            got = f"{len(replies)} replies" if isinstance(replies, list) else type(replies).__name__
            raise EcombenchError(f"judge {judge_identity}: asked {len(prompts)} prompts, got {got} (one string per prompt expected)")
        fresh = dict(zip(missing, replies))
        if cache is not None:
            cache.put_many(fresh, judge_identity, template.sha256)
    out = []
    for key, prompt in requests:
        reply = hits[key] if key in hits else fresh[key]
        out.append(Verdict(key=key, prompt=prompt, reply=reply, grade=parse_verdict(reply, kind), cached=key in hits))
    return out


def grade(items: Sequence[JudgeItem], generate: Generate, judge_identity: str, template: Template, cache: JudgeCache | None) -> list[Verdict]:
    """SimpleQA-style verdicts, one per item, in order."""
    _require(template, "simpleqa")
    requests = [
        (
            cache_key(judge_identity, template.sha256, it.question, it.answer, it.reference),
            template.render(question=it.question, target=it.reference, predicted_answer=it.answer),
        )
        for it in items
    ]
    return ask(requests, generate, "simpleqa", judge_identity, template, cache)


def grade_rubric(items: Sequence[RubricItem], generate: Generate, judge_identity: str, template: Template, cache: JudgeCache | None) -> list[RubricResult]:
    """Each point of each item graded; results in item order."""
    _require(template, "rubric")
    for number, it in enumerate(items, 1):
        if not it.points:
            raise EcombenchError(f"rubric item {number}: no rubric points")
    requests = [
        (cache_key(judge_identity, template.sha256, it.question, it.answer, point), template.render(question=it.question, answer=it.answer, point=point))
        for it in items
        for point in it.points
    ]
    verdicts = ask(requests, generate, "rubric", judge_identity, template, cache)
    out, start = [], 0
    for it in items:
        mine = verdicts[start : start + len(it.points)]
        start += len(it.points)
        grades = [v.grade for v in mine]
        out.append(RubricResult(mine, rubric_score(grades), grades.count(Grade.UNPARSEABLE)))
    return out


def _winner(forward: Grade, backward: Grade) -> tuple[Winner, bool]:
    if Grade.UNPARSEABLE in (forward, backward):
        return "unparseable", False
    as_first = {Grade.FIRST: "first", Grade.SECOND: "second", Grade.TIE: "tie"}
    swapped = {Grade.FIRST: "second", Grade.SECOND: "first", Grade.TIE: "tie"}
    a, b = as_first[forward], swapped[backward]
    return (a, False) if a == b else ("tie", True)  # type: ignore[return-value]


def grade_pairwise(items: Sequence[PairItem], generate: Generate, judge_identity: str, template: Template, cache: JudgeCache | None) -> list[PairResult]:
    """Both orders of each pair asked; the winner where both orders agree, else a tie (flipped)."""
    _require(template, "pairwise")
    requests = []
    for it in items:
        for shown in ((it.first, it.second), (it.second, it.first)):
            key = cache_key(judge_identity, template.sha256, it.question, json.dumps(shown, ensure_ascii=False), it.reference)
            requests.append((key, template.render(question=it.question, reference=it.reference, first=shown[0], second=shown[1])))
    verdicts = ask(requests, generate, "pairwise", judge_identity, template, cache)
    out = []
    for forward, backward in zip(verdicts[0::2], verdicts[1::2]):
        winner, flipped = _winner(forward.grade, backward.grade)
        out.append(PairResult(forward, backward, winner, flipped))
    return out


def position_bias(results: Sequence[PairResult]) -> PositionBias:
    read = [r for r in results if r.winner != "unparseable"]
    return PositionBias(pairs=len(results), read=len(read), flipped=sum(r.flipped for r in read))


@dataclass(frozen=True)
class Usage:
    """What the judge cost: calls made (cache misses), cache hits, and tokens where a counter is given."""

    calls: int
    cached: int
    prompt_tokens: int | None = None
    reply_tokens: int | None = None


def usage(verdicts: Sequence[Verdict], count_tokens: Callable[[str], int] | None = None) -> Usage:
    """The judge's share of a run's cost, apart from the candidate's: only fresh calls (each distinct prompt once) count."""
    fresh = list({v.key: v for v in verdicts if not v.cached}.values())
    if count_tokens is None:
        return Usage(len(fresh), sum(v.cached for v in verdicts))
    return Usage(len(fresh), sum(v.cached for v in verdicts), sum(count_tokens(v.prompt) for v in fresh), sum(count_tokens(v.reply) for v in fresh))
