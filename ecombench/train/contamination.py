"""Contamination check: training records against the evaluation items they will be scored on.

Two measures, as in GPT-3's and lm-eval's decontamination: an exact match of a training prompt
with an evaluation prompt (whitespace and case folded), and a shared 13-gram of lower-cased words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from ecombench.data.builders import ngrams
from ecombench.records import normalised_prompt
from ecombench.taskindex import TaskInfo
from ecombench.train.data import TrainRecord

NGRAM = 13


@dataclass(frozen=True)
class ContaminationReport:
    records: int  # training records checked
    eval_items: int  # evaluation items checked against
    exact: int  # records whose prompt equals an evaluation prompt
    ngram: int  # records sharing a 13-gram with an evaluation prompt (exact ones included)
    tasks: dict[str, int]  # evaluation task -> its items that some training record overlaps

    @property
    def fraction(self) -> float:
        return self.ngram / self.records if self.records else 0.0

    def as_dict(self) -> dict:
        return {
            "records": self.records,
            "eval_items": self.eval_items,
            "exact": self.exact,
            f"ngram_{NGRAM}": self.ngram,
            "fraction": round(self.fraction, 6),
            "eval_tasks_overlapped": self.tasks,
        }


def eval_prompts(tasks: Iterable[TaskInfo]) -> list[tuple[str, str]]:
    """(task, prompt) of every item of the given tasks."""
    out: list[tuple[str, str]] = []
    for task in tasks:
        if task.data_file is None:
            continue
        with task.data_file.open(encoding="utf-8") as handle:
            out.extend((task.name, json.loads(line)["input_field"]) for line in handle if line.strip())
    return out


def check(records: list[TrainRecord], prompts: list[tuple[str, str]]) -> ContaminationReport:
    """Count training records that overlap any evaluation prompt, exactly or by a 13-gram."""
    exact_prompts = {normalised_prompt(p) for _, p in prompts}
    owner: dict[tuple[str, ...], set[int]] = {}
    for i, (_, prompt) in enumerate(prompts):
        for gram in ngrams(prompt, NGRAM):
            owner.setdefault(gram, set()).add(i)
    exact = ngram = 0
    hit_items: set[int] = set()
    for record in records:
        is_exact = normalised_prompt(record.prompt) in exact_prompts
        hits = set().union(*(owner.get(g, ()) for g in ngrams(record.prompt + " " + record.completion, NGRAM)))
        exact += is_exact
        if hits or is_exact:
            ngram += 1
            hit_items |= hits
    tasks: dict[str, int] = {}
    for i in sorted(hit_items):
        tasks[prompts[i][0]] = tasks.get(prompts[i][0], 0) + 1
    return ContaminationReport(len(records), len(prompts), exact, ngram, tasks)
