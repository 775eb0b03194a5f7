"""`ecombench run` as five named stages (select tasks, build the model, generate, score, record), each tried alone."""

from __future__ import annotations

import json

import pytest

from ecombench import submissions
from ecombench.errors import EcombenchError
from ecombench.metrics.embedding import Embedders
from ecombench.run import Built, RunOptions, Selection, check_options, record, score, select_tasks
from ecombench.run.lm_eval_bridge import Sample
from ecombench.run.options import SYSTEM_PROMPTS
from ecombench.taskindex import build_index, default_roots
from tests.helpers.sources import record as shopbench_row


def test_select_tasks_expands_names_and_resolves_the_system_prompt():
    selection = select_tasks(RunOptions(model="x", tasks=["ecombench_starter"], system_prompt="kddcup"))
    assert [t.name for t in selection.tasks] == build_index(default_roots()).leaf_tasks("ecombench_starter")
    assert selection.system_prompt == SYSTEM_PROMPTS["kddcup"] and selection.skipped == {} and not selection.unanswered
    with pytest.raises(EcombenchError, match="--num-fewshot 2: task starter_"):
        select_tasks(RunOptions(model="x", tasks=["ecombench_starter"], num_fewshot=2))  # starter has no training part


def test_check_options_refuses_before_anything_is_read():
    with pytest.raises(EcombenchError, match="--limit 0: must be at least 1"):
        check_options(RunOptions(model="x", limit=0))
    with pytest.raises(EcombenchError, match="--backend tgi: use hf, vllm or openai"):
        check_options(RunOptions(model="x", backend="tgi"))


def _sample(task: str, i: int, truth: int, answer: str) -> Sample:
    row = shopbench_row(task, "multiple-choice", "accuracy", truth, track="t1", prompt=f"Q{i}?\n0. a\n1. b\nAnswer: ")
    doc = {**row, "output_json": json.dumps(truth)}
    return Sample(task, i, doc, row["input_field"], answer)


def test_score_and_record_alone(tmp_path):
    samples = [_sample("mc", 0, 1, "1"), _sample("mc", 1, 0, "1"), _sample("mc", 2, 0, "0"), _sample("mc", 3, 1, " 1 because")]
    scored = score(samples, Embedders())
    assert scored.report.tasks["mc"].score == 0.75 and scored.report.all_around == 0.75  # 3 of 4 right (a leading digit counts)
    assert [i.score for i in scored.items] == [1.0, 0.0, 1.0, 1.0] and len({i.item_hash for i in scored.items}) == 4

    task = build_index(default_roots()).tasks["starter_unit_price_mc"]
    renamed = [Sample(task.name, s.doc_id, {**s.doc, "task_name": task.name}, s.prompt, s.response) for s in samples]
    scored = score(renamed, Embedders())
    identity = submissions.ModelIdentity(spec="m", kind="local", base_model="m", weights_sha256="0" * 64, dtype="float32")
    built = Built(lm=None, identity=identity, name="staged", device="cpu", batch_size=4, model_args={}, chat=False, multiturn=False, cache=None)
    selection = Selection([task], {}, [], None, False)
    result = record(RunOptions(model="m", submissions_dir=tmp_path), selection, built, scored, created=submissions.now(), duration_s=1.5)
    loaded = submissions.load(result.path)
    assert loaded.name == "staged" and loaded.tasks[task.name].score == 0.75 and loaded.tasks[task.name].version == task.version
    assert loaded.all_around == 0.75 and loaded.duration_s == 1.5 and loaded.generation.device == "cpu"
    assert [i.score for i in submissions.load_items(tmp_path, loaded)] == [1.0, 0.0, 1.0, 1.0]
