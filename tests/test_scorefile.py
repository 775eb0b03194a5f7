"""`ecombench score`: task, track and all-around aggregation on hand-worked files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ecombench.errors import EcombenchError
from ecombench.metrics.embedding import Embedders, embedding_scores, resolve_embedding_model
from ecombench.scorefile import score_files
from tests.helpers.cli import invoke_ecombench
from tests.helpers.sources import record, write_jsonl

LOG3 = math.log2(3)


@pytest.fixture
def files(tmp_path):
    data = write_jsonl(
        tmp_path / "data.jsonl",
        [
            record("mc", "multiple-choice", "accuracy", 1, "concepts"),
            record("mc", "multiple-choice", "accuracy", 2, "concepts"),
            record("ner", "named_entity_recognition", "micro f1", ["lego", "city"], "concepts"),
            record("ner", "named_entity_recognition", "micro f1", ["red"], "concepts"),
            record("rank", "ranking", "ndcg", [1, 0], "behavior"),
            record("ret", "retrieval", "hit rate@3", [2, 5], "behavior"),
        ],
    )
    preds = write_jsonl(
        tmp_path / "preds.jsonl",
        [
            {"index": 0, "prediction": "1"},
            {"index": 1, "prediction": "The answer is 2"},  # first char 'T' -> -1
            {"index": 2, "prediction": "Lego, police"},
            {"index": 3, "prediction": "red"},
            {"index": 4, "prediction": "2, 1"},
            {"index": 5, "prediction": "5, 1, 4"},
        ],
    )
    return data, preds


def test_score_aggregates_like_the_kdd_cup(files):
    report = score_files(*files)
    out = report.as_json()
    assert out["tasks"]["mc"] == {"task_type": "multiple-choice", "metric": "accuracy", "n": 2, "score": 0.5}
    # pooled NER counts: q1 tp=1 fp=1 fn=1, q2 tp=1 -> tp=2 fp=1 fn=1 -> P=R=2/3 -> F1=2/3
    assert out["tasks"]["ner"]["score"] == pytest.approx(2 / 3)
    assert out["tasks"]["rank"]["score"] == pytest.approx(1 / LOG3)
    assert out["tasks"]["ret"]["score"] == pytest.approx(0.5)
    assert out["tracks"]["concepts"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert out["tracks"]["behavior"] == pytest.approx((1 / LOG3 + 0.5) / 2)
    assert out["all_around"] == pytest.approx((out["tracks"]["concepts"] + out["tracks"]["behavior"]) / 2)
    assert out["overall_task_mean"] == pytest.approx((0.5 + 2 / 3 + 1 / LOG3 + 0.5) / 4)


def test_predictions_may_be_keyed_by_input_field(tmp_path):
    data = write_jsonl(
        tmp_path / "d.jsonl", [record("mc", "multiple-choice", "accuracy", 3, prompt="Q1"), record("mc", "multiple-choice", "accuracy", 0, prompt="Q2")]
    )
    preds = write_jsonl(tmp_path / "p.jsonl", [{"input_field": "Q2", "prediction": "0"}, {"input_field": "Q1", "prediction": "1"}])
    report = score_files(data, preds)
    assert report.tasks["mc"].score == 0.5


@pytest.mark.parametrize(
    ("data_rows", "pred_rows", "message"),
    [
        ([record("a", "multiple-choice", "accuracy", 1)], [{"index": 1, "prediction": "1"}], "preds.jsonl:1: index 1 is past the last row"),
        (
            [record("a", "multiple-choice", "accuracy", 1), record("a", "multiple-choice", "accuracy", 1)],
            [{"index": 0, "prediction": "1"}],
            "no prediction for 1 of 2 rows",
        ),
        (
            [record("a", "multiple-choice", "accuracy", 1)],
            [{"index": 0, "prediction": "1"}, {"index": 0, "prediction": "2"}],
            "preds.jsonl:2: a second prediction for data row 0",
        ),
        ([record("a", "multiple-choice", "accuracy", 1)], [{"index": 0, "prediction": 1}], "preds.jsonl:1: field 'prediction'"),
        ([record("a", "multiple-choice", "accuracy", 1)], [{"prediction": "1"}], "needs 'index'"),
        ([record("a", "sorting", "accuracy", 1)], [], "data.jsonl:1: task_type 'sorting' is not one of"),
        ([record("a", "multiple-choice", "ndcg", 1)], [], "metric 'ndcg' does not fit task_type 'multiple-choice'"),
        ([record("a", "retrieval", "hit rate@3", "1, 2")], [], "output_field must be a list of ints"),
        (
            [record("a", "ranking", "ndcg", [1]), record("a", "generation", "rougel", "x")],
            [{"index": 0, "prediction": ""}, {"index": 1, "prediction": ""}],
            "data.jsonl: task 'a' mixes task types",
        ),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, data_rows, pred_rows, message):
    data = write_jsonl(tmp_path / "data.jsonl", data_rows)
    preds = write_jsonl(tmp_path / "preds.jsonl", pred_rows)
    with pytest.raises(EcombenchError, match=message.replace("(", r"\(").replace("'", "'")):
        score_files(data, preds)


def test_broken_json_line_names_file_and_line(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps(record("a", "multiple-choice", "accuracy", 1)) + "\n{broken\n")
    with pytest.raises(EcombenchError, match=r"data.jsonl:2: not valid JSON"):
        score_files(data, tmp_path / "missing.jsonl")


def _cli(*args, cwd=None):
    return invoke_ecombench(*args, cwd=cwd)


@pytest.mark.slow
def test_cli_json_output_and_bad_input_exit_code(files, tmp_path):
    data, preds = files
    out_file = tmp_path / "scores.json"
    done = _cli("score", "--data", str(data), "--predictions", str(preds), "--format", "json", "--output", str(out_file))
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert set(printed) == {"tasks", "tracks", "all_around", "overall_task_mean", "rules", "substitutes"}
    assert printed["rules"] == "kddcup" and printed["substitutes"] == {}  # issue 27: the rules that scored it, no stand-in metric
    assert printed["tasks"]["mc"]["score"] == 0.5
    assert json.loads(out_file.read_text()) == printed

    bad = write_jsonl(tmp_path / "short.jsonl", [{"index": 0, "prediction": "1"}])
    failed = _cli("score", "--data", str(data), "--predictions", str(bad), "--output", str(tmp_path / "never.json"))
    assert failed.returncode == 2
    assert failed.stderr.strip().count("\n") == 0 and "short.jsonl: no prediction for 5 of 6 rows" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not (tmp_path / "never.json").exists()


def test_embedding_metric_on_a_fixed_encoder():
    vectors = {"a": [1.0, 0.0], "b": [0.6, 0.8], "c": [-1.0, 0.0], "d": [0.0, 1.0]}
    encode = lambda texts: np.array([vectors[t] for t in texts], dtype=np.float32)  # noqa: E731
    # a.b = 0.6; a vs [b, d] -> mean(0.6, 0) = 0.3; a.c = -1 -> floored at 0
    assert embedding_scores(encode, ["a", "a", "a"], ["b", ["b", "d"], "c"]) == pytest.approx([0.6, 0.3, 0.0])


def test_packaged_minilm_batched_matches_one_pair_at_a_time():
    """The real all-MiniLM-L6-v2, found offline, batched within 1e-6 of pairwise encoding."""
    path = resolve_embedding_model("sent-transformer")
    assert (path / "config.json").is_file()
    encode = Embedders().encoder("sent-transformer")
    preds = ["a soft cotton shirt", "stainless steel garlic press", "", "red running shoes for women"]
    truths = ["a shirt made of soft cotton", "garlic crusher", "anything", ["running shoes", "red sneakers"]]
    batched = embedding_scores(encode, preds, truths)
    single = [embedding_scores(encode, [p], [t])[0] for p, t in zip(preds, truths, strict=True)]
    assert batched == pytest.approx(single, abs=1e-6)
    assert batched[0] > 0.8 and batched[1] > 0.3


def test_missing_multilingual_model_says_how_to_provide_it():
    with pytest.raises(EcombenchError, match="--multilingual-embedding-model PATH"):
        resolve_embedding_model("multilingual-sent-transformer")


@pytest.mark.parametrize("gain", ["Infinity", "NaN", "5000", "-1"])
def test_impossible_ranking_gains_are_refused(tmp_path, gain):
    """Issue 15.6/15.8: a gain of Infinity gave All-Around nan with exit 0, 5000 an OverflowError; now one line, exit 2."""
    data = tmp_path / "data.jsonl"
    data.write_text(f'{{"input_field": "q", "output_field": [1, 0.1, {gain}], "task_name": "t", "task_type": "ranking", "metric": "ndcg", "track": "x"}}\n')
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"index": 0, "prediction": "1,2,3"}\n')
    done = _cli("score", "--data", str(data), "--predictions", str(preds))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"ecombench: error: {data}:1: output_field must be a list of finite gains between 0 and 100 for task_type 'ranking'"
    ]


def test_the_shipped_example_pair_scores_as_its_readme_says():
    from ecombench.paths import builtin_tasks_dir

    folder = builtin_tasks_dir().parent / "examples" / "score"
    report = score_files(folder / "dev.jsonl", folder / "preds.jsonl")
    assert {t: s.score for t, s in report.tasks.items()} == {
        "core_category_mc": 0.5,  # one of two right
        "core_unit_price_mc": 1.0,
        "core_complement_retrieval": 1.0,  # the bought item is among the three named
        "core_multilingual_category_mc": 0.0,
    }
    assert report.all_around == pytest.approx((0.5 + 1.0 + 1.0 + 0.0) / 4)
