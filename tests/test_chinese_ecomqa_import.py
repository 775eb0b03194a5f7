"""`ecombench import chinese-ecomqa`: one task per concept type, prompts exactly as the file gives them.

The fixture is in the real file's layout (``system_prompt``, ``prompt``, ``gt``, ``task``) and in wording of
our own: no row of the published data is copied here.
"""

from __future__ import annotations

import json

import pytest

from ecombench.errors import EcombenchError
from ecombench.importers import IMPORTERS
from ecombench.importers.writer import write_suite
from ecombench.taskindex import build_index
from tests.helpers.sources import CHINESE_ECOMQA_BRAND as SYSTEM_BRAND
from tests.helpers.sources import chinese_ecomqa_rows as _rows
from tests.helpers.sources import write_jsonl


def test_one_task_per_concept_with_the_prompt_as_given(tmp_path):
    source = write_jsonl(tmp_path / "ChineseEcomQA.jsonl", _rows())
    suite = IMPORTERS["chinese-ecomqa"](source)
    assert sorted(suite.tasks) == ["BC", "RLC", "SC"]
    assert [len(suite.tasks[t]) for t in ("BC", "RLC", "SC")] == [2, 1, 1]
    first = suite.tasks["BC"][0]
    # The system prompt carries the few-shot examples: the model sees it, then the question, with nothing between.
    assert first["input_field"] == SYSTEM_BRAND + "***query***：示例牌水杯的主营类目？***答案***："
    assert (first["system_prompt"], first["prompt"], first["output_field"]) == (SYSTEM_BRAND, "***query***：示例牌水杯的主营类目？***答案***：", "杯具")
    assert suite.tasks["RLC"][0]["input_field"] == "***query***：跑鞋\n***商品信息***：轻便缓震跑步鞋\n***答案***："
    assert suite.skipped is not None and suite.skipped.total == 0


def test_written_suite_has_its_own_track_and_judge_metadata(tmp_path):
    source = write_jsonl(tmp_path / "ChineseEcomQA.jsonl", _rows())
    dest = write_suite(IMPORTERS["chinese-ecomqa"](source), "ceqa", tmp_path / "tasks")
    index = build_index([dest])
    assert sorted(index.tasks) == ["ceqa_bc", "ceqa_rlc", "ceqa_sc"]
    assert sorted(index.groups["ceqa_chinese_ecomqa"].members) == ["ceqa_bc", "ceqa_rlc", "ceqa_sc"]
    assert index.tasks["ceqa_sc"].track == "chinese_ecomqa"
    meta = index.tasks["ceqa_sc"].config["metadata"]
    assert meta["judge"] == {"template": "simpleqa_zh_v1", "metrics": ["correct", "correct_given_attempted", "f_score"], "concept": "SC"}
    rows = [json.loads(line) for line in (dest / "ceqa_bc.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["output_field"] for r in rows] == ["杯具", "2001年"]


def test_bad_rows_are_skipped_and_counted_with_file_and_line(tmp_path):
    source = tmp_path / "ChineseEcomQA.jsonl"
    good = [json.dumps(r, ensure_ascii=False) for r in _rows()]
    bad = [
        '{"system_prompt": "", "prompt": "q", "gt": "a", "task": "XYZ"}',  # line 2: unknown concept
        "{not json",  # line 4
        '{"system_prompt": "", "prompt": "q", "task": "BC"}',  # line 6: no gt
        '{"system_prompt": "", "prompt": "q", "gt": " ", "task": "BC"}',  # line 7: empty answer
    ]
    source.write_text("\n".join([good[0], bad[0], good[1], bad[1], good[2], bad[2], bad[3], good[3]]) + "\n", encoding="utf-8")
    suite = IMPORTERS["chinese-ecomqa"](source)
    assert sum(len(r) for r in suite.tasks.values()) == 4
    assert suite.skipped.total == 4
    assert dict(suite.skipped.counts) == {"unknown concept": 1, "not JSON": 1, "missing field": 1, "empty field": 1}
    assert suite.skipped.examples["unknown concept"] == [f"{source}:2: task 'XYZ' is not one of BC, IC, SC, AC, CC, PC, RLC, IDC, ITC, RVC"]
    assert suite.skipped.examples["missing field"][0].startswith(f"{source}:6: missing field 'gt'")
    assert suite.skipped.examples["empty field"] == [f"{source}:7: field 'gt' is empty"]


def test_strict_refuses_the_first_bad_row(tmp_path):
    source = tmp_path / "ChineseEcomQA.jsonl"
    rows = _rows()
    rows[2]["task"] = 7
    write_jsonl(source, rows)
    with pytest.raises(EcombenchError, match=r"ChineseEcomQA.jsonl:3: field 'task' is not a string \(--strict refuses"):
        IMPORTERS["chinese-ecomqa"](source, strict=True)


def test_a_file_of_another_format_is_one_error_naming_the_fields(tmp_path):
    source = write_jsonl(tmp_path / "other.jsonl", [{"question": "q", "answer": "a"}])
    with pytest.raises(
        EcombenchError,
        match=r"other.jsonl: no ChineseEcomQA rows \(expected JSON Lines with fields system_prompt, prompt, gt, task\); first bad row: .*other.jsonl:1: missing field",
    ):
        IMPORTERS["chinese-ecomqa"](source)
