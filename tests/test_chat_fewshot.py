"""Chat templates and few-shot examples (issue 16, items 1 and 2): what `ecombench run` sends, records and caches,
that training prompts read as evaluation's, and that few-shot runs are ranked apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ecombench import submissions
from ecombench.errors import EcombenchError
from ecombench.run import RunOptions, run
from ecombench.run.identity import answer_cache
from ecombench.run.options import KDD_SYSTEM_PROMPT
from ecombench.taskindex import build_index, default_roots
from tests.helpers.sources import write_jsonl

# BOS as text, one turn per message, the generation prompt last: enough to see where each part lands.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
INDEX = build_index(default_roots())
MC = "core_category_mc"


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory, tiny_model) -> Path:
    """builtin:tiny with a chat template on its tokenizer (an "instruct" model)."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("chat") / "tiny-chat"
    shutil.copytree(tiny_model, folder)
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(folder)
    return folder


def _template(folder: Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    return lambda messages: tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _rows(task: str) -> list[dict]:
    return [json.loads(line) for line in INDEX.tasks[task].data_file.read_text(encoding="utf-8").splitlines() if line.strip()]


def _training(task: str, name: str = "records.jsonl") -> list[dict]:
    """The task's records in one of core's training files (``records.jsonl``, the few-shot pool; ``benchmark.jsonl``)."""
    path = INDEX.tasks[task].yaml_path.parent / "train" / name
    return [r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r["task"] == task]


def _run(tmp_path: Path, model: str, **options):
    out = tmp_path / "subs"
    result = run(RunOptions(model=model, submissions_dir=out, batch_size="4", **{"tasks": [MC], "limit": 3, **options}))
    return result.submission, submissions.load_items(out, result.submission)


@pytest.mark.slow
def test_chat_template_is_on_for_a_chat_tokenizer_with_the_system_prompt_as_its_system_turn(chat_model, tmp_path):
    sub, items = _run(tmp_path, str(chat_model), system_prompt="kddcup")
    assert sub.generation.apply_chat_template is True
    template = _template(chat_model)
    for item, row in zip(items, _rows(MC), strict=False):
        assert item.prompt == template([{"role": "system", "content": KDD_SYSTEM_PROMPT}, {"role": "user", "content": row["input_field"]}])
        assert item.prompt.startswith(f"<s><|system|>\n{KDD_SYSTEM_PROMPT}</s>\n<|user|>\n") and item.prompt.endswith("</s>\n<|assistant|>\n")
    off, plain = _run(tmp_path, str(chat_model), system_prompt="kddcup", apply_chat_template=False)
    assert off.generation.apply_chat_template is False
    assert [i.prompt for i in plain] == [KDD_SYSTEM_PROMPT + r["input_field"] for r in _rows(MC)[:3]]


@pytest.mark.slow
def test_base_models_get_plain_prompts_and_cannot_ask_for_a_template(tmp_path):
    sub, items = _run(tmp_path, "builtin:tiny", limit=1)
    assert sub.generation.apply_chat_template is False and items[0].prompt == _rows(MC)[0]["input_field"]
    with pytest.raises(EcombenchError, match="has no chat template"):
        _run(tmp_path, "builtin:tiny", apply_chat_template=True)
    with pytest.raises(EcombenchError, match="--fewshot-as-multiturn needs a chat template"):
        _run(tmp_path, "builtin:tiny", num_fewshot=1, fewshot_as_multiturn=True)


@pytest.mark.slow
def test_a_template_without_a_system_turn_refuses_the_system_prompt(chat_model, tmp_path):
    from transformers import AutoTokenizer

    folder = tmp_path / "no-system"
    shutil.copytree(chat_model, folder)
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}{{ m['content'] }}{% endfor %}"
    tok.save_pretrained(folder)
    with pytest.raises(EcombenchError, match="chat template .* system turn"):  # lm-eval would drop it with a log line
        _run(tmp_path, str(folder), system_prompt="kddcup")


def test_chat_and_fewshot_settings_key_theanswer_cache():
    args = ("w" * 64, None, "float32", "cpu", "generate")
    plain = answer_cache(*args)
    assert answer_cache(*args, None, (False, 0, False)) == plain  # 0-shot plain runs keep the folder they always had
    keyed = {answer_cache(*args, None, p) for p in [(True, 0, False), (False, 3, False), (True, 3, False), (True, 3, True)]}
    assert len(keyed) == 4 and plain not in keyed


def test_the_chat_templates_hash_keys_theanswer_cache():
    args = ("w" * 64, None, "float32", "cpu", "generate", None, (True, 0, False))
    assert answer_cache(*args, "a" * 64) != answer_cache(*args, "b" * 64) != answer_cache(*args)


@pytest.mark.slow
def test_the_submission_records_which_chat_template_was_applied(chat_model, tmp_path):
    import hashlib

    from transformers import AutoTokenizer

    sub, _ = _run(tmp_path, str(chat_model), limit=1)
    assert sub.generation.chat_template_sha256 == hashlib.sha256(CHAT_TEMPLATE.encode()).hexdigest()
    edited = tmp_path / "edited"
    shutil.copytree(chat_model, edited)
    tok = AutoTokenizer.from_pretrained(edited)
    tok.chat_template = CHAT_TEMPLATE.replace("<|assistant|>", "<|bot|>")
    tok.save_pretrained(edited)
    other, items = _run(tmp_path, str(edited), limit=1)
    assert other.model.weights_sha256 == sub.model.weights_sha256  # the weights alone do not tell the two apart
    assert other.generation.chat_template_sha256 not in (None, sub.generation.chat_template_sha256)
    assert items[0].prompt.endswith("<|bot|>\n")  # answered anew under the edited template, not from the cache
    off, _ = _run(tmp_path, str(chat_model), limit=1, apply_chat_template=False)
    assert off.generation.chat_template_sha256 is None


@pytest.mark.slow
def test_fewshot_examples_are_seeded_training_records_never_evaluated_items(tmp_path):
    tasks = [MC, "core_title_generation"]
    sub, items = _run(tmp_path, "builtin:tiny", tasks=tasks, limit=4, num_fewshot=3, use_cache=False)
    assert (sub.generation.num_fewshot, sub.generation.fewshot_as_multiturn) == (3, False)
    for task in tasks:
        asked = {r["input_field"] for r in _rows(task)}
        examples = {r["prompt"] + r["completion"] for r in _training(task)}
        mine = [i for i in items if i.task == task]
        assert len(mine) == 4
        for item, row in zip(mine, _rows(task), strict=False):
            assert item.prompt.endswith("\n\n" + row["input_field"])
            shots = item.prompt[: -len(row["input_field"]) - 2].split("\n\n")
            # each example is a training record as training writes it: prompt, then its answer with nothing between
            assert len(shots) == 3 and all(s in examples for s in shots)
            assert not any(s.startswith(a) for s in shots for a in asked)
    _, again = _run(tmp_path / "again", "builtin:tiny", tasks=tasks, limit=4, num_fewshot=3, use_cache=False)
    assert [i.prompt for i in again] == [i.prompt for i in items]  # seeded: the same examples every run


def test_fewshot_needs_a_training_part(tmp_path):
    with pytest.raises(EcombenchError, match="task starter_category_mc has no training part"):
        _run(tmp_path, "builtin:tiny", tasks=["starter_category_mc"], num_fewshot=2)
    with pytest.raises(EcombenchError, match="--num-fewshot -1: must be 0 or more"):
        _run(tmp_path, "builtin:tiny", num_fewshot=-1)


def test_a_training_row_that_is_an_evaluated_question_is_never_an_example(tmp_path):
    from ecombench.hooks import load_dataset

    rows = _rows(MC)[:2]
    write_jsonl(tmp_path / "eval.jsonl", rows)
    write_jsonl(
        tmp_path / "train.jsonl",
        [
            {"prompt": rows[0]["input_field"], "completion": "1", "task": MC},  # an evaluated question: left out
            # the same question with its trailing space moved into the answer, and in other case: left out too
            {"prompt": rows[1]["input_field"].rstrip().upper(), "completion": " 2", "task": MC},
            {"prompt": "Pick one.\n0. a\n1. b\nAnswer: ", "completion": "1", "task": MC},
            {"prompt": "Other task\nAnswer: ", "completion": "2", "task": "core_rating_mc"},  # another task: left out
            {"input_field": "ShopBench row\nAnswer: ", "output_field": 0, "task_name": MC},
        ],
    )
    data = load_dataset("eval.jsonl", str(tmp_path / "t.yaml"), training_files="train.jsonl")
    assert [(r["input_field"], r["output_json"]) for r in data["train"]] == [("Pick one.\n0. a\n1. b\nAnswer: ", '"1"'), ("ShopBench row\nAnswer: ", "0")]
    assert len(data["test"]) == 2 and "train" not in load_dataset("eval.jsonl", str(tmp_path / "t.yaml"))


@pytest.mark.slow
def test_fewshot_with_a_chat_template_is_multiturn_by_default(chat_model, tmp_path):
    sub, items = _run(tmp_path, str(chat_model), num_fewshot=2, limit=2)
    assert (sub.generation.apply_chat_template, sub.generation.num_fewshot, sub.generation.fewshot_as_multiturn) == (True, 2, True)
    examples = {(r["prompt"], r["completion"]) for r in _training(MC)}
    for item in items:
        turns = item.prompt.split("</s>\n")
        assert [t.split("\n", 1)[0] for t in turns] == ["<s><|user|>", "<|assistant|>", "<|user|>", "<|assistant|>", "<|user|>", "<|assistant|>"]
        pairs = [(turns[i].split("\n", 1)[1], turns[i + 1].split("\n", 1)[1]) for i in (0, 2)]
        assert all(p in examples for p in pairs)  # each example: its prompt as a user turn, its answer as the assistant's
    single, one_turn = _run(tmp_path, str(chat_model), num_fewshot=2, limit=2, fewshot_as_multiturn=False)
    assert single.generation.fewshot_as_multiturn is False
    assert all(i.prompt.count("<|user|>") == 1 and i.prompt.count("<|assistant|>") == 1 for i in one_turn)


@pytest.mark.slow
def test_training_prompts_are_the_prompts_evaluation_sends(chat_model, tmp_path):
    """The trainer renders a record's prompt exactly as lm-eval renders the same item at 0-shot, chat template or not."""
    from ecombench.run.lm_eval_bridge import render_prompt
    from ecombench.tiny import resolve_model
    from ecombench.train.config import DataConfig, EvalConfig, TrainConfig
    from ecombench.train.pipeline import eval_renderer, prepare

    _, items = _run(tmp_path, str(chat_model))  # ecombench run's default for this model: chat template, no system prompt
    render = eval_renderer(chat_model)
    assert render is not None
    assert [render(r["input_field"]) for r in _rows(MC)[:3]] == [i.prompt for i in items]
    # with a system prompt, the shared renderer places it where lm-eval does (the template's system turn)
    _, with_system = _run(tmp_path, str(chat_model), system_prompt="kddcup")
    assert [render_prompt(r["input_field"], KDD_SYSTEM_PROMPT, _template(chat_model)) for r in _rows(MC)[:3]] == [i.prompt for i in with_system]

    config = TrainConfig(model=str(chat_model), data=DataConfig(tasks={MC: 6}), eval=EvalConfig(tasks=[MC]))
    mixture, report, _ = prepare(config, resolve_model(str(chat_model)))
    raw = {r["prompt"] for r in _training(MC) + _training(MC, "benchmark.jsonl")}  # the `core` source reads both
    assert report.exact == 0 and len(mixture.train + mixture.heldout) == 6
    for record in mixture.train + mixture.heldout:
        inner = record.prompt.removeprefix("<s><|user|>\n").removesuffix("</s>\n<|assistant|>\n")
        assert inner in raw and record.prompt == render(inner)
    # a base model trains on the prompts as they are, which is what run sends it
    assert eval_renderer(resolve_model("builtin:tiny").base_path) is None


def test_fast_generation_takes_chat_templated_prompts_as_lm_eval_does(chat_model):
    """lm-eval builds the templated context before generate_until; the fast path encodes it as HFLM does (one BOS)."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from ecombench.backends.hf import build_lm
    from ecombench.tiny import resolve_model

    lm = build_lm(resolve_model(str(chat_model)), device="cpu", dtype="float32", batch_size=4)
    template = _template(chat_model)
    gen = {"until": [], "max_gen_toks": 6, "do_sample": False}
    contexts = [template([{"role": "user", "content": r["input_field"]}]) for r in _rows("core_title_generation")[:3]]
    requests = [Instance("generate_until", {}, (c, gen), i) for i, c in enumerate(contexts)]
    encoded, _ = lm.tok_batch_encode(contexts[:1])
    assert encoded[0].tolist().count(lm.tokenizer.bos_token_id) == 1
    assert lm.generate_until(requests, disable_tqdm=True) == HFLM.generate_until(lm, requests, disable_tqdm=True)


def test_old_submission_records_load_as_plain_zero_shot():
    settings = submissions.GenerationSettings.model_validate(
        {"protocol": "generate", "system_prompt": None, "max_gen_toks": {}, "batch_size": "1", "device": "cpu", "limit": None}
    )
    assert (settings.apply_chat_template, settings.num_fewshot, settings.fewshot_as_multiturn) == (False, 0, False)


def test_leaderboard_ranks_fewshot_runs_apart():
    from tests.helpers.boards import board, build_table, make_submission, uniform

    def shots(sub, n):
        return sub.model_copy(update={"generation": sub.generation.model_copy(update={"num_fewshot": n})})

    subs = [make_submission("zero", uniform(0.3)), shots(make_submission("three", uniform(0.6)), 3)]
    frame = build_table(board(), INDEX, subs).frame
    rows = {r["name"]: r for r in frame.to_dict("records")}
    assert (rows["zero"]["rank"], rows["zero"]["flags"]) == (1, "")
    assert pd_na(rows["three"]["rank"]) and rows["three"]["flags"] == "3-shot"  # higher score, but not ranked against 0-shot
    only_few = build_table(board(), INDEX, [subs[1], shots(make_submission("five", uniform(0.9)), 5)]).frame
    assert dict(zip(only_few["name"], only_few["flags"], strict=True)) == {"three": "", "five": "5-shot"}


def pd_na(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_more_shots_than_a_task_can_draw_is_one_error_naming_the_task(tmp_path):
    from ecombench.errors import EcombenchError
    from ecombench.run import RunOptions, run
    from ecombench.run.lm_eval_bridge import fewshot_pool_size
    from ecombench.taskindex import build_index, default_roots

    task = build_index(default_roots()).tasks["core_compatibility_mc"]
    pool = fewshot_pool_size(task)
    assert pool == sum(1 for line in (task.yaml_path.parent / "train" / "records.jsonl").open() if '"task": "core_compatibility_mc"' in line)
    with pytest.raises(EcombenchError, match=f"--num-fewshot {pool + 1}: task core_compatibility_mc has only {pool} training examples"):
        run(RunOptions(model="builtin:tiny", tasks=["core_compatibility_mc"], num_fewshot=pool + 1, submissions_dir=tmp_path))
