"""Contamination check: training records against the evaluation items they will be scored on.

Two measures, as in GPT-3's and lm-eval's decontamination: an exact match of a training prompt with
an evaluation prompt (whitespace and case folded), and a shared 13-gram of lower-cased words.

Published training sets share their instruction templates with the benchmark ("... on a scale of 1
to 5, with 1 being very negative and 5 being very positive. input:"), so a raw 13-gram check flags
thousands of records that hold no evaluation content. A 13-gram counts as **template**, and not as
overlap, when it occurs in at least ``TEMPLATE_TRAIN_RECORDS`` training records or in at least
``TEMPLATE_EVAL_ITEMS`` evaluation items of one task: text repeated that widely is an instruction,
not a question. An exact prompt match always counts. What is left is content overlap: a record
that shares a content 13-gram with an evaluation item, reported per item with the records'
``file:line``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ecombench.data.builders import ngrams
from ecombench.records import normalised_prompt
from ecombench.taskindex import TaskInfo
from ecombench.train.sources import TrainRecord

NGRAM = 13
TEMPLATE_TRAIN_RECORDS = 20  # a 13-gram in this many training records or more is template
TEMPLATE_EVAL_ITEMS = 3  # ... or in this many evaluation items of one task or more
RECORDS_SHOWN = 3  # records named per overlapped item


@dataclass(frozen=True)
class ContaminationReport:
    records: int  # training records checked
    eval_items: int  # evaluation items checked against
    exact: int  # records whose prompt equals an evaluation prompt
    ngram: int  # records overlapping an evaluation item: exact, or a content (non-template) 13-gram
    tasks: dict[str, int]  # evaluation task -> its items that some training record overlaps
    template_only: int = 0  # records that share only template 13-grams with evaluation items (not counted)
    template_ngrams: int = 0  # distinct 13-grams judged template
    items: dict[str, list[dict]] = field(default_factory=dict)  # task -> [{item, prompt, records: [file:line], count}]
    flagged: frozenset[int] = frozenset()  # indices of the overlapping records

    @property
    def fraction(self) -> float:
        return self.ngram / self.records if self.records else 0.0

    @property
    def items_overlapped(self) -> int:
        return sum(self.tasks.values())

    def as_dict(self, items_per_task: int | None = None) -> dict:
        return {
            "records": self.records,
            "eval_items": self.eval_items,
            "exact": self.exact,
            f"ngram_{NGRAM}": self.ngram,
            "fraction": round(self.fraction, 6),
            "eval_tasks_overlapped": self.tasks,
            "eval_items_overlapped": self.items_overlapped,
            "template_only_records": self.template_only,
            "template_ngrams": self.template_ngrams,
            "rule": f"{NGRAM}-grams of lower-cased words; template (not counted) when in >= {TEMPLATE_TRAIN_RECORDS} training records "
            f"or >= {TEMPLATE_EVAL_ITEMS} evaluation items of one task; exact prompt matches always count",
            "items": {t: v[:items_per_task] if items_per_task is not None else v for t, v in self.items.items()},
        }

    def line(self) -> str:
        """One line for the terminal."""
        head = f"contamination check: {self.records} training records against {self.eval_items} evaluation items: "
        if not self.ngram:
            tail = f"no overlap ({self.template_only} records share only instruction templates, not counted)" if self.template_only else "no overlap"
            return head + tail
        worst = ", ".join(f"{t} ({n})" for t, n in sorted(self.tasks.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        return (
            head + f"{self.ngram} records ({self.fraction:.2%}; {self.exact} exact) overlap {self.items_overlapped} items, most in {worst}"
            f" ({self.template_only} more share only templates, not counted)"
        )


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
    """Which training records overlap evaluation items by content (see the module's rule)."""
    exact_prompts: dict[str, list[int]] = {}
    owner: dict[tuple[str, ...], set[int]] = {}
    for i, (_, prompt) in enumerate(prompts):
        exact_prompts.setdefault(normalised_prompt(prompt), []).append(i)
        for gram in ngrams(prompt, NGRAM):
            owner.setdefault(gram, set()).add(i)
    # Template on the evaluation side: in >= TEMPLATE_EVAL_ITEMS items of one task.
    template: set[tuple[str, ...]] = set()
    for gram, holders in owner.items():
        if len(holders) >= TEMPLATE_EVAL_ITEMS:
            per_task: dict[str, int] = {}
            for i in holders:
                per_task[prompts[i][0]] = per_task.get(prompts[i][0], 0) + 1
            if max(per_task.values()) >= TEMPLATE_EVAL_ITEMS:
                template.add(gram)
    # One pass over the records: the evaluation n-grams each touches (only those are kept), and how many records share each.
    in_records: dict[tuple[str, ...], int] = {}
    touching: list[tuple[int, set[tuple[str, ...]], list[int]]] = []
    for index, record in enumerate(records):
        grams = {g for g in ngrams(record.prompt + " " + record.completion, NGRAM) if g in owner}
        exact_items = exact_prompts.get(normalised_prompt(record.prompt), [])
        for g in grams:
            in_records[g] = in_records.get(g, 0) + 1
        if grams or exact_items:
            touching.append((index, grams, exact_items))
    template |= {g for g, n in in_records.items() if n >= TEMPLATE_TRAIN_RECORDS}
    exact = 0
    template_only = 0
    flagged: set[int] = set()
    by_item: dict[int, list[int]] = {}
    for index, grams, exact_items in touching:
        content = grams - template
        hits = set(exact_items).union(*(owner[g] for g in content)) if content else set(exact_items)
        exact += bool(exact_items)
        if not hits:
            template_only += 1
            continue
        flagged.add(index)
        for i in hits:
            by_item.setdefault(i, []).append(index)
    start: dict[str, int] = {}
    for i, (task, _) in enumerate(prompts):
        start.setdefault(task, i)
    tasks: dict[str, int] = {}
    items: dict[str, list[dict]] = {}
    for i in sorted(by_item):
        task, prompt = prompts[i]
        tasks[task] = tasks.get(task, 0) + 1
        shown = [records[r].where or f"record {r}" for r in by_item[i][:RECORDS_SHOWN]]
        items.setdefault(task, []).append({"item": i - start[task], "prompt": prompt[:120], "records": shown, "count": len(by_item[i])})
    return ContaminationReport(
        records=len(records),
        eval_items=len(prompts),
        exact=exact,
        ngram=len(flagged),
        tasks=tasks,
        template_only=template_only,
        template_ngrams=len(template),
        items=items,
        flagged=frozenset(flagged),
    )
