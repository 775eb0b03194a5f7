"""Rules as a recorded choice (issue 27): in the submission record, read from old records, and on the board."""

from __future__ import annotations

import json

import pandas as pd

from ecombench import submissions
from ecombench.importers import IMPORTERS
from ecombench.importers.writer import write_suite
from ecombench.leaderboard.table import ranked_rules
from ecombench.taskindex import build_index
from tests.helpers.boards import INDEX, board, build_table, make_submission, uniform
from tests.helpers.sources import write_jsonl


def test_a_new_record_carries_schema_2_and_its_rules():
    sub = make_submission("m", uniform(0.5)).model_copy(update={"rules": "shopping-mmlu"})
    data = json.loads(sub.model_dump_json())
    assert data["schema_version"] == 2 and data["rules"] == "shopping-mmlu"
    assert submissions.Submission.model_validate(data).rules == "shopping-mmlu"


def test_a_version_1_record_loads_with_the_rules_that_scored_it(tmp_path):
    data = json.loads(make_submission("old", uniform(0.5)).model_dump_json())
    del data["rules"]
    data["schema_version"] = 1
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert submissions.load(tmp_path / "old.json").rules == "kddcup"
    for task in data["tasks"].values():  # an EcomGPT suite scored before rules were recorded
        task["metric"] = "ecomgpt-cls-f1"
    assert submissions.Submission.model_validate(data).rules == "ecomgpt"


def test_runs_under_other_rules_are_flagged_and_never_ranked_with_kdd_runs():
    kdd_low = make_submission("kdd-low", uniform(0.4))
    kdd_high = make_submission("kdd-high", uniform(0.6))
    smmlu = make_submission("smmlu", uniform(0.9)).model_copy(update={"rules": "shopping-mmlu"})
    table = build_table(board(), INDEX, [kdd_low, smmlu, kdd_high])
    rows = {name: (rank, flags) for name, rank, flags in zip(table.frame["name"], table.frame["rank"], table.frame["flags"], strict=True)}
    assert rows["kdd-high"] == (1, "") and rows["kdd-low"] == (2, "")
    assert pd.isna(rows["smmlu"][0]) and rows["smmlu"][1] == "shopping-mmlu rules"  # 0.9 would have ranked first
    assert any("follow the kddcup rules" in line for line in table.notes)
    plain = build_table(board(), INDEX, [kdd_low, kdd_high])
    assert not any("rules" in line for line in plain.notes)  # boards of KDD runs only read as before


def test_a_shopping_mmlu_suite_board_ranks_shopping_mmlu_runs(tmp_path):
    skills = tmp_path / "data" / "skills"
    skills.mkdir(parents=True)
    row = {"task_name": "asin_mc", "task_type": "multiple-choice", "metric": "accuracy", "input_field": "Q?\n0. a\n1. b\nAnswer: ", "output_field": 1}
    write_jsonl(skills / "skill1_concept.json", [row])
    dest = write_suite(IMPORTERS["shopping-mmlu"](tmp_path / "data"), "smmlu", tmp_path / "home")
    tasks = list(build_index([dest]).tasks.values())
    meta = pd.DataFrame({"rules": ["kddcup", "kddcup"]})
    assert ranked_rules(tasks, meta) == "shopping-mmlu"  # the suite's rules, whatever most runs used
    assert ranked_rules(list(INDEX.tasks.values())[:3], meta) == "kddcup"


def test_run_takes_the_suites_rules_and_shopping_mmlus_system_prompt(tmp_path):
    import pytest

    from ecombench.errors import EcombenchError
    from ecombench.metrics.shopping_mmlu import SYSTEM_PROMPT
    from ecombench.run import RunOptions, select_tasks

    skills = tmp_path / "data" / "skills"
    skills.mkdir(parents=True)
    row = {"task_name": "asin_mc", "task_type": "multiple-choice", "metric": "accuracy", "input_field": "Q?\n0. a\n1. b\nAnswer: ", "output_field": 1}
    write_jsonl(skills / "skill1_concept.json", [row])
    home = tmp_path / "home"
    write_suite(IMPORTERS["shopping-mmlu"](tmp_path / "data"), "smmlu", home)
    options = RunOptions(model="builtin:tiny", tasks=["smmlu"], task_paths=[home], trust_tasks=True)
    chosen = select_tasks(options)
    # skill_wise_eval/hf_skill_inference.py:31,49: the system prompt before each question
    assert chosen.rules == "shopping-mmlu" and chosen.system_prompt == SYSTEM_PROMPT
    kdd = select_tasks(RunOptions(model="builtin:tiny", tasks=["smmlu"], task_paths=[home], trust_tasks=True, rules="kddcup"))
    assert kdd.rules == "kddcup" and kdd.system_prompt is None
    with pytest.raises(EcombenchError, match="--rules ecomgpt: metric 'accuracy' of the selected tasks has no rule under it"):
        select_tasks(RunOptions(model="builtin:tiny", tasks=["smmlu"], task_paths=[home], trust_tasks=True, rules="ecomgpt"))


def test_reference_rows_of_a_shopping_mmlu_suite_follow_its_rules(tmp_path, monkeypatch):
    from ecombench.references import build_references

    monkeypatch.setenv("ECOMBENCH_HOME", str(tmp_path / "home"))
    skills = tmp_path / "data" / "skills"
    skills.mkdir(parents=True)
    rows = [
        {
            "task_name": "brand_ner",
            "task_type": "named_entity_recognition",
            "metric": "micro f1",
            "input_field": f"Brands in {i}",
            "output_field": ["nike", "acme"],
        }
        for i in range(3)
    ]
    write_jsonl(skills / "skill1_concept.json", rows)
    write_suite(IMPORTERS["shopping-mmlu"](tmp_path / "data"), "smmlu", tmp_path / "home" / "tasks")
    built = build_references(tmp_path / "subs", suites=["smmlu"], kinds=["oracle"])
    # the oracle's answer read by Shopping MMLU's NER rule still scores 1: it is a reference beside the suite's runs
    assert built[0].submission.rules == "shopping-mmlu" and built[0].submission.all_around == 1.0
