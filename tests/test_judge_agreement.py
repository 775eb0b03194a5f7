"""`ecombench judge agreement`: Cohen's kappa and the confusion table, on hand-worked cases."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ecombench.cli import app as ecombench_app
from ecombench.errors import EcombenchError
from ecombench.judge import Grade, JudgeCache, load_template
from ecombench.judge.agreement import agreement, judge_sample, read_labelled
from tests.helpers.sources import write_jsonl

C, W, N = Grade.CORRECT, Grade.INCORRECT, Grade.NOT_ATTEMPTED


def test_kappa_of_two_grades():
    # 10 items, 8 graded alike: observed 0.8; each rater says CORRECT half the time: chance 0.5; kappa (0.8 - 0.5) / 0.5 = 0.6
    result = agreement([C] * 5 + [W] * 5, [C] * 4 + [W] + [C] + [W] * 4)
    assert result.kappa == pytest.approx(0.6) and result.observed == pytest.approx(0.8)
    assert result.matrix == [[4, 1, 0], [1, 4, 0], [0, 0, 0]]


def test_kappa_of_three_grades():
    # people C C C W W N, judge C C W W N N: 4 of 6 alike (2/3); chance (3*2 + 2*2 + 1*2) / 36 = 1/3;
    # kappa (2/3 - 1/3) / (1 - 1/3) = 0.5
    result = agreement([C, C, C, W, W, N], [C, C, W, W, N, N])
    assert result.kappa == pytest.approx(0.5)
    assert result.labels == ["CORRECT", "INCORRECT", "NOT_ATTEMPTED"]
    assert result.matrix == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_kappa_is_undefined_when_both_give_one_grade_throughout():
    result = agreement([C, C], [C, C])
    assert result.kappa is None and result.observed == 1.0


def test_an_unparseable_verdict_gets_a_column_of_its_own():
    result = agreement([C, W], [C, Grade.UNPARSEABLE])
    assert result.labels[-1] == "UNPARSEABLE" and result.matrix[1] == [0, 0, 0, 1]


def _sample(tmp_path):
    rows = [
        {"question": "q1", "reference": "r1", "answer": "a1", "human": "A"},
        {"question": "q2", "reference": "r2", "answer": "a2", "human": "CORRECT"},
        {"question": "q3", "reference": "r3", "answer": "a3", "human": "B"},
        {"question": "q4", "reference": "r4", "answer": "a4", "human": "C"},
    ]
    return write_jsonl(tmp_path / "sample.jsonl", rows)


def _app():
    return ecombench_app


def test_cli_compares_with_a_second_judges_verdicts(tmp_path):
    sample = _sample(tmp_path)
    verdicts = tmp_path / "verdicts.csv"  # in another order, and as CSV
    verdicts.write_text("question,answer,grade\nq4,a4,C\nq3,a3,A\nq2,a2,A\nq1,a1,A\n", encoding="utf-8")
    done = CliRunner().invoke(_app(), ["judge", "agreement", str(sample), "--verdicts", str(verdicts), "--json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    # people C C W N, judge C C C N: 3 of 4 alike; chance (2*3 + 1*0 + 1*1) / 16 = 7/16; kappa (3/4 - 7/16) / (9/16) = 5/9
    assert out["kappa"] == pytest.approx(5 / 9)
    assert out["confusion"] == [[2, 0, 0], [1, 0, 0], [0, 0, 1]]
    table = CliRunner().invoke(_app(), ["judge", "agreement", str(sample), "--verdicts", str(verdicts)], env={"COLUMNS": "120"})
    assert "Cohen's kappa 0.556; graded alike 75.0% of 4 items" in table.output


def test_a_human_grade_that_is_not_a_grade_names_its_line(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [{"question": "q", "answer": "a", "human": "A"}, {"question": "q", "answer": "b", "human": "maybe"}])
    with pytest.raises(EcombenchError, match=r"s.jsonl:2: human grade 'maybe' is not one of A \(CORRECT\), B \(INCORRECT\), C \(NOT_ATTEMPTED\)"):
        read_labelled(path)


def test_a_verdict_missing_for_a_row_names_the_row(tmp_path):
    sample = _sample(tmp_path)
    verdicts = write_jsonl(tmp_path / "v.jsonl", [{"question": "q1", "answer": "a1", "grade": "A"}])
    done = CliRunner().invoke(_app(), ["judge", "agreement", str(sample), "--verdicts", str(verdicts)])
    assert done.exit_code == 1 and isinstance(done.exception, EcombenchError)
    assert str(done.exception) == f"{verdicts}: no verdict for the question and answer of {sample}:2"


def test_the_judge_grades_the_sample_through_the_generate_callable(tmp_path):
    rows = read_labelled(_sample(tmp_path))
    grades = judge_sample(rows, lambda prompts: ["A", "A", "B", "C"], "judge-a", load_template("simpleqa_zh_v1"), JudgeCache(tmp_path / "c.sqlite3"))
    assert agreement([r.grade for r in rows], grades).kappa == pytest.approx(1.0)
