"""``ecombench judge pairwise A B --judge MODEL``: a model judge compares two runs' answers to the same questions.

Every question both runs answered (paired by item hash, on the tasks they share, or on ``tasks``) is shown to the
judge twice, A's answer first and then B's first (``ecombench.judge.grade_pairwise``, template ``pairwise_v1``).
A pair's winner is the answer both orders prefer; a pair whose verdict changes with the order is a tie and counts
toward the judge's *position bias*: the share of read pairs that flip. Verdicts are cached as a run's are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.run import JudgeOptions, RunOptions
from ecombench.submissions import Submission


@dataclass(frozen=True)
class PairwiseReport:
    a: Submission
    b: Submission
    judge: str  # the judge as a person reads it
    template: str
    pairs: int
    wins: dict[str, int]  # "a", "b", "tie", "unparseable"
    flipped: int  # read pairs whose verdict changed with the order (counted as ties)
    read: int
    by_task: dict[str, dict[str, int]]

    @property
    def position_bias(self) -> float:
        return self.flipped / self.read if self.read else 0.0

    def as_json(self) -> dict:
        return {
            "a": self.a.id,
            "b": self.b.id,
            "judge": self.judge,
            "template": self.template,
            "pairs": self.pairs,
            "wins": dict(self.wins),
            "flipped": self.flipped,
            "read": self.read,
            "position_bias": self.position_bias,
            "by_task": self.by_task,
        }


def pairwise(folder: Path, key_a: str, key_b: str, judge: JudgeOptions, tasks: list[str] | None = None, template_name: str = "pairwise_v1") -> PairwiseReport:
    """Resolve the two runs in ``folder`` (ids, id prefixes or names), pair their answers and have ``judge`` compare them."""
    from ecombench.judge import JudgeCache, PairItem, grade_pairwise, load_template, position_bias
    from ecombench.leaderboard.compare import check_pair, resolve
    from ecombench.leaderboard.store import load_submissions
    from ecombench.run import judging
    from ecombench.submissions import load_items

    if not judge.model:
        raise EcombenchError("judge pairwise needs --judge MODEL (the model that compares the answers)")
    template = load_template(template_name)
    if template.kind != "pairwise":
        raise EcombenchError(f"--template {template_name}: a {template.kind} template; judge pairwise needs a pairwise one (pairwise_v1)")
    subs = load_submissions(folder)
    a, b = resolve(subs, key_a), resolve(subs, key_b)
    check_pair(a, b)
    shared = [t for t in a.chosen.tasks if t in b.chosen.tasks and (tasks is None or t in tasks)]
    if not shared:
        raise EcombenchError(f"--tasks {', '.join(tasks or [])}: none of them is a task both runs have")
    items_b = {(i.task, i.item_hash): i for i in load_items(folder, b.chosen) if i.task in shared}
    pairs = [(i, items_b[(i.task, i.item_hash)]) for i in load_items(folder, a.chosen) if (i.task, i.item_hash) in items_b]
    if not pairs:
        raise EcombenchError(f"{a.chosen.name} ({a.chosen.id}) and {b.chosen.name} ({b.chosen.id}) answered no question in common")
    built = judging.build(judge, RunOptions(model=""))
    asked = [PairItem(question=x.prompt, first=x.prediction, second=y.prediction, reference=str(x.target)) for x, y in pairs]
    results = grade_pairwise(asked, judging.generator(built), built.identity, template, JudgeCache())
    name = {"first": "a", "second": "b", "tie": "tie", "unparseable": "unparseable"}
    wins = Counter(name[r.winner] for r in results)
    by_task: dict[str, Counter] = {}
    for (x, _), r in zip(pairs, results, strict=True):
        by_task.setdefault(x.task, Counter())[name[r.winner]] += 1
    bias = position_bias(results)
    label = f"{built.resolved.identity.spec} ({built.options.backend})"
    return PairwiseReport(
        a.chosen,
        b.chosen,
        label,
        f"{template.name} ({template.sha256[:8]})",
        len(results),
        dict(wins),
        bias.flipped,
        bias.read,
        {t: dict(c) for t, c in by_task.items()},
    )
