"""`ecombench score --save`: predictions from elsewhere kept as a submission, ranked on the board beside runs."""

from __future__ import annotations

import hashlib
import json

import pytest

from ecombench import submissions
from ecombench.scorefile import UNKNOWN, item_hash, save_scored, score_and_keep
from ecombench.taskindex import build_index, default_roots
from tests.helpers.cli import invoke_ecombench
from tests.helpers.sources import record, write_jsonl

INDEX = build_index(default_roots())
RATING = INDEX.tasks["core_rating_mc"]  # 200 multiple-choice rows, truths 1-5
RANKING = INDEX.tasks["core_query_ranking"]


def _cli(*args, env=None, cwd=None):
    return invoke_ecombench(*args, env={"HF_HUB_OFFLINE": "1", "COLUMNS": "200", **(env or {})}, cwd=cwd)


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def files(tmp_path):
    """The whole core_rating_mc (answered "3"; every truth-3 row right), 5 of core_query_ranking's rows, one task of our own."""
    rating = _rows(RATING.data_file)
    ranking = _rows(RANKING.data_file)[:5]
    own = [record("my_task", "multiple-choice", "accuracy", 0, track="mine", prompt="own question")]
    data = write_jsonl(tmp_path / "data.jsonl", [*rating, *ranking, *own])
    answers = ["3"] * len(rating) + ["1, 2, 3, 4, 5"] * len(ranking) + ["0"]
    preds = write_jsonl(tmp_path / "api-model.jsonl", [{"index": i, "prediction": a} for i, a in enumerate(answers)])
    right = sum(r["output_field"] == 3 for r in rating) / len(rating)
    return data, preds, right


def test_save_writes_a_submission_marked_as_scored_from_predictions(files, tmp_path):
    data, preds, right = files
    done = _cli("score", "--data", str(data), "--predictions", str(preds), "--format", "json", "--save", "--submissions-dir", str(tmp_path / "subs"))
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)  # stdout stays the scores alone
    assert printed["tasks"]["core_rating_mc"]["score"] == pytest.approx(right)
    [record_path] = (tmp_path / "subs").glob("*[0-9a-f].json")
    assert f"(scored from predictions) written to {record_path}" in done.stderr
    assert "note: task core_query_ranking: these 5 rows are not the installed task's data" in done.stderr
    assert "note: task my_task: not an installed task; saved, but no board ranks it" in done.stderr

    sub = submissions.load(record_path)
    assert sub.source == "predictions" and sub.name == "api-model"
    assert (sub.model.kind, sub.model.spec, sub.model.weights_sha256) == ("predictions", "api-model.jsonl", None)
    assert sub.model.predictions_sha256 == hashlib.sha256(preds.read_bytes()).hexdigest()
    assert sub.generation.protocol == UNKNOWN and sub.lm_eval_version == UNKNOWN
    # the whole installed task: its version and data hash, so the board compares it with runs
    assert (sub.tasks["core_rating_mc"].version, sub.tasks["core_rating_mc"].data_sha256) == (RATING.version, RATING.data_hash())
    # five of its rows: other data, which the board flags
    assert sub.tasks["core_query_ranking"].version == RANKING.version
    assert sub.tasks["core_query_ranking"].data_sha256 not in (None, RANKING.data_hash())
    assert sub.tasks["my_task"].version == UNKNOWN
    assert {t: r.score for t, r in sub.tasks.items()} == {t: v["score"] for t, v in printed["tasks"].items()}
    assert (sub.tracks, sub.all_around, sub.overall_task_mean) == (printed["tracks"], printed["all_around"], printed["overall_task_mean"])

    items = submissions.load_items(tmp_path / "subs", sub)
    assert len(items) == 206
    first = items[0]
    truth = _rows(RATING.data_file)[0]
    assert (first.task, first.doc_id, first.prompt, first.prediction, first.parsed) == ("core_rating_mc", 0, truth["input_field"], "3", 3)
    assert first.item_hash == item_hash(truth["input_field"], truth["output_field"]) and first.target == str(truth["output_field"])
    assert first.score == float(truth["output_field"] == 3)
    assert [i.parsed for i in items if i.task == "core_query_ranking"] == [[1, 2, 3, 4, 5]] * 5


@pytest.mark.slow
def test_the_board_ranks_it_and_flags_other_data(files, tmp_path):
    data, preds, right = files
    subs = tmp_path / "subs"
    assert _cli("score", "--data", str(data), "--predictions", str(preds), "--save", "--name", "api-model", "--submissions-dir", str(subs)).returncode == 0
    board = _cli("leaderboard", "--board", "core_rating_mc", "--format", "json", "--submissions-dir", str(subs))
    assert board.returncode == 0, board.stderr
    [row] = json.loads(board.stdout)["rows"]
    assert (row["name"], row["rank"], row["flags"], row["source"]) == ("api-model", 1, "", "predictions")  # ranked, and said where it came from
    assert row["all_around"] == pytest.approx(right)
    other = _cli("leaderboard", "--board", "core_query_ranking", "--format", "json", "--submissions-dir", str(subs))
    [row] = json.loads(other.stdout)["rows"]
    assert row["rank"] is None and row["flags"] == "other data/version on 1 task(s)"


def test_rows_of_an_imported_suite_are_named_as_its_tasks(tmp_path, monkeypatch):
    """`import shopbench` names tasks <suite>_<task> and keeps the rows' own names: the rows are matched by content."""
    monkeypatch.setenv("ECOMBENCH_HOME", str(tmp_path / "home"))
    rows = [record("task1", "ranking", "ndcg", [1, 0.1, 0], track="behavior", prompt=f"rank {i}") for i in range(3)]
    rows += [record("task2", "generation", "rougel", "red shirt", track="concepts", prompt="describe")]
    data = write_jsonl(tmp_path / "dev.jsonl", rows)
    done = _cli("import", "shopbench", str(data), "--name", "kdd", env={"ECOMBENCH_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    preds = write_jsonl(tmp_path / "p.jsonl", [{"index": i, "prediction": p} for i, p in enumerate(["1, 2, 3", "3, 2, 1", "2", "red shirts"])])
    scored = score_and_keep(data, preds)
    sub, path, notes = save_scored(scored, preds, tmp_path / "subs", name="mine")
    index = build_index(default_roots())
    assert list(sub.tasks) == ["kdd_task1", "kdd_task2"]
    assert sub.tasks["kdd_task1"].data_sha256 == index.tasks["kdd_task1"].data_hash()
    assert sub.tasks["kdd_task1"].score == scored.report.tasks["task1"].score
    assert notes == ["task task1: scored as installed task kdd_task1", "task task2: scored as installed task kdd_task2"]
    assert {i.task for i in submissions.load_items(path.parent, sub)} == {"kdd_task1", "kdd_task2"}


def test_rows_in_another_order_are_still_the_installed_task(tmp_path):
    rows = _rows(RATING.data_file)[::-1]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    preds = write_jsonl(tmp_path / "p.jsonl", [{"index": i, "prediction": "5"} for i in range(len(rows))])
    sub, _, notes = save_scored(score_and_keep(data, preds), preds, tmp_path / "subs", index=INDEX)
    assert notes == [] and sub.tasks["core_rating_mc"].data_sha256 == RATING.data_hash()
    items = submissions.load_items(tmp_path / "subs", sub)
    assert [i.doc_id for i in items] == list(range(len(rows)))[::-1]  # each row keeps its place in the installed data


@pytest.mark.slow
def test_bad_input_writes_nothing(files, tmp_path):
    data, _, _ = files
    short = write_jsonl(tmp_path / "short.jsonl", [{"index": 0, "prediction": "1"}])
    done = _cli("score", "--data", str(data), "--predictions", str(short), "--save", "--submissions-dir", str(tmp_path / "subs"))
    assert done.returncode == 2 and "no prediction for 205 of 206 rows" in done.stderr
    assert not (tmp_path / "subs").exists()
    alone = _cli("score", "--data", str(data), "--predictions", str(short), "--name", "x")
    assert alone.returncode == 2 and alone.stderr.strip() == "ecombench: error: --name is a setting of --save; add --save to keep a submission"


def test_submissions_written_before_the_source_field_still_load(tmp_path):
    from tests.helpers.boards import make_submission, uniform

    old = json.loads(make_submission("old", uniform(0.5)).model_dump_json())
    del old["source"], old["model"]["predictions_sha256"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    loaded = submissions.load(tmp_path / "old.json")
    assert loaded.source == "run" and loaded.model.predictions_sha256 is None and loaded.model.weights_sha256 == "0" * 64


@pytest.mark.slow
def test_a_runs_answers_scored_from_predictions_give_the_runs_submission(tiny_model, tmp_path):
    """`ecombench run` and `score --save` on the same answers: the same scores, and items that pair one to one."""
    runs = tmp_path / "runs"
    done = _cli("run", "--model", "builtin:tiny", "--tasks", "core_rating_mc", "--submissions-dir", str(runs))
    assert done.returncode == 0, done.stderr
    [run] = [submissions.load(p) for p in runs.glob("*[0-9a-f].json")]
    run_items = submissions.load_items(runs, run)
    preds = write_jsonl(tmp_path / "answers.jsonl", [{"index": i.doc_id, "prediction": i.prediction} for i in run_items])
    sub, _, notes = save_scored(score_and_keep(RATING.data_file, preds), preds, runs, name="answers", index=INDEX)
    assert notes == []
    assert sub.tasks["core_rating_mc"].model_dump() == run.tasks["core_rating_mc"].model_dump()
    compared = _cli("compare", run.id, sub.id, "--format", "json", "--submissions-dir", str(runs))
    assert compared.returncode == 0, compared.stderr
    [task] = json.loads(compared.stdout)[0]["tasks"].values()
    assert task["n_paired"] == task["same_answers"] == len(run_items) and task["delta"] == 0
