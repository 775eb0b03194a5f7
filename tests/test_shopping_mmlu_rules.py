"""Shopping MMLU's own rules (issue 27): hand-worked cases, and parity with a reimplementation of its code.

The ``upstream_*`` functions below are written in this test from reading KL4805/ShoppingMMLU at commit
7b118da (``skill_wise_eval/metrics.py``, ``skill_wise_eval/skill_evaluation.py``,
``task_wise_eval/hf_multi_choice.py``); they keep its quirks (the newline branch of ``hit_rate`` that
still splits the whole text, ``int()`` on each piece, spaces-only stripping in ``accuracy``). They are not
its code: they call the same libraries it calls (rouge-score, sacrebleu) the way it calls them.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from ecombench.errors import EcombenchError
from ecombench.importers import IMPORTERS
from ecombench.importers.writer import write_suite
from ecombench.metrics import shopping_mmlu as smmlu
from ecombench.metrics.embedding import Embedders
from ecombench.scorefile import score_files
from ecombench.scoring import ScoringItem, score_items, score_report
from tests.helpers.cli import invoke_ecombench
from tests.helpers.sources import record, write_jsonl

# --- the reimplementation -------------------------------------------------------------------------------


def upstream_accuracy(generation, truth):
    generation = generation.lstrip(" ").rstrip(" ")
    if generation == "":
        return 0
    return 1 if generation[0] == truth else 0


def upstream_hit_rate(generation, truth):
    generation = generation.lstrip().rstrip()
    if "\n" not in generation:
        retrieved_list = generation.split(",")
    else:
        retrieved_list = generation.split(",")  # upstream takes the first line, then splits the whole text again
    retrieved_int = []
    for ret in retrieved_list:
        try:
            retrieved_int.append(int(ret))
        except ValueError:
            continue
    retrieved_int = retrieved_int[:3]
    return len(set(truth).intersection(set(retrieved_int))) / len(truth)


def upstream_ndcg(generation, truth):
    weight = list(truth)
    if "\n" in generation:
        generation = generation.lstrip("\n").rstrip("\n").split("\n")[0]
    ranked_list = []
    for x in generation.lstrip().rstrip().split(","):
        try:
            ranked_list.append(int(x))
        except ValueError:
            continue
    ranked_list = ranked_list[: len(weight)]
    dcg = 0
    for i, candidate in enumerate(ranked_list):
        relevance = weight[candidate - 1] if candidate - 1 < len(weight) else 0
        dcg += (np.power(2, relevance) - 1) / np.log2(i + 2)
    weight.sort(reverse=True)
    idcg = sum((np.power(2, w) - 1) / np.log2(i + 2) for i, w in enumerate(weight))
    return dcg / idcg


def upstream_tp_fp_fn(generation, truth):
    generation = generation.lstrip("\n").split("\n")[0].lstrip(" ").rstrip(" ")
    answer = [a for a in generation.split(",") if a != ""]
    answer_lower = [a.lower().lstrip(" ").rstrip(" ") for a in answer]
    truth_lower = [t.lower() for t in truth]
    tp = len(set(answer_lower).intersection(set(truth_lower)))
    return tp, len(answer_lower) - tp, len(truth_lower) - tp


def upstream_f1(counts):
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


_ROUGE = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def upstream_rougel(generation, truth):
    return _ROUGE.score(generation, truth)["rougeL"].fmeasure


def upstream_bleu(generation, truth):
    """metrics.py:131-140 through `evaluate`'s sacrebleu module, which cannot load offline (it fetches its
    script from the Hub). Its ``_compute`` (huggingface/evaluate metrics/sacrebleu/sacrebleu.py; 0.4.1 takes
    the same keywords as arguments) is ``sacrebleu.corpus_bleu(predictions, transformed_references,
    smooth_method="exp", smooth_value=None, force=False, lowercase=..., use_effective_order=False)`` with the
    references transposed; called here as it calls it."""
    generation = generation.lstrip("\n").rstrip("\n").split("\n")[0]
    references = [[truth]]
    transformed = [[refs[i] for refs in references] for i in range(len(references[0]))]
    score = sacrebleu.corpus_bleu([generation], transformed, smooth_method="exp", smooth_value=None, force=False, lowercase=True, use_effective_order=False)
    return score.score / 100


def upstream_task_wise_mc(answer, label):
    for k in answer:
        if k.isnumeric():
            answer = k
            break
    return 1 if answer == str(label) else 0


# --- hand-worked cases ------------------------------------------------------------------------------------

CASES = [
    # (task type, metric, truth, raw, Shopping MMLU score, KDD score)
    ("multiple-choice", "accuracy", 2, "2", 1.0, 1.0),
    ("multiple-choice", "accuracy", 2, "\n2", 0.0, 1.0),  # SMMLU strips spaces only: the first character is a newline
    ("multiple-choice", "accuracy", 2, "  2. red", 1.0, 1.0),
    ("multiple-choice", "accuracy", 2, "٢", 0.0, 1.0),  # Arabic-Indic two: int() reads it, '٢' != '2'
    ("retrieval", "hit rate@3", [1, 4], "4, 1, 2", 1.0, 1.0),
    ("retrieval", "hit rate@3", [1, 4], "[1, 4]", 0.0, 1.0),  # '[1' and ' 4]' are no ints
    ("ranking", "ndcg", [3, 0, 1], "1,3,2", 1.0, 1.0),
    ("ranking", "ndcg", [3, 0, 1], "2,2,1", (7 / np.log2(4)) / (7 + 1 / np.log2(3)), 0.0),  # repeats: SMMLU scores, KDD empties
    ("ranking", "ndcg", [3, 0, 1], "1,1,1", 1.0, 0.0),  # upstream: (7 + 7/log2(3) + 7/2) / (7 + 1/log2(3)) > 1; capped
    ("named_entity_recognition", "micro f1", ["Nike", "shoes"], '["Nike", "shoes"]', 0.0, 1.0),  # a Python list: SMMLU splits on commas
    ("named_entity_recognition", "micro f1", ["Nike", "shoes"], "nike, shoes\nsome talk", 1.0, 0.5),  # SMMLU reads the first line only
    # outputs over 5,000 characters, read whole by both scorers (issue 36: a cut at 5,000 scored each of these 0)
    ("multiple-choice", "accuracy", 2, " " * 5000 + "2", 1.0, 1.0),
    ("retrieval", "hit rate@3", [1, 4], " " * 5000 + "4, 1", 1.0, 1.0),
    ("named_entity_recognition", "micro f1", ["Nike", "shoes"], "[" + " " * 5000 + "'Nike', 'shoes']", 0.0, 1.0),  # KDD: a list literal
    ("generation", "rougel", "red cotton shirt", " " * 5000 + "red cotton shirt", 1.0, 1.0),
]


@pytest.mark.parametrize(("task_type", "metric", "truth", "raw", "ours", "kdd"), CASES)
def test_hand_worked_cases_score_by_each_rule_set(task_type, metric, truth, raw, ours, kdd):
    item = [ScoringItem("t", task_type, metric, "k", truth, raw)]
    assert score_items(item, rules="shopping-mmlu")[0].score == pytest.approx(ours, abs=1e-12)
    assert score_items(item, rules="kddcup")[0].score == pytest.approx(kdd, abs=1e-12)


def test_ner_counts_and_bleu_by_hand():
    # ' ,Nike,,SHOES ' -> first line stripped of spaces ',Nike,,SHOES' -> ['Nike', 'SHOES'] lower -> tp 2; truth 3 -> fn 1
    assert smmlu.ner_counts(" ,Nike,,SHOES \nmore", ["nike", "shoes", "red"]) == smmlu.F1Counts(tp=2, fp=0, fn=1)
    assert smmlu.ner_counts("a, ,b", ["a"]) == smmlu.F1Counts(tp=1, fp=2, fn=0)  # ' ' survives the empty filter, then strips to ''
    assert smmlu.bleu_13a("\nThe Red Cotton Shirt\nsecond line", "the red cotton shirt") == pytest.approx(1.0)  # lower-cased, first line
    assert smmlu.task_wise_accuracy(" (2) red", 2) == 1.0 and smmlu.task_wise_accuracy("B", 1) == 0.0


def test_task_wise_multiple_choice_reads_the_first_digit_of_four_tokens():
    raws = ["Answer: 3", " 3.", "three", "", "12", "x\n1"]
    assert [smmlu.task_wise_accuracy(r, 3) for r in raws] == [upstream_task_wise_mc(r, 3) for r in raws] == [1, 1, 0, 0, 0, 0]
    assert smmlu.TASK_WISE_MAX_NEW_TOKENS["multiple-choice"] == 4 and smmlu.SKILL_WISE_MAX_NEW_TOKENS["multiple-choice"] == 1


# --- property tests: thousands of generated outputs ----------------------------------------------------------

_PIECES = ["1", "2", "3", "4", "5", "0", "-1", "10", ",", ", ", " ", "\n", "\n\n", "a", "Nike", "SHOES", "red", "[", "]", "'", "٢", "1_0", "  "]


def _outputs(rng: random.Random, n: int, pieces: list[str] = _PIECES) -> list[str]:
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 9))) for _ in range(n)]


def test_item_metrics_equal_the_reimplementation_on_thousands_of_outputs():
    rng = random.Random(27)
    raws = _outputs(rng, 3000)
    for raw in raws:
        truth_mc = rng.randint(0, 3)
        assert smmlu.accuracy(raw, truth_mc) == upstream_accuracy(raw, str(truth_mc))
        assert smmlu.task_wise_accuracy(raw, truth_mc) == upstream_task_wise_mc(raw, truth_mc)
        truth_ret = rng.sample(range(1, 6), rng.randint(1, 3))
        assert smmlu.hit_rate(raw, truth_ret) == pytest.approx(upstream_hit_rate(raw, truth_ret), abs=1e-9)
        gains = [rng.choice([0, 0.01, 0.1, 1, 2, 3]) for _ in range(5)]
        if any(gains) and all(c - 1 >= -5 for c in _ranked(raw)):  # upstream raises on an index below -len, and on 0/0
            # capped at 1: repeating the best candidate earns upstream more than the ideal order
            assert smmlu.ndcg(raw, gains) == pytest.approx(min(1.0, float(upstream_ndcg(raw, gains))), abs=1e-9)
        truth_ner = rng.sample(["nike", "Shoes", "red", "a"], rng.randint(1, 3))
        counts = smmlu.ner_counts(raw, truth_ner)
        assert (counts.tp, counts.fp, counts.fn) == upstream_tp_fp_fn(raw, truth_ner)


def _ranked(raw: str) -> list[int]:
    return smmlu.ranking_list(raw, 5)


@pytest.mark.slow
def test_text_metrics_equal_the_reimplementation_on_generated_outputs():
    rng = random.Random(2024)
    words = ["the", "red", "shirt", "Shirts", "running", "cotton", "a", "for", "men", ".", "\n", "MEN"]
    for _ in range(1500):
        raw = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        truth = " ".join(rng.choice(words[:-2]) for _ in range(rng.randint(1, 10)))
        assert smmlu.rougel(raw, truth) == pytest.approx(upstream_rougel(raw, truth), abs=1e-9)
        assert smmlu.bleu_13a(raw, truth) == pytest.approx(min(1.0, upstream_bleu(raw, truth)), abs=1e-9)


def test_skill_scores_equal_skill_evaluation_task_by_task_and_skill_by_skill(tmp_path):
    """A skill file and a model-output file as skill_evaluation.py reads them (pandas JSON Lines); outputs
    generated, not written by hand; every task score and the track_wise score within 1e-9."""
    rng = random.Random(7)
    kinds = [
        ("asin_mc", "multiple-choice", "accuracy", lambda: rng.randint(0, 3)),
        ("keyphrase", "retrieval", "hit rate@3", lambda: rng.sample(range(1, 6), 2)),
        ("qpr", "ranking", "ndcg", lambda: [rng.choice([0, 0.01, 0.1, 1]) for _ in range(4)] + [1]),
        ("brand_ner", "named_entity_recognition", "micro f1", lambda: rng.sample(["nike", "shoes", "red"], 2)),
        ("title_gen", "generation", "rougel", lambda: " ".join(rng.sample(["red", "shirt", "men", "cotton"], 3))),
        ("translate", "generation", "bleu", lambda: " ".join(rng.sample(["red", "shirt", "men", "cotton"], 3))),
    ]
    rows, outputs = [], []
    for _ in range(400):
        task, task_type, metric, truth = rng.choice(kinds)
        rows.append({"task_name": task, "task_type": task_type, "metric": metric, "input_field": f"q{len(rows)}", "output_field": truth()})
        # no '-1': a rank below -len makes upstream's ndcg raise IndexError
        outputs.append(rng.choice([*_outputs(rng, 1, [p for p in _PIECES if p != "-1"]), "red shirt", "1, 2, 3", "nike, shoes", str(rng.randint(0, 3))]))
    skills = tmp_path / "data" / "skills"
    skills.mkdir(parents=True)
    write_jsonl(skills / "skill1_concept.json", rows)  # no 'track': the file is the skill
    write_jsonl(tmp_path / "out.json", [{"model_output": o} for o in outputs])

    # skill_evaluation.py, lines 15-136, as it runs
    data_df = pd.read_json(skills / "skill1_concept.json", lines=True)
    output_df = pd.read_json(tmp_path / "out.json", lines=True)
    per_task: dict[str, dict] = {}
    for i in range(data_df.shape[0]):
        name, generation = data_df.iloc[i]["task_name"], output_df.iloc[i]["model_output"]
        truth, metric = data_df.iloc[i]["output_field"], data_df.iloc[i]["metric"]
        entry = per_task.setdefault(name, {"metric": metric, "sample_score": []})
        if metric == "accuracy":
            entry["sample_score"].append(upstream_accuracy(generation, str(truth)))
        elif metric == "hit rate@3":
            entry["sample_score"].append(upstream_hit_rate(generation, truth))
        elif metric == "rougel":
            entry["sample_score"].append(upstream_rougel(generation, truth))
        elif metric == "micro f1":
            entry["sample_score"].append(upstream_tp_fp_fn(generation, truth))
        elif metric == "ndcg":
            entry["sample_score"].append(min(1.0, upstream_ndcg(generation, list(truth))))  # ecombench caps NDCG at 1
        elif metric == "bleu":
            entry["sample_score"].append(upstream_bleu(generation, truth))
    expected = {k: (upstream_f1(v["sample_score"]) if v["metric"] == "micro f1" else float(np.mean(v["sample_score"]))) for k, v in per_task.items()}
    track_wise = float(np.mean(list(expected.values())))

    dest = write_suite(IMPORTERS["shopping-mmlu"](tmp_path / "data"), "smmlu", tmp_path / "home")
    imported = [json.loads(line) for task in sorted(expected) for line in (dest / f"smmlu_{task}.jsonl").read_text().splitlines()]
    assert {r["track"] for r in imported} == {"skill1_concept"} and {r["rules"] for r in imported} == {"shopping-mmlu"}
    data = write_jsonl(tmp_path / "data.jsonl", [{**r, "track": "skill1_concept", "rules": "shopping-mmlu"} for r in rows])
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"index": i, "prediction": o} for i, o in enumerate(outputs)])
    report = score_files(data, preds)  # the rows' rules: shopping-mmlu
    assert report.rules == "shopping-mmlu"
    assert {k: t.score for k, t in report.tasks.items()} == pytest.approx(expected, abs=1e-9)
    assert report.tracks["skill1_concept"] == pytest.approx(track_wise, abs=1e-9)
    kdd = score_files(data, preds, rules="kddcup")
    assert kdd.rules == "kddcup" and abs(kdd.tracks["skill1_concept"] - track_wise) > 1e-3  # the rules matter on these outputs


def test_embedding_metrics_embed_the_raw_output_under_shopping_mmlu():
    seen: list[list[str]] = []

    def encode(texts):
        seen.append(list(texts))
        return np.array([[1.0, 0.0] if t.startswith(" ") else [0.6, 0.8] for t in texts], dtype=np.float32)

    embedders = Embedders(_loaded={"sent-transformer": encode})
    item = [ScoringItem("t", "generation", "sent-transformer", "k", "red shirt", " red shirt")]
    assert score_items(item, embedders, rules="shopping-mmlu")[0].score == pytest.approx(0.6)  # ' red shirt' vs 'red shirt'
    assert score_items(item, embedders, rules="kddcup")[0].score == pytest.approx(1.0)  # the KDD parser strips first
    assert " red shirt" in seen[0]


@pytest.mark.slow
def test_sentence_transformer_score_equals_upstream_pair_by_pair_within_1e_4():
    """metrics.py:42-63 with the real all-MiniLM-L6-v2: one encode per text, cosine, mean over a list truth, 0 if not positive."""
    from sentence_transformers import SentenceTransformer

    from ecombench.metrics.embedding import resolve_embedding_model

    model = SentenceTransformer(str(resolve_embedding_model("sent-transformer")))
    rng = random.Random(11)
    words = ["red", "cotton", "shirt", "garlic", "press", "shoes", "for", "women", " ", "\n"]
    raws = ["".join(rng.choice(words) + " " for _ in range(rng.randint(0, 6))) for _ in range(200)]
    truths = [rng.choice(["a red cotton shirt", "garlic press", ["running shoes", "red sneakers"]]) for _ in raws]

    def upstream(generation, truth):
        g = model.encode([generation])[0]
        refs = [truth] if isinstance(truth, str) else truth
        sims = [float((g * (t := model.encode([r])[0])).sum() / (np.linalg.norm(g, ord=2) * np.linalg.norm(t, ord=2))) for r in refs]
        return max(0.0, float(np.mean(sims)))

    items = [ScoringItem("t", "generation", "sent-transformer", "k", t, r) for r, t in zip(raws, truths, strict=True)]
    ours = [s.score for s in score_items(items, Embedders(), rules="shopping-mmlu")]
    assert ours == pytest.approx([min(1.0, upstream(r, t)) for r, t in zip(raws, truths, strict=True)], abs=1e-4)


# --- importing and choosing rules ---------------------------------------------------------------------------


@pytest.mark.slow
def test_score_reads_a_skill_file_and_skill_evaluation_outputs_as_they_come(tmp_path):
    """Issue 36.3: `score --data skills/skill1_concept.json --predictions out.json` failed on the missing track;
    the file is the skill, and out.json is skill_evaluation.py's {"model_output": ...} lines in data order."""
    skills = tmp_path / "skills"
    skills.mkdir()
    rng = random.Random(36)
    rows, outputs = [], []
    for i in range(40):
        if i % 2:
            truth = rng.randint(0, 3)
            rows.append({"task_name": "asin_mc", "task_type": "multiple-choice", "metric": "accuracy", "input_field": f"Q{i}?", "output_field": truth})
            outputs.append(rng.choice([str(truth), " 1", "\n2", "3. x", "0"]))
        else:
            truth = rng.sample(["nike", "shoes", "red"], 2)
            rows.append(
                {"task_name": "brand_ner", "task_type": "named_entity_recognition", "metric": "micro f1", "input_field": f"N{i}", "output_field": truth}
            )
            outputs.append(rng.choice(["nike, shoes", "Red,  NIKE", '["nike"]', "shoes\nnike"]))
    write_jsonl(skills / "skill1_concept.json", rows)
    out = write_jsonl(tmp_path / "out.json", [{"model_output": o} for o in outputs])
    done = invoke_ecombench("score", "--rules", "shopping-mmlu", "--data", skills / "skill1_concept.json", "--predictions", out, "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    mc = [upstream_accuracy(o, str(r["output_field"])) for r, o in zip(rows, outputs, strict=True) if r["task_name"] == "asin_mc"]
    ner = [upstream_tp_fp_fn(o, r["output_field"]) for r, o in zip(rows, outputs, strict=True) if r["task_name"] == "brand_ner"]
    assert report["tasks"]["asin_mc"]["score"] == pytest.approx(sum(mc) / len(mc), abs=1e-12)
    assert report["tasks"]["brand_ner"]["score"] == pytest.approx(upstream_f1(ner), abs=1e-12)
    assert report["tracks"] == pytest.approx({"skill1_concept": (sum(mc) / len(mc) + upstream_f1(ner)) / 2})  # track_wise, the file's skill
    assert "as a Shopping MMLU skill file" in done.stderr and "skill_evaluation.py's output" in done.stderr
    # without --rules, the skill file is scored by its benchmark's rules; --save keeps it as a submission
    saved = invoke_ecombench("score", "--data", skills / "skill1_concept.json", "--predictions", out, "--save", "--submissions-dir", tmp_path / "subs")
    assert saved.returncode == 0, saved.stderr
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "subs").glob("*.json")]
    assert record["rules"] == "shopping-mmlu" and record["tasks"]["asin_mc"]["score"] == pytest.approx(sum(mc) / len(mc))


def test_skill_evaluation_outputs_must_be_text_one_per_data_row(tmp_path):
    skills = tmp_path / "skills"
    skills.mkdir()
    data = write_jsonl(
        skills / "skill2.json", [{"task_name": "t", "task_type": "multiple-choice", "metric": "accuracy", "input_field": "Q", "output_field": 1}] * 2
    )
    with pytest.raises(EcombenchError, match=r"out.json: no prediction for 1 of 2 rows"):
        score_files(data, write_jsonl(tmp_path / "out.json", [{"model_output": "1"}]))
    with pytest.raises(EcombenchError, match=r"out.json:2: model_output: expected text"):
        score_files(data, write_jsonl(tmp_path / "out.json", [{"model_output": "1"}, {"model_output": 1}]))


@pytest.mark.slow
def test_skill_files_without_track_import_and_score_by_shopping_mmlu(tmp_path):
    skills = tmp_path / "data" / "skills"
    skills.mkdir(parents=True)
    rows = [
        {
            "task_name": "brand_ner",
            "task_type": "named_entity_recognition",
            "metric": "micro f1",
            "input_field": "Brands in: nike shoes",
            "output_field": ["nike"],
        },
        {"task_name": "asin_mc", "task_type": "multiple-choice", "metric": "accuracy", "input_field": "Q?\n0. a\n1. b\nAnswer: ", "output_field": 1},
    ]
    write_jsonl(skills / "skill1_concept.json", rows)
    home = tmp_path / "home"
    done = invoke_ecombench("import", "shopping-mmlu", tmp_path / "data", "--name", "smmlu", env={"ECOMBENCH_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    suite = home / "tasks" / "smmlu"
    meta = {name: json.loads((suite / f"smmlu_{name}.jsonl").read_text().splitlines()[0]) for name in ("brand_ner", "asin_mc")}
    assert meta["brand_ner"]["track"] == "skill1_concept" and meta["brand_ner"]["rules"] == "shopping-mmlu"
    assert "rules: shopping-mmlu" in (suite / "smmlu_brand_ner.yaml").read_text()
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"index": 0, "prediction": '["nike"]'}])
    scored = invoke_ecombench("score", "--data", suite / "smmlu_brand_ner.jsonl", "--predictions", preds, "--format", "json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["rules"] == "shopping-mmlu" and json.loads(scored.stdout)["all_around"] == 0.0  # '["nike"]' != 'nike'
    kdd = invoke_ecombench("score", "--data", suite / "smmlu_brand_ner.jsonl", "--predictions", preds, "--format", "json", "--rules", "kddcup")
    assert json.loads(kdd.stdout)["rules"] == "kddcup" and json.loads(kdd.stdout)["all_around"] == 1.0


@pytest.mark.slow
def test_an_unknown_rule_set_and_a_metric_without_a_rule_are_one_line_errors(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [record("t", "generation", "ecomgpt-generate-rougel", "x")])
    preds = write_jsonl(tmp_path / "p.jsonl", [{"index": 0, "prediction": "x"}])
    bad = invoke_ecombench("score", "--data", data, "--predictions", preds, "--rules", "helm")
    assert bad.returncode == 2 and bad.stderr.strip() == f"ecombench: error: {data}: --rules helm: use one of kddcup, shopping-mmlu, ecomgpt, ecellm"
    wrong = invoke_ecombench("score", "--data", data, "--predictions", preds, "--rules", "shopping-mmlu")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == "ecombench: error: task 't': metric 'ecomgpt-generate-rougel' has no rule under --rules shopping-mmlu"


def test_rows_declaring_two_rule_sets_need_a_choice(tmp_path):
    rows = [{**record("a", "multiple-choice", "accuracy", 1), "rules": "kddcup"}, {**record("b", "multiple-choice", "accuracy", 1), "rules": "shopping-mmlu"}]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    preds = write_jsonl(tmp_path / "p.jsonl", [{"index": 0, "prediction": "1"}, {"index": 1, "prediction": "1"}])
    with pytest.raises(EcombenchError, match=r"carry different rules \(kddcup, shopping-mmlu\); pass --rules"):
        score_files(data, preds)
    assert score_files(data, preds, rules="shopping-mmlu").rules == "shopping-mmlu"


def test_score_report_records_the_rules():
    report, _ = score_report([ScoringItem("t", "multiple-choice", "accuracy", "k", 1, "\n1")], rules="shopping-mmlu")
    assert report.as_json()["rules"] == "shopping-mmlu" and report.all_around == 0.0


def test_per_type_folders_in_the_upstream_layout_take_type_metric_and_new_tokens_from_the_folder(tmp_path):
    """README.md of Shopping MMLU: per-type .json files hold input_field and target_field; task_wise_eval picks
    the metric from the folder and the name (hf_generation.py:39-54) and its own max_new_tokens per type."""
    data = tmp_path / "data"
    layout = {
        "generation/attribute_extraction_dataset.json": {"input_field": "Extract.", "target_field": "red"},
        "generation/product_title_translation_JP_dataset.json": {"input_field": "Translate.", "target_field": "赤いシャツ"},
        "generation/multilingual_description_dataset.json": {"input_field": "Describe.", "target_field": "eine Tasse"},
        "generation/pt_name_explain_dataset.json": {"input_field": "Explain.", "target_field": "a mug"},
        "named_entity_recognition/query_ner_dataset.json": {"input_field": "Brands?", "target_field": ["nike"]},
        "retrieval/keyphrase_dataset.json": {"input_field": "Which?", "target_field": [1, 3]},
        "ranking/query_product_dataset.json": {"input_field": "Rank.", "target_field": [1, 0.1, 0]},
    }
    for name, row in layout.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(data / name, [row])
    suite = IMPORTERS["shopping-mmlu"](data)
    metrics = {task: (rows[0]["task_type"], rows[0]["metric"]) for task, rows in suite.tasks.items()}
    assert metrics == {
        "attribute_extraction": ("generation", "rougel"),
        "product_title_translation_JP": ("generation", "jp-bleu"),
        "multilingual_description": ("generation", "multilingual-sent-transformer"),
        "pt_name_explain": ("generation", "sent-transformer"),
        "query_ner": ("named_entity_recognition", "micro f1"),
        "keyphrase": ("retrieval", "hit rate@3"),
        "query_product": ("ranking", "ndcg"),
    }
    assert suite.max_gen_toks == {
        "attribute_extraction": 128,
        "product_title_translation_JP": 128,
        "multilingual_description": 128,
        "pt_name_explain": 128,
        "query_ner": 20,
        "keyphrase": 15,
        "query_product": 20,
    }
    assert suite.tasks["keyphrase"][0]["output_field"] == [1, 3] and suite.tasks["keyphrase"][0]["input_field"] == "Which?"


def upstream_task_wise_letters(answer, label, rating):  # hf_multi_choice.py:63-64, 90-95 with --use_letter_choices
    if not rating:
        label = ["A", "B", "C", "D"][int(label)]
    for k in answer:
        if k.isalnum():
            answer = k
            break
    return 1 if answer == str(label) else 0


def test_lettered_choices_are_asked_and_read_as_use_letter_choices_does(tmp_path):
    folder = tmp_path / "data" / "multiple_choice"
    folder.mkdir(parents=True)
    (folder / "category_dataset.csv").write_text("question,choices,answer\n\"Category of a mug?\",\"['toys', 'drinkware', 'tools', 'food']\",1\n")
    (folder / "review_rating_prediction_dataset.csv").write_text('question,choices,answer\n"Stars for: great?","[]",5\n')
    suite = IMPORTERS["shopping-mmlu"](tmp_path / "data", letter_choices=True)
    category, rating = suite.tasks["category"][0], suite.tasks["review_rating_prediction"][0]
    assert category["input_field"] == (
        "Category of a mug?\n(A) toys\n(B) drinkware\n(C) tools\n(D) food\n\nPlease answer the question with a single letter indicating the choice. \nAnswer: "
    )
    assert (category["metric"], rating["metric"]) == ("task-wise letter accuracy", "task-wise rating letter accuracy")
    assert rating["input_field"] == "Stars for: great?\n\nPlease answer the question with a single letter indicating the choice. \nAnswer: "
    rng = random.Random(3)
    for _ in range(2000):
        raw = "".join(rng.choice([" ", "(", "B", "b", "A", "5", "1", ")", "\n", ".", "Answer:"]) for _ in range(rng.randint(0, 5)))
        truth = rng.randint(0, 3)
        assert smmlu.task_wise_letter_accuracy(raw, truth) == upstream_task_wise_letters(raw, truth, rating=False)
        assert smmlu.task_wise_rating_letter_accuracy(raw, truth + 2) == upstream_task_wise_letters(raw, truth + 2, rating=True)
    assert smmlu.task_wise_letter_accuracy(" (B) drinkware", 1) == 1.0 and smmlu.task_wise_letter_accuracy("Answer: B", 1) == 0.0  # 'A' of 'Answer'
    with pytest.raises(EcombenchError, match="metric 'task-wise letter accuracy' has no rule under --rules kddcup"):
        score_items([ScoringItem("c", "multiple-choice", "task-wise letter accuracy", "k", 1, "B")], rules="kddcup")


def upstream_jp_bleu(generation, truth):
    """metrics.py:131-140 with jp=True: as ``upstream_bleu``, tokenize='ja-mecab'."""
    generation = generation.lstrip("\n").rstrip("\n").split("\n")[0]
    score = sacrebleu.corpus_bleu(
        [generation], [[truth]], smooth_method="exp", smooth_value=None, force=False, lowercase=True, use_effective_order=False, tokenize="ja-mecab"
    )
    return score.score / 100


@pytest.mark.slow
def test_score_rules_shopping_mmlu_equals_skill_evaluation_on_four_imported_skill_files(tmp_path):
    """Done-when of issue 27, end to end: four skill files without `track` imported as a user would, the
    imported task files scored by `ecombench score --rules shopping-mmlu`, against skill_evaluation.py run
    once per skill file (its track_wise score) on generated outputs: every task and every skill within 1e-9."""
    from typer.testing import CliRunner

    from ecombench.cli import app

    rng = random.Random(2727)
    words = ["red", "shirt", "men", "cotton", "赤い", "シャツ", "です"]
    kinds = {
        "skill1_concept": [
            ("asin_mc", "multiple-choice", "accuracy", lambda: rng.randint(0, 3)),
            ("brand_ner", "named_entity_recognition", "micro f1", lambda: rng.sample(["nike", "shoes", "red"], 2)),
        ],
        "skill2_knowledge": [
            ("keyphrase", "retrieval", "hit rate@3", lambda: rng.sample(range(1, 6), 2)),
            ("title_gen", "generation", "rougel", lambda: " ".join(rng.sample(words[:4], 3))),
        ],
        "skill3_behavior": [
            ("qpr", "ranking", "ndcg", lambda: [rng.choice([0, 0.01, 0.1, 1]) for _ in range(4)] + [1]),
            ("rating_mc", "multiple-choice", "accuracy", lambda: rng.randint(0, 4)),
        ],
        "skill4_multilingual": [
            ("translate_en", "generation", "bleu", lambda: " ".join(rng.sample(words[:4], 3))),
            ("translate_ja", "generation", "jp-bleu", lambda: "".join(rng.sample(words[4:], 3))),
        ],
    }
    skills = tmp_path / "data" / "skills"
    skills.mkdir(parents=True)
    expected_tasks: dict[str, float] = {}
    expected_skills: dict[str, float] = {}
    outputs_by_task: dict[str, list[str]] = {}
    for skill, tasks in kinds.items():
        rows, outputs = [], []
        for _ in range(120):
            task, task_type, metric, truth = rng.choice(tasks)
            rows.append({"task_name": task, "task_type": task_type, "metric": metric, "input_field": f"{skill} q{len(rows)}", "output_field": truth()})
            pieces = [p for p in _PIECES if p != "-1"] + words  # no '-1': a rank below -len makes upstream's ndcg raise
            outputs.append(rng.choice([*_outputs(rng, 1, pieces), " ".join(rng.sample(words, 3)), "1, 2, 3", "nike, shoes", str(rng.randint(0, 3))]))
        write_jsonl(skills / f"{skill}.json", rows)  # no 'track': the file is the skill
        per_task: dict[str, list] = {}
        for row, generation in zip(rows, outputs, strict=True):  # skill_evaluation.py:25-115
            truth, metric = row["output_field"], row["metric"]
            score = {
                "accuracy": lambda g, t: upstream_accuracy(g, str(t)),
                "hit rate@3": upstream_hit_rate,
                "rougel": upstream_rougel,
                "micro f1": upstream_tp_fp_fn,
                "ndcg": lambda g, t: min(1.0, upstream_ndcg(g, list(t))),  # ecombench caps NDCG at 1
                "bleu": upstream_bleu,
                "jp-bleu": upstream_jp_bleu,
            }[metric](generation, truth)
            per_task.setdefault(row["task_name"], []).append(score)
            outputs_by_task.setdefault(row["task_name"], []).append(generation)
        metrics = {r["task_name"]: r["metric"] for r in rows}
        overall = {k: (upstream_f1(v) if metrics[k] == "micro f1" else float(np.mean(v))) for k, v in per_task.items()}  # 119-125
        expected_tasks.update(overall)
        expected_skills[skill] = float(np.mean(list(overall.values())))  # 136: track_wise

    dest = write_suite(IMPORTERS["shopping-mmlu"](tmp_path / "data"), "smmlu", tmp_path / "home")
    data_rows, preds = [], []
    for task in sorted(expected_tasks):  # the imported task files, one data file, answers in their order
        for line, output in zip((dest / f"smmlu_{task}.jsonl").read_text(encoding="utf-8").splitlines(), outputs_by_task[task], strict=True):
            preds.append({"index": len(data_rows), "prediction": output})
            data_rows.append(json.loads(line))
    data = write_jsonl(tmp_path / "suite.jsonl", data_rows)
    pred_file = write_jsonl(tmp_path / "preds.jsonl", preds)
    done = CliRunner().invoke(app, ["score", "--data", str(data), "--predictions", str(pred_file), "--rules", "shopping-mmlu", "--format", "json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["rules"] == "shopping-mmlu" and report["substitutes"] == {}
    assert {k: t["score"] for k, t in report["tasks"].items()} == pytest.approx(expected_tasks, abs=1e-9)
    assert report["tracks"] == pytest.approx(expected_skills, abs=1e-9)
