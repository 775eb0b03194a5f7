"""`ecombench run` end to end on builtin:tiny and on adapters built in the test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecombench import submissions
from ecombench.errors import EcombenchError
from ecombench.models import folder_hash
from ecombench.run import RunOptions, run
from ecombench.run.identity import answer_cache
from ecombench.scorefile import score_files
from ecombench.taskindex import build_index, default_roots
from ecombench.tiny import resolve_model
from tests.helpers.cli import invoke_ecombench
from tests.helpers.sources import multilingual_suite, write_jsonl

TASKS = ["starter_category_mc", "starter_attribute_ner", "starter_query_ranking", "starter_title_generation"]


@pytest.fixture(scope="module")
def tiny_run(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("subs")
    return run(RunOptions(model="builtin:tiny", tasks=TASKS, limit=3, submissions_dir=out, batch_size="4"))


@pytest.mark.slow
def test_run_writes_a_complete_submission(tiny_run):
    sub = tiny_run.submission
    record = submissions.load(tiny_run.path)
    assert record == sub
    assert list(sub.tasks) == TASKS
    assert all(t.n == 3 for t in sub.tasks.values())
    assert sub.model.kind == "builtin" and sub.model.weights_sha256 == folder_hash(resolve_model("builtin:tiny").base_path)
    assert sub.generation.max_gen_toks["starter_category_mc"] == 1 and sub.generation.max_gen_toks["starter_query_ranking"] == 100
    index = build_index(default_roots())
    assert sub.tasks["starter_query_ranking"].data_sha256 == index.tasks["starter_query_ranking"].data_hash()
    items = submissions.load_items(tiny_run.path.parent, sub)
    assert len(items) == 12
    assert {i.task for i in items} == set(TASKS)
    assert items[0].prompt.startswith("Which category does the product")
    assert sub.all_around == pytest.approx(sum(sub.tracks.values()) / len(sub.tracks))


@pytest.mark.slow
def test_run_records_its_efficiency(tiny_run):
    from transformers import AutoTokenizer

    cost = tiny_run.submission.efficiency
    assert cost is not None and list(cost.stage_s) == ["load", "generate", "score", "record"]
    items = submissions.load_items(tiny_run.path.parent, tiny_run.submission)
    tok = AutoTokenizer.from_pretrained(resolve_model("builtin:tiny").base_path)
    assert cost.prompt_tokens == sum(len(tok.encode(i.prompt, add_special_tokens=False)) for i in items)
    assert cost.generated_tokens == sum(len(tok.encode(i.prediction, add_special_tokens=False)) for i in items)
    assert cost.generated_tokens_per_s == pytest.approx(cost.generated_tokens / cost.stage_s["generate"], rel=0.01)
    assert cost.device == "cpu" and cost.peak_device_mb is None and cost.threads >= 1 and cost.peak_host_mb and cost.peak_host_mb > 100


def test_run_scores_equal_score_on_the_same_raw_outputs(tiny_run, tmp_path):
    """The run path and the bring-your-own-predictions path are one scorer."""
    items = submissions.load_items(tiny_run.path.parent, tiny_run.submission)
    index = build_index(default_roots())
    data_rows, pred_rows = [], []
    for item in items:
        rows = [json.loads(line) for line in index.tasks[item.task].data_file.read_text().splitlines()]
        data_rows.append(rows[item.doc_id])
        pred_rows.append({"index": len(pred_rows), "prediction": item.prediction})
    report = score_files(write_jsonl(tmp_path / "d.jsonl", data_rows), write_jsonl(tmp_path / "p.jsonl", pred_rows))
    for name, task in tiny_run.submission.tasks.items():
        assert report.tasks[name].score == pytest.approx(task.score, abs=1e-12)
    assert report.all_around == pytest.approx(tiny_run.submission.all_around, abs=1e-12)


@pytest.mark.slow
def test_rerun_reuses_cached_answers(tiny_run, tmp_path):
    answers = Path(__import__("os").environ["ECOMBENCH_CACHE"]) / "answers"
    before = sorted(answers.glob("*/requests_rank0.db"))
    again = run(RunOptions(model="builtin:tiny", tasks=TASKS, limit=3, submissions_dir=tmp_path, batch_size="4"))
    first = submissions.load_items(tiny_run.path.parent, tiny_run.submission)
    second = submissions.load_items(tmp_path, again.submission)
    assert [i.prediction for i in first] == [i.prediction for i in second]
    assert again.submission.id != tiny_run.submission.id
    # the rerun made no new cache: both used the one of this model identity (weights, dtype, device, protocol)
    # (other tests of the session may have made caches for other models)
    assert sorted(answers.glob("*/requests_rank0.db")) == before
    model = resolve_model("builtin:tiny")
    cache = answer_cache(folder_hash(model.base_path), None, "float32", "cpu", "generate")
    db = cache.parent / f"{cache.name}_rank0.db"
    assert db.is_file() and db.stat().st_size > 0


def _adapter(tiny_model: Path, out: Path, base_field: str) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(out)
    cfg_path = out / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = base_field
    cfg_path.write_text(json.dumps(cfg))
    return out


def test_adapter_with_a_relative_base_path_runs_and_is_hashed(tiny_model, tmp_path):
    import os

    adapter = tmp_path / "adapters" / "lora"
    adapter.mkdir(parents=True)
    _adapter(tiny_model, adapter, os.path.relpath(tiny_model, adapter))
    resolved = resolve_model(str(adapter))
    assert resolved.kind == "adapter" and resolved.base_path == tiny_model.resolve()
    result = run(RunOptions(model=str(adapter), tasks=["starter_category_mc"], limit=2, submissions_dir=tmp_path / "subs"))
    assert result.submission.model.adapter_sha256 == folder_hash(adapter)
    assert result.submission.model.weights_sha256 == folder_hash(tiny_model)
    assert result.submission.name == "lora"


def test_adapter_whose_base_is_missing_says_so(tiny_model, tmp_path):
    adapter = tmp_path / "lora"
    adapter.mkdir()
    _adapter(tiny_model, adapter, "../no-such-model")
    with pytest.raises(EcombenchError, match=r"adapter_config.json \(base_model_name_or_path\): model folder ../no-such-model does not exist"):
        resolve_model(str(adapter))
    # --base overrides the stored base
    assert resolve_model(str(adapter), base=str(tiny_model)).base_path == tiny_model.resolve()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.mkdir(), "is empty"),
        (lambda p: (p.mkdir(), (p / "weights.bin").write_text("x")), "has no config.json"),
        (lambda p: None, "does not exist"),
    ],
)
def test_bad_model_folders(tmp_path, setup, message):
    folder = tmp_path / "model"
    setup(folder)
    with pytest.raises(EcombenchError, match=message):
        resolve_model(str(folder))


@pytest.mark.slow
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path):
    subs = tmp_path / "subs"
    done = invoke_ecombench("run", "--model", "builtin:tiny", "--tasks", "starter_categry_mc", "--submissions-dir", str(subs))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("ecombench: error: unknown task, group or track 'starter_categry_mc'; did you mean 'starter_category_mc'")
    assert "\n" not in done.stderr.strip()
    assert not subs.exists()


@pytest.mark.slow
def test_loglikelihood_protocol_picks_an_option_number(tiny_model, tmp_path):
    result = run(RunOptions(model="builtin:tiny", tasks=["starter_category_mc"], limit=3, submissions_dir=tmp_path, protocol="loglikelihood"))
    items = submissions.load_items(tmp_path, result.submission)
    assert all(i.prediction in {"0", "1", "2", "3"} for i in items)
    assert all(i.parsed == int(i.prediction) for i in items)
    assert result.submission.generation.protocol == "loglikelihood"


def test_kddcup_system_prompt_is_prepended(tmp_path):
    from ecombench.run.options import KDD_SYSTEM_PROMPT

    result = run(RunOptions(model="builtin:tiny", tasks=["starter_unit_price_mc"], limit=2, submissions_dir=tmp_path, system_prompt="kddcup"))
    items = submissions.load_items(tmp_path, result.submission)
    assert all(i.prompt.startswith(KDD_SYSTEM_PROMPT + "A pack of") for i in items)
    assert result.submission.generation.system_prompt == KDD_SYSTEM_PROMPT


def test_a_failing_run_leaves_no_submission(tmp_path):
    """Scoring needs a model that is not there: the run fails after generating and writes nothing."""
    tasks = tmp_path / "mytasks"
    tasks.mkdir()
    src = build_index(default_roots()).tasks["starter_category_explain"]
    rows = [json.loads(line) for line in src.data_file.read_text().splitlines()][:2]
    for row in rows:
        row["metric"] = "multilingual-sent-transformer"
        row["task_name"] = "my_explain"
    write_jsonl(tasks / "explain.jsonl", rows)
    (tasks / "explain.yaml").write_text(
        src.yaml_path.read_text()
        .replace("include: _base.yaml", f"include: {src.yaml_path.parent / '_base.yaml'}")
        .replace("starter_category_explain", "my_explain")
        .replace("data/category_explain.jsonl", "explain.jsonl")
    )
    subs = tmp_path / "subs"
    with pytest.raises(EcombenchError, match="paraphrase-multilingual-MiniLM-L12-v2"):
        run(RunOptions(model="builtin:tiny", tasks=["my_explain"], task_paths=[tasks], trust_tasks=True, submissions_dir=subs))
    assert not subs.exists() or list(subs.iterdir()) == []


def test_names_cannot_escape_the_submissions_folder(tmp_path):
    result = run(RunOptions(model="builtin:tiny", tasks=["starter_category_mc"], limit=1, submissions_dir=tmp_path / "subs", name="../../etc/passwd\0x"))
    assert result.path.parent == tmp_path / "subs"
    assert result.submission.name == "../../etc/passwd\0x"  # the name is kept as data; only the file name is sanitised
    assert "/" not in result.submission.id and ".." not in result.submission.id


@pytest.mark.slow
def test_plain_lm_eval_runs_our_tasks_from_any_directory(tiny_model, tmp_path):
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lm_eval",
            "--model",
            "hf",
            "--model_args",
            f"pretrained={tiny_model}",
            "--include_path",
            str(repo / "tasks"),
            "--tasks",
            "ecombench_starter_user_behavior_alignment",
            "--limit",
            "2",
            "--device",
            "cpu",
            "--output_path",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result_file = next((tmp_path / "out").rglob("results_*.json"))
    results = json.loads(result_file.read_text())["results"]
    assert set(results) >= {"starter_query_ranking", "starter_complement_retrieval", "ecombench_starter_user_behavior_alignment"}
    assert 0.0 <= results["starter_query_ranking"]["kdd_score,none"] <= 1.0


@pytest.mark.slow
def test_cli_run_prints_the_table_and_writes_the_submission(tmp_path):
    done = invoke_ecombench(
        "run",
        "--model",
        "builtin:tiny",
        "--tasks",
        "starter_category_mc,starter_title_generation",
        "--limit",
        "2",
        "--name",
        "cli-check",
        "--submissions-dir",
        str(tmp_path),
        env={"COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "All-Around (mean of tracks)" in done.stdout and "starter_title_generation" in done.stdout
    records = list(tmp_path.glob("*-cli-check-*.json"))
    assert len(records) == 1
    sub = submissions.load(records[0])
    assert set(sub.tasks) == {"starter_category_mc", "starter_title_generation"}
    assert f"{sub.all_around:.4f}" in done.stdout


def test_folder_hash_follows_content_not_memo(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"abc")
    (folder / "notes.txt").write_text("not hashed")
    first = folder_hash(folder)
    (folder / "notes.txt").write_text("changed")
    assert folder_hash(folder) == first
    (folder / "model.safetensors").write_bytes(b"abd")  # same size; a new mtime makes a new memo key
    __import__("os").utime(folder / "model.safetensors", ns=(1, 10**18))
    assert folder_hash(folder) != first


def test_hub_id_not_in_the_offline_cache_is_a_clear_error():
    with pytest.raises(
        EcombenchError,
        match=r"--model someorg/some-model: cannot find model 'someorg/some-model' \(it is not in the local Hugging Face cache and HF_HUB_OFFLINE=1\)",
    ):
        resolve_model("someorg/some-model")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"protocol": "beam"}, "--protocol beam: use generate or loglikelihood"),
        ({"limit": 0}, "--limit 0: must be at least 1"),
        ({"batch_size": "big"}, "--batch-size big: use 'auto' or a positive integer"),
        ({"task_paths": [Path("/no/such/folder")], "trust_tasks": True}, "--task-path /no/such/folder: not a folder"),
        ({"task_paths": [Path("/some/folder")]}, "task YAMLs can name Python functions (!function) that run when the task loads; pass --trust-tasks"),
        ({"model": "builtin:huge"}, "unknown built-in model 'builtin:huge'"),
    ],
)
def test_bad_run_options(tmp_path, changes, message):
    options = RunOptions(model="builtin:tiny", tasks=["starter_category_mc"], submissions_dir=tmp_path / "subs")
    for key, value in changes.items():
        setattr(options, key, value)
    with pytest.raises(EcombenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(options)
    assert not (tmp_path / "subs").exists()


def test_a_broken_submission_record_names_file_and_field(tiny_run, tmp_path):
    data = json.loads(tiny_run.path.read_text())
    data["all_around"] = "high"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(EcombenchError, match=r"broken.json: field 'all_around'"):
        submissions.load(broken)
    broken.write_text(tiny_run.path.read_text()[:100])
    with pytest.raises(EcombenchError, match="broken.json: not a readable submission"):
        submissions.load(broken)


@pytest.mark.slow
def test_a_task_whose_embedding_model_is_missing_is_skipped_in_a_track_and_refused_by_name(tmp_path, no_multilingual_model):
    suite = multilingual_suite(tmp_path / "imported")  # an imported ShopBench suite: multilingual embeddings are its rule
    result = run(RunOptions(model="builtin:tiny", tasks=["mls"], task_paths=[suite], trust_tasks=True, limit=1, submissions_dir=tmp_path))
    assert "mls_explain" in result.submission.skipped_tasks
    assert "--multilingual-embedding-model PATH" in result.submission.skipped_tasks["mls_explain"]
    assert "mls_explain" not in result.submission.tasks and "mls_translate" in result.submission.tasks
    with pytest.raises(EcombenchError, match="task mls_explain: metric 'multilingual-sent-transformer' needs"):
        run(RunOptions(model="builtin:tiny", tasks=["mls_explain"], task_paths=[suite], trust_tasks=True, limit=1, submissions_dir=tmp_path / "never"))
    assert not (tmp_path / "never").exists()


def test_task_code_from_an_untrusted_folder_never_runs(tmp_path):
    folder = tmp_path / "downloaded"
    folder.mkdir()
    marker = tmp_path / "code-ran"
    (folder / "evil.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\nfrom ecombench.hooks import load_dataset as load\n")
    src = build_index(default_roots()).tasks["starter_category_mc"]
    (folder / "t.yaml").write_text(
        src.yaml_path.read_text()
        .replace("include: _base.yaml", f"include: {src.yaml_path.parent / '_base.yaml'}")
        .replace("starter_category_mc", "downloaded_task")
        .replace("data/category_mc.jsonl", str(src.data_file))
        + "custom_dataset: !function evil.load\n"
    )
    with pytest.raises(EcombenchError, match="pass --trust-tasks"):
        run(RunOptions(model="builtin:tiny", tasks=["downloaded_task"], task_paths=[folder], limit=1, submissions_dir=tmp_path / "subs"))
    assert not marker.exists()
    result = run(RunOptions(model="builtin:tiny", tasks=["downloaded_task"], task_paths=[folder], trust_tasks=True, limit=1, submissions_dir=tmp_path / "subs"))
    assert marker.exists() and result.submission.tasks["downloaded_task"].n == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max_length=4096,parallelize=True", {"max_length": 4096, "parallelize": True}),
        ("gpu_memory_utilization=0.8,enforce_eager=False", {"gpu_memory_utilization": 0.8, "enforce_eager": False}),
        ("attn_implementation=sdpa", {"attn_implementation": "sdpa"}),
        ("", {}),
        (None, {}),
    ],
)
def test_model_args_are_typed_as_lm_eval_types_them(text, expected):
    from ecombench.run.lm_eval_bridge import parse_model_args

    assert parse_model_args(text) == expected


@pytest.mark.slow
def test_model_args_reach_the_model_are_recorded_and_keep_their_own_answer_cache(tiny_model, tmp_path):
    # max_length 110 leaves 10 prompt tokens beside title generation's 100 new ones: the prompts are cut
    task = ["starter_title_generation"]
    short = run(RunOptions(model="builtin:tiny", tasks=task, limit=4, submissions_dir=tmp_path, batch_size="4", model_args="max_length=110"))
    plain = run(RunOptions(model="builtin:tiny", tasks=task, limit=4, submissions_dir=tmp_path, batch_size="4"))
    assert short.submission.generation.model_args == {"max_length": 110} and plain.submission.generation.model_args == {}
    cut = [i.prediction for i in submissions.load_items(tmp_path, short.submission)]
    whole = [i.prediction for i in submissions.load_items(tmp_path, plain.submission)]
    assert cut != whole  # had the cache ignored the model arguments, the plain run would have reused the cut answers
    fresh = run(RunOptions(model="builtin:tiny", tasks=task, limit=4, submissions_dir=tmp_path / "fresh", batch_size="4", use_cache=False))
    assert [i.prediction for i in submissions.load_items(tmp_path / "fresh", fresh.submission)] == whole
