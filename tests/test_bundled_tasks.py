"""Sanity of the bundled tasks: an oracle scores 1.0 on every task; options are well formed."""

from __future__ import annotations

import json
import re

import pytest

from ecombench.oracle import oracle_answer
from ecombench.scorefile import score_files
from ecombench.taskindex import build_index, default_roots
from tests.helpers.sources import write_jsonl

TASKS = build_index(default_roots()).select(["ecombench_core", "ecombench_starter"])


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
@pytest.mark.slow
def test_oracle_scores_one(task, tmp_path):
    if task.metric == "multilingual-sent-transformer":
        from ecombench.errors import EcombenchError
        from ecombench.metrics.embedding import resolve_embedding_model

        try:
            resolve_embedding_model(task.metric)
        except EcombenchError:
            pytest.skip("paraphrase-multilingual-MiniLM-L12-v2 is not available offline here")
    rows = [json.loads(line) for line in task.data_file.read_text(encoding="utf-8").splitlines()]
    preds = [{"index": i, "prediction": oracle_answer(r["task_type"], r["output_field"])} for i, r in enumerate(rows)]
    report = score_files(task.data_file, write_jsonl(tmp_path / "oracle.jsonl", preds))
    (score,) = [t.score for t in report.tasks.values()]
    assert score == pytest.approx(1.0, abs=1e-6)
    assert {r["task_type"] for r in rows} == {task.task_type} and {r["metric"] for r in rows} == {task.metric}
    assert {r["track"] for r in rows} == {task.track}


@pytest.mark.parametrize("task", [t for t in TASKS if t.task_type == "multiple-choice"], ids=lambda t: t.name)
def test_multiple_choice_items_have_one_right_and_distinct_options(task):
    for line in task.data_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        options = re.findall(r"^(\d+)\. (.+)$", row["input_field"], flags=re.MULTILINE)
        labels = [int(n) for n, _ in options]
        texts = [t for _, t in options]
        first = labels[0]
        assert first in (0, 1) and labels == list(range(first, first + len(options))) and 3 <= len(options) <= 5
        assert len(set(texts)) == len(texts)  # exactly one option can match the truth's text
        assert row["output_field"] in labels


@pytest.mark.parametrize("name", ["starter_unit_price_mc", "core_unit_price_mc"])
def test_unit_price_answers_are_arithmetically_right(name):
    task = next(t for t in TASKS if t.name == name)
    for line in task.data_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        count, total = re.search(r"A pack of (\d+) .* costs \$([\d.]+)\.", row["input_field"]).groups()
        options = dict(re.findall(r"^(\d+)\. \$([\d.]+)$", row["input_field"], flags=re.MULTILINE))
        assert float(options[str(row["output_field"])]) == pytest.approx(float(total) / int(count), abs=0.005)


def test_cheapest_and_largest_answers_are_right():
    index = {t.name: t for t in TASKS}
    for line in index["core_cheapest_mc"].data_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        prices = {int(n): float(p) for n, p in re.findall(r"^(\d+)\. .*\(\$([\d.]+)\)$", row["input_field"], flags=re.MULTILINE)}
        assert row["output_field"] == min(prices, key=prices.get)


@pytest.mark.parametrize("suite", ["ecombench_core", "ecombench_starter"])
def test_suite_groups_are_the_kdd_tracks(suite):
    """lm-eval aggregates by group membership, ecombench by each task's metadata.track: they must agree.

    The suite's members are its track groups, each holding exactly the suite's tasks of that track; the
    suite group averages its members (``mean_of_members``: the All-Around), each track group its tasks.
    """
    from ecombench.taskindex import read_yaml

    index = build_index(default_roots())
    suite_group = index.groups[suite]
    tasks = index.select([suite])
    tracks = {t.track for t in tasks}
    assert set(suite_group.members) == {f"{suite}_{track}" for track in tracks}
    for track in tracks:
        members = index.groups[f"{suite}_{track}"].members
        assert sorted(members) == sorted(t.name for t in tasks if t.track == track)
        (agg,) = read_yaml(index.groups[f"{suite}_{track}"].yaml_path)["aggregate_metric_list"]
        assert agg == {"metric": "kdd_score", "aggregation": "mean", "weight_by_size": False}
    (agg,) = read_yaml(suite_group.yaml_path)["aggregate_metric_list"]
    assert agg["metric"] == "kdd_score" and agg["aggregation"] == "!function ecombench.hooks.mean_of_members"
