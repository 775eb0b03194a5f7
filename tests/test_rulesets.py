"""The RULESETS table: each metric carries its question function and task reduction (issue 35).

Expected values are worked out by hand in the comments; the tables the rest of ecombench reads (metric
names, task types, rule names) are pinned as users see them in messages and `import jsonl`'s default.
"""

from __future__ import annotations

import math
import typing

import pytest

from ecombench import submissions
from ecombench.metrics import ecellm
from ecombench.metrics.reductions import MEAN, MICRO_F1, mean_of_track_means, task_rule
from ecombench.metrics.rulesets import DEFAULT_BY_FORMAT, METRIC_NAMES, METRICS_BY_TASK_TYPE, RULES, RULESETS, Metric, RuleName, RuleSet
from ecombench.metrics.scores import F1Counts, accuracy
from ecombench.scoring import ScoringItem, score_report


def test_the_rule_names_are_the_table_keys_the_literal_and_the_submission_field():
    assert RULES == ("kddcup", "shopping-mmlu", "ecomgpt", "ecellm")  # the order `--rules helm: use one of ...` lists
    assert all(name == rules.name for name, rules in RULESETS.items())
    assert typing.get_args(RuleName) == RULES == typing.get_args(submissions.Rules)
    assert all(rules.description for rules in RULESETS.values())


def test_a_metric_name_has_one_task_type_and_one_kind_of_reduction_in_every_rule_set():
    seen: dict[str, tuple[str, bool]] = {}
    for rules in RULESETS.values():
        for m in rules.metrics:
            assert seen.setdefault(m.name, (m.task_type, m.reduction.pooled)) == (m.task_type, m.reduction.pooled), (rules.name, m.name)


def test_derived_name_tables_as_users_see_them():
    assert METRIC_NAMES[:12] == (
        *("accuracy", "hit rate@3", "ndcg", "rougel", "bleu", "jp-bleu", "micro f1", "sent-transformer", "multilingual-sent-transformer"),
        *("task-wise accuracy", "task-wise letter accuracy", "task-wise rating letter accuracy"),
    )
    assert len(METRIC_NAMES) == 12 + 1 + 5 + 7  # KDD Cup judged short answers, EcomGPT's five, eCeLLM's six task rules and its ROUGE-L stand-in
    assert METRICS_BY_TASK_TYPE["multiple-choice"] == ("accuracy", "task-wise accuracy", "task-wise letter accuracy", "task-wise rating letter accuracy")
    assert METRICS_BY_TASK_TYPE["generation"][0] == "rougel"  # `import jsonl --type generation`'s default metric
    assert METRICS_BY_TASK_TYPE["named_entity_recognition"] == ("micro f1",)
    assert DEFAULT_BY_FORMAT == {"shopping-mmlu": "shopping-mmlu", "ecominstruct": "ecomgpt", "ecinstruct": "ecellm"}
    assert "task-wise letter accuracy" not in RULESETS["kddcup"].by_name  # the KDD parser cannot read lettered options


def test_reductions_by_hand():
    assert MEAN.reduce([1.0, 0.0, 0.5]) == 0.5
    assert MEAN.stderr([1.0, 0.0]) == pytest.approx(math.sqrt(0.5) / math.sqrt(2))  # sample sd 0.7071 over sqrt(2): 0.5
    assert MEAN.stderr([1.0]) is None
    # tp 2, fp 1, fn 1 pooled: precision = recall = 2/3, F1 2/3; the first question alone: P 1/2, R 1, F1 2/3
    pooled = [F1Counts(1, 1, 0), F1Counts(1, 0, 1)]
    assert MICRO_F1.reduce(pooled) == pytest.approx(2 / 3) and MICRO_F1.item_score(pooled[0]) == pytest.approx(2 / 3)
    # eCeLLM yes/no: the unreadable answer is dropped; of ("yes", yes) and ("no", yes): tp 1, fn 1, F1 = 2/3
    yes_no = task_rule(ecellm.TASK_METRICS["ecellm-yes-no-f1"], "F1 of yes")
    observed = [("yes", "yes"), (None, "yes"), ("no", "yes")]
    assert yes_no.reduce(observed) == pytest.approx(2 / 3) and yes_no.stderr(observed) is None and yes_no.pooled
    assert [yes_no.item_score(o) for o in observed] == [1.0, 0.0, 0.0]


def test_track_means_then_their_mean():
    # tracks sorted by name: a = 0.25, b = (1 + 0) / 2 = 0.5; All-Around (0.25 + 0.5) / 2 = 0.375
    assert mean_of_track_means({"b": [1.0, 0.0], "a": [0.25]}) == ({"a": 0.25, "b": 0.5}, 0.375)
    assert mean_of_track_means({}) == ({}, 0.0)


def test_what_a_metric_reads_decides_the_score():
    # "Answer: 3" for option 3: the KDD parser reads "A" (not a digit) -> 0; Shopping MMLU's task-wise rule
    # reads the first numeric character -> 1. One task per track, so All-Around is the task score.
    items = [ScoringItem("t", "multiple-choice", "task-wise accuracy", "k", 3, "Answer: 3")]
    assert RULESETS["kddcup"].by_name["task-wise accuracy"].reads == "parsed"
    assert score_report(items, rules="kddcup")[0].all_around == 0.0
    assert score_report(items, rules="shopping-mmlu")[0].all_around == 1.0


def test_a_rule_set_naming_a_metric_twice_is_refused():
    twice = Metric("accuracy", "multiple-choice", "parsed", accuracy)
    with pytest.raises(ValueError, match="rule set kddcup: a metric named twice"):
        RuleSet("kddcup", "x", (twice, twice))
