"""Walk docs/errors.md: every bad input it lists gives the stated message and exit code."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecombench import submissions
from tests.helpers.boards import make_submission, uniform
from tests.helpers.cli import invoke_ecombench
from tests.helpers.sources import record, write_jsonl

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+) \| `([^`]+)` \| (\d+) \|$")
ROWS = [m.groups() for line in DOC.read_text(encoding="utf-8").splitlines() if (m := ROW.match(line))]


def test_the_table_is_not_empty():
    assert len(ROWS) >= 23


@pytest.fixture(scope="module")
def places(tmp_path_factory, tiny_model):  # tiny built first: its one-time "building" line is not part of an error
    root = tmp_path_factory.mktemp("errors")
    rows = [record("t", "multiple-choice", "accuracy", 1, prompt="Q1"), record("t", "multiple-choice", "accuracy", 2, prompt="Q2")]
    p = {"data": write_jsonl(root / "data.jsonl", rows), "missing": root / "missing.jsonl"}
    p["preds"] = write_jsonl(root / "preds.jsonl", [{"index": 0, "prediction": "1"}, {"index": 1, "prediction": "2"}])
    p["broken_preds"] = root / "broken_preds.jsonl"
    p["broken_preds"].write_text('{"index": 0, "prediction": "1"}\n{broken\n')
    p["short_preds"] = write_jsonl(root / "short_preds.jsonl", [{"index": 0, "prediction": "1"}])
    p["bad_type_data"] = write_jsonl(root / "bad_type_data.jsonl", [record("t", "sorting", "accuracy", 1)])
    p["bad_metric_data"] = write_jsonl(root / "bad_metric_data.jsonl", [record("t", "multiple-choice", "ndcg", 1)])
    p["mixed_data"] = write_jsonl(
        root / "mixed_data.jsonl", [record("t", "multiple-choice", "accuracy", 1, prompt="Q1"), record("t", "generation", "rougel", "x", prompt="Q2")]
    )
    for name in ("empty_dir", "no_config_dir", "adapter_dir", "tasks_dir", "bad_yaml_dir", "subs_dir", "subs_with_corrupt"):
        p[name] = root / name
        p[name].mkdir()
    (p["no_config_dir"] / "model.safetensors").write_bytes(b"x")
    (p["adapter_dir"] / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "../no-such-base", "peft_type": "LORA"}))
    (p["bad_yaml_dir"] / "t.yaml").write_text("task: x\nmetadata: [\n")
    p["typo_config"] = root / "typo_config.yaml"
    p["typo_config"].write_text("lora:\n  rank: 8\n  rnak: 4\n")
    p["bad_sweep"] = root / "bad_sweep.yaml"
    p["bad_sweep"].write_text("grid:\n  tracks: [a, b]\n  num_capabilities: [1, 3]\n  ranks: [4]\n")
    p["inf_gain_data"] = root / "inf_gain_data.jsonl"
    p["inf_gain_data"].write_text(
        '{"input_field": "Q1", "output_field": [1, Infinity], "task_name": "t", "task_type": "ranking", '
        '"metric": "ndcg", "track": "x"}\n{"input_field": "Q2", "output_field": [1, 0], "task_name": "t", '
        '"task_type": "ranking", "metric": "ndcg", "track": "x"}\n'
    )
    p["bad_oamine"] = write_jsonl(root / "bad_oamine.jsonl", [{"title": "x"}])
    p["empty_answer_train"] = root / "empty_answer_train.json"
    p["empty_answer_train"].write_text('[\n{"prompt": "Q1", "completion": "A1"},\n{"prompt": "Q2", "completion": ""}\n]\n')
    p["empty_train"] = root / "empty_train.json"
    p["empty_train"].write_bytes(b"")
    p["off_options_train"] = root / "off_options_train.json"
    p["off_options_train"].write_text(
        '[\n{"input_field": "Which?\\n0. a\\n1. b\\n3. c\\nAnswer: ", "output_field": 2, "task_type": "multiple-choice", "metric": "accuracy"}\n]\n'
    )
    p["broken_array"] = root / "broken_array.json"
    p["broken_array"].write_text('[\n{"prompt": "Q1", "completion": "A1"} {"prompt"\n')
    p["nested_preds"] = root / "nested_preds.jsonl"
    p["nested_preds"].write_text('{"index": 0, "prediction": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    p["huge_index_preds"] = root / "huge_index_preds.jsonl"
    p["huge_index_preds"].write_text('{"index": ' + "9" * 5000 + ', "prediction": "1"}\n')
    p["bad_target"] = write_jsonl(root / "bad_target.jsonl", [{"prompt": "p", "target": "[1,2"}])
    p["colliding_data"] = write_jsonl(
        root / "colliding_data.jsonl", [record("a-b", "generation", "rougel", "x", prompt="1"), record("a_b", "generation", "rougel", "x", prompt="2")]
    )
    for name in ("weightless_dir", "custom_code_dir", "bad_group_dir", "subs_cut_items"):
        p[name] = root / name
        p[name].mkdir()
    (p["weightless_dir"] / "config.json").write_text('{"model_type": "llama"}')
    (p["custom_code_dir"] / "config.json").write_text('{"model_type": "mything", "auto_map": {"AutoModelForCausalLM": "m.M"}}')
    (p["custom_code_dir"] / "model.safetensors").write_bytes(b"")
    (p["bad_group_dir"] / "_g.yaml").write_text("group: g\ntask: [mytask, [x]]\n")
    for name, score in (("someone", 0.5), ("other", 0.6)):
        sub = make_submission(name, uniform(score))
        n = sub.tasks["starter_category_mc"].n
        items = [
            submissions.ItemRecord(task="starter_category_mc", doc_id=i, item_hash=str(i), prompt="q", target=1, prediction="1", parsed=1, score=score)
            for i in range(n - (name == "other"))
        ]
        submissions.save(p["subs_cut_items"], sub, items)
    # issue 26: hostile archives, templates and folders
    import zipfile

    p["bomb_zip"] = root / "bomb.zip"
    with zipfile.ZipFile(p["bomb_zip"], "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/skills/skill_concepts.json", b"\n" * (16 << 20))
    p["odd_ecinstruct"] = root / "odd_ecinstruct.json"
    p["odd_ecinstruct"].write_text(
        json.dumps([{"task": "t", "setting": "IND_Diverse_Instruction", "split": "test", "instruction": "i", "input": "x", "output": "a", "options": 5}])
    )
    # issue 27: eCeLLM's ranking task without eCeLLM's label.json beside the data
    (root / "ranking").mkdir()
    p["ranking_ecinstruct"] = root / "ranking" / "ecinstruct.json"
    p["ranking_ecinstruct"].write_text(
        json.dumps(
            [{"task": "Query_Product_Ranking", "setting": "IND_Diverse_Instruction", "split": "test", "instruction": "i", "input": "x", "output": "A,B"}]
        )
    )
    p["spec_ecominstruct"] = root / "spec_ecominstruct"
    task = p["spec_ecominstruct"] / "EN-X-Extract-t"
    task.mkdir(parents=True)
    (task / "meta-info.json").write_text(json.dumps({"defi": "d", "test_prompt": {"instruction": "{sentences:>400000000}"}}))
    (task / "test.json").write_text(json.dumps({"sentences": "a", "spans": []}) + "\n")
    p["suites"] = root / "suites"
    (p["suites"] / "thesis").mkdir(parents=True)
    (p["suites"] / "thesis" / "chapter1.tex").write_text("years of work")
    p["linked_out"] = root / "linked_out"
    p["linked_out"].symlink_to(p["suites"])
    for folder in ("subs_dir", "subs_with_corrupt"):
        submissions.save(p[folder], make_submission("someone", uniform(0.5)), [])
    (p["subs_with_corrupt"] / "corrupt.json").write_text("{")
    p["subs_same_name"] = root / "subs_same_name"
    for day in (1, 2):
        submissions.save(p["subs_same_name"], make_submission("tiny", uniform(0.5), created=datetime(2026, 11, day, tzinfo=UTC)), [])
    p["two_rules_data"] = write_jsonl(
        root / "two_rules_data.jsonl",
        [
            {**record("a", "multiple-choice", "accuracy", 1, prompt="Q1"), "rules": "kddcup"},
            {**record("b", "multiple-choice", "accuracy", 2, prompt="Q2"), "rules": "shopping-mmlu"},
        ],
    )
    p["odd_rules_data"] = write_jsonl(root / "odd_rules_data.jsonl", [{**rows[0], "rules": "helm"}, {**rows[1], "rules": "helm"}])
    p["subs_two_rules"] = root / "subs_two_rules"
    submissions.save(p["subs_two_rules"], make_submission("kdd", uniform(0.5)), [])
    submissions.save(p["subs_two_rules"], make_submission("smmlu", uniform(0.5)).model_copy(update={"rules": "shopping-mmlu"}), [])
    from tests.helpers.sources import long_answer_task

    p["long_task_dir"] = root / "long_task_dir"
    long_answer_task(p["long_task_dir"], 5000)
    return {k: str(v) for k, v in p.items()}


@pytest.mark.slow  # in the test process (it was one process per row, about two minutes): about half a minute
@pytest.mark.parametrize(("command", "what", "expected", "code"), ROWS, ids=[r[1] for r in ROWS])
def test_documented_error(places, command, what, expected, code):
    args = [a.format(**places) for a in shlex.split(command)]
    done = invoke_ecombench(*args, env={"HF_HUB_OFFLINE": "1", "COLUMNS": "200"}, cwd=places["empty_dir"])
    assert done.returncode == int(code), done.stderr[-1500:]
    assert expected in done.stderr, done.stderr[-1500:]
    assert "Traceback" not in done.stderr
    if code != "0":
        assert len(done.stderr.strip().splitlines()) == 1
    assert not any(Path(places["empty_dir"]).iterdir())  # nothing written where the command ran
