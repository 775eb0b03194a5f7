"""Plain lm-eval gives the numbers ``ecombench run`` gives (issue 14).

- A suite group's ``kdd_score`` under lm-eval is the KDD Cup All-Around (mean of track means), not
  lm-eval's own mean over all leaf tasks; track groups are the mean of their tasks.
- A task whose embedding model is missing stops plain lm-eval when the task loads, before any
  generation, with one line naming the environment variable that points at a local copy.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from ecombench.hooks import MissingEmbeddingModel, embedding_models_checked
from ecombench.paths import builtin_tasks_dir
from ecombench.scoring import TaskScore, aggregate
from tests.helpers.sources import multilingual_suite, record


def _lm_eval_groups(include: Path, suite: str, scores: dict[str, float] | None = None, seed: int = 0):
    """Load ``suite`` with lm-eval's TaskManager, give every leaf task a score, and aggregate as lm-eval does.

    Returns (lm-eval's metrics per task and group, ecombench's Report on the same task scores).
    """
    from lm_eval.evaluator_utils import EvalAcc, aggregate_groups
    from lm_eval.tasks import TaskManager

    with embedding_models_checked():  # the loading, not the models, is under test here
        loaded = TaskManager(include_path=[str(include)], include_defaults=False).load([suite])
    rng = random.Random(seed)
    acc = EvalAcc(groups=loaded["groups"])
    ours = {}
    for name, task in loaded["tasks"].items():
        value = scores[name] if scores else rng.random()
        acc.metrics[name] = {"name": name, "alias": name, "sample_len": rng.randint(1, 300), "kdd_score,none": value, "kdd_score_stderr,none": "N/A"}
        ours[name] = TaskScore(
            task_name=name,
            task_type=task.config.metadata["task_type"],
            metric=task.config.metadata["metric"],
            track=task.config.metadata["track"],
            n=1,
            score=value,
            stderr=None,
        )
    aggregate_groups(acc)
    return acc.metrics, aggregate(ours), loaded["group_map"]


@pytest.mark.parametrize("suite", ["ecombench_starter", "ecombench_core"])
@pytest.mark.slow
def test_bundled_suite_group_is_the_all_around(suite):
    theirs, report, group_map = _lm_eval_groups(builtin_tasks_dir(), suite)
    assert len({len(group_map[g]) for g in group_map[suite]}) > 1  # tracks of unequal size: the two means differ
    assert theirs[suite]["kdd_score,none"] == pytest.approx(report.all_around, abs=1e-9)
    assert abs(report.all_around - report.overall_task_mean) > 1e-3
    for track, score in report.tracks.items():
        assert theirs[f"{suite}_{track}"]["kdd_score,none"] == pytest.approx(score, abs=1e-9)


def test_imported_suite_group_is_the_all_around(tmp_path):
    from ecombench.importers.writer import ImportedSuite, write_suite

    sizes = {"alpha": 1, "beta": 2, "gamma": 4}  # tasks per track
    suite = ImportedSuite(fmt="jsonl", sources=[])
    for track, n in sizes.items():
        for i in range(n):
            task = f"{track}_task{i}"
            suite.tasks[task] = [record(task, "multiple-choice", "accuracy", 1, track=track, prompt=f"q {task}\n0. a\n1. b\nAnswer: ")]
    write_suite(suite, "imp", tmp_path)
    theirs, report, _ = _lm_eval_groups(tmp_path / "imp", "imp")
    assert set(report.tracks) == set(sizes)
    assert theirs["imp"]["kdd_score,none"] == pytest.approx(report.all_around, abs=1e-9)
    assert abs(report.all_around - report.overall_task_mean) > 1e-3


def test_loading_the_suites_tasks_prints_no_custom_dataset_notice_per_task(caplog):
    import logging

    from lm_eval.tasks import TaskManager

    with caplog.at_level(logging.WARNING, logger="lm_eval.api.task"), embedding_models_checked():
        loaded = TaskManager(include_path=[str(builtin_tasks_dir() / "starter")], include_defaults=False).load(["ecombench_starter"])
    assert len(loaded["tasks"]) == 9
    assert [r.getMessage() for r in caplog.records if "--metadata" in r.getMessage()] == []  # lm-eval said it once per task
    with caplog.at_level(logging.WARNING, logger="lm_eval.api.task"):
        logging.getLogger("lm_eval.api.task").warning("another warning")  # lm-eval's other warnings still show
    assert caplog.records[-1].getMessage() == "another warning"


def test_suite_group_stderr_combines_the_track_errors():
    from lm_eval.evaluator_utils import EvalAcc, aggregate_groups
    from lm_eval.tasks import TaskManager

    with embedding_models_checked():
        loaded = TaskManager(include_path=[str(builtin_tasks_dir() / "starter")], include_defaults=False).load(["ecombench_starter"])
    acc = EvalAcc(groups=loaded["groups"])
    for name in loaded["tasks"]:
        acc.metrics[name] = {"name": name, "sample_len": 5, "kdd_score,none": 0.5, "kdd_score_stderr,none": 0.1}
    aggregate_groups(acc)
    tracks = [acc.metrics[g]["kdd_score_stderr,none"] for g in loaded["group_map"]["ecombench_starter"]]
    assert acc.metrics["ecombench_starter"]["kdd_score_stderr,none"] == pytest.approx(sum(s * s for s in tracks) ** 0.5 / 4)


@pytest.mark.slow
def test_plain_lm_eval_reports_ecombench_run_all_around_on_the_same_answers(tiny_model, tmp_path):
    """lm-eval's own evaluator (with ecombench's model class) and ``ecombench run``: same answers, same All-Around."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    import ecombench.backends.hf.lm  # noqa: F401 - registers "ecombench-hf"
    from ecombench.run import RunOptions, run
    from ecombench.submissions import load_items

    ours = run(RunOptions(model="builtin:tiny", tasks=["ecombench_starter"], limit=2, submissions_dir=tmp_path / "subs", use_cache=False))
    results = simple_evaluate(
        model="ecombench-hf",
        model_args={"pretrained": str(tiny_model), "dtype": "float32", "device": "cpu", "batch_size": 8},
        tasks=["ecombench_starter"],
        task_manager=TaskManager(include_path=[str(builtin_tasks_dir())], include_defaults=False),
        limit=2,
        log_samples=True,
        bootstrap_iters=0,
        verbosity="ERROR",
    )
    theirs = {(task, int(s["doc_id"])): s["resps"][0][0] for task, samples in results["samples"].items() for s in samples}
    mine = {(item.task, item.doc_id): item.prediction for item in load_items(ours.path.parent, ours.submission)}
    assert len(theirs) == 18 and theirs == mine  # the same answers ...
    sub = ours.submission
    for name, task in sub.tasks.items():
        assert results["results"][name]["kdd_score,none"] == pytest.approx(task.score, abs=1e-9)
    for track, score in sub.tracks.items():
        assert results["results"][f"ecombench_starter_{track}"]["kdd_score,none"] == pytest.approx(score, abs=1e-9)
    # ... and the suite's figure is the All-Around, not lm-eval's mean over the nine tasks
    assert results["results"]["ecombench_starter"]["kdd_score,none"] == pytest.approx(sub.all_around, abs=1e-9)
    assert abs(sub.all_around - sub.overall_task_mean) > 1e-3  # (the tiny model's answers tell the two apart)


class _RecordingLM:
    """An lm-eval model that fails the test if it is ever asked for anything."""

    def __new__(cls):
        from lm_eval.api.model import LM

        class Recording(LM):
            calls: ClassVar[list[str]] = []

            def loglikelihood(self, requests, disable_tqdm=False):
                self.calls.append("loglikelihood")
                raise AssertionError("loglikelihood requested")

            def loglikelihood_rolling(self, requests, disable_tqdm=False):
                self.calls.append("loglikelihood_rolling")
                raise AssertionError("loglikelihood_rolling requested")

            def generate_until(self, requests, disable_tqdm=False):
                self.calls.append("generate_until")
                raise AssertionError("generate_until requested")

        return Recording()


@pytest.mark.slow
def test_missing_embedding_model_stops_lm_eval_when_the_task_loads(no_multilingual_model, tmp_path):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    suite = multilingual_suite(tmp_path)
    lm = _RecordingLM()
    with pytest.raises(MissingEmbeddingModel) as caught:
        simple_evaluate(
            model=lm,
            tasks=["mls"],
            limit=1,
            verbosity="ERROR",
            task_manager=TaskManager(include_path=[str(suite)], include_defaults=False),
        )
    assert lm.calls == []
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("ecombench: task explain: metric 'multilingual-sent-transformer' needs")
    assert "ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL=PATH" in message and "--multilingual-embedding-model" not in message


def test_the_variable_provides_the_model(monkeypatch, no_multilingual_model, tmp_path):
    from ecombench.errors import EcombenchError
    from ecombench.hooks import load_dataset
    from ecombench.metrics.embedding import resolve_embedding_model

    data = multilingual_suite(tmp_path) / "mls_explain.jsonl"
    folder = tmp_path / "multilingual"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    monkeypatch.setenv("ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL", str(folder))
    assert resolve_embedding_model("multilingual-sent-transformer") == folder
    assert len(load_dataset(str(data))["test"]) == 3
    flag = tmp_path / "given-with-the-flag"
    flag.mkdir()
    (flag / "config.json").write_text("{}")
    assert resolve_embedding_model("multilingual-sent-transformer", flag) == flag  # `ecombench run`'s flag still wins
    monkeypatch.setenv("ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(EcombenchError, match=r"^ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL=.*nowhere: not a sentence-transformers model folder$"):
        resolve_embedding_model("multilingual-sent-transformer")
    with pytest.raises(MissingEmbeddingModel, match="ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL=.*nowhere"):
        load_dataset(str(data))
    with embedding_models_checked():  # `ecombench run` checked with its own flags: loading does not check again
        assert len(load_dataset(str(data))["test"]) == 3


@pytest.mark.slow
def test_plain_lm_eval_cli_prints_one_line_and_generates_nothing(no_multilingual_model, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lm_eval",
            "--model",
            "dummy",
            "--include_path",
            str(multilingual_suite(tmp_path)),
            "--tasks",
            "mls_explain",
            "--limit",
            "1",
            "--output_path",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=no_multilingual_model,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ecombench: task explain:") and "ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL=PATH" in last
    assert "Traceback" not in done.stderr and "Running generate_until" not in done.stderr
    assert not (tmp_path / "out").exists()
