"""eCeLLM's own rules for ECInstruct (issue 27): hand-worked cases, and parity with a reimplementation of
``evaluate.py`` (ninglab/eCeLLM), written in this test from reading it: it filters the answers it accepts
and calls scikit-learn on the rest, as that script does."""

from __future__ import annotations

import json
import random

import pytest
from sklearn.metrics import accuracy_score, f1_score

from ecombench.metrics import ecellm
from ecombench.scoring import ScoringItem, score_report

# --- the reimplementation (evaluate.py, per task) ------------------------------------------------------------


def upstream_yes_no(predictions, labels):  # evaluate.py:111-131
    kept = [(p.lower().strip(), y) for p, y in zip(predictions, labels, strict=True) if p.lower().strip() in {"yes", "no"}]
    return f1_score([y for _, y in kept], [p for p, _ in kept], pos_label="yes", average="binary", zero_division=0)


def upstream_macro(predictions, labels):  # evaluate.py:159-180
    kept = [(p.strip()[0], y[0]) for p, y in zip(predictions, labels, strict=True) if p.strip()[0] in set("ABCDE")]
    return f1_score([y for _, y in kept], [p for p, _ in kept], average="macro", zero_division=0)


def upstream_recall1(predictions, labels):  # evaluate.py:140-155
    kept = [(p.strip(), y) for p, y in zip(predictions, labels, strict=True) if p.strip() in set("ABCDEFGHIJKLMNOPQRST")]
    return accuracy_score([y for _, y in kept], [p for p, _ in kept])


def upstream_ave(predictions, labels, ood=False):  # evaluate.py:31-108
    idx2pred = {}
    for i, text in enumerate(predictions):
        try:
            idx2pred[i] = json.loads(text)
            if type(idx2pred[i]) is not list:
                idx2pred[i] = []
        except ValueError:
            idx2pred[i] = []
    hit = count_label = count_pred = 0
    for i, text in enumerate(labels):
        for label in json.loads(text):
            count_label += 1
            for pred in idx2pred[i]:
                if "attribute" in pred and "value" in pred and "source" in pred:  # noqa: SIM102  (evaluate.py:71 nests them)
                    if (pred["attribute"] == label["attribute"] and pred["value"] == label["value"] and pred["source"] == label["source"]) or (
                        ood
                        and pred["attribute"] == label["attribute"]
                        and pred["value"] is not None
                        and pred["source"] is not None
                        and (str(pred["value"]) in str(label["value"]) or str(label["value"]) in str(pred["value"]))
                        and (pred["source"] in label["source"] or label["source"] in pred["source"])
                    ):
                        hit += 1
    for preds in idx2pred.values():
        count_pred += sum(1 for pred in preds if "attribute" in pred)
    recall = hit / count_label
    precision = hit / (count_pred + 1e-6)
    return (2 * recall * precision) / (recall + precision + 1e-6)


def _score(metric, raws, truths):
    items = [ScoringItem("t", "generation", metric, "k", t, r) for r, t in zip(raws, truths, strict=True)]
    report, scores = score_report(items, rules="ecellm")
    return report.tasks["t"].score, [s.score for s in scores]


# --- hand-worked -------------------------------------------------------------------------------------------


def test_yes_no_f1_drops_answers_that_are_not_yes_or_no():
    # kept: (yes, yes) tp, (yes, no) fp, (no, yes) fn; 'maybe' dropped -> F1 = 2 / (2 + 1 + 1) = 0.5
    score, items = _score("ecellm-yes-no-f1", [" Yes", "yes", "NO\n", "maybe"], ["yes", "no", "yes", "yes"])
    assert score == pytest.approx(0.5) and items == [1.0, 0.0, 0.0, 0.0]


def test_macro_f1_reads_first_letters_and_averages_over_labels_seen():
    # kept: (A, A), (B, A), (C, C); 'x' dropped. F1: A = 2/3 (tp 1, fn 1), B = 0, C = 1 -> (2/3 + 0 + 1) / 3
    score, _ = _score("ecellm-macro-f1", ["A: mug", " B", "C.", "x"], ["A: mug", "A: cup", "C: pen", "B: x"])
    assert score == pytest.approx((2 / 3 + 1) / 3)


def test_recall_at_1_is_accuracy_over_single_letters():
    score, _ = _score("ecellm-recall@1", ["B", " C ", "B, C", ""], ["B", "D", "B", "A"])
    assert score == pytest.approx(0.5)  # 'B, C' and '' are not one letter: B right, C wrong


def test_a_repeated_extraction_is_capped_at_1():
    gold = json.dumps([{"attribute": "color", "value": "red", "source": "title"}])
    # upstream: 3 hits of 1 gold, 3 predicted -> R = 3, P ~ 1, F ~ 1.5
    assert upstream_ave([json.dumps(json.loads(gold) * 3)], [gold]) > 1.4
    assert _score("ecellm-ave-f1", [json.dumps(json.loads(gold) * 3)], [gold])[0] == 1.0


def test_attribute_value_extraction_f1_and_its_ood_relaxation():
    gold = json.dumps([{"attribute": "color", "value": "red", "source": "title"}, {"attribute": "size", "value": "XL", "source": "description"}])
    pred = json.dumps([{"attribute": "color", "value": "dark red", "source": "title"}, {"attribute": "size", "value": "XL", "source": "description"}])
    # IND: 1 hit of 2 gold, 2 predicted -> R = 0.5, P = 1 / (2 + 1e-6)
    r, p = 0.5, 1 / (2 + 1e-6)
    assert _score("ecellm-ave-f1", [pred], [gold])[0] == pytest.approx(2 * r * p / (r + p + 1e-6), abs=1e-12)
    # OOD: 'red' is in 'dark red' -> 2 hits
    r, p = 1.0, 2 / (2 + 1e-6)
    assert _score("ecellm-ave-f1-ood", [pred, "not json"], [gold, "[]"])[0] == pytest.approx(2 * r * p / (r + p + 1e-6), abs=1e-12)


# --- property tests against the reimplementation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "upstream", "answers", "labels"),
    [
        ("ecellm-yes-no-f1", upstream_yes_no, ["yes", "no", " Yes", "NO ", "maybe", "yes.", ""], ["yes", "no"]),
        ("ecellm-macro-f1", upstream_macro, ["A", "B: x", " C", "D.", "E", "F", "a", "Z: y"], ["A: a", "B: b", "C: c", "D: d", "E: e"]),
        ("ecellm-recall@1", upstream_recall1, ["A", "B", " C", "T", "U", "A, B", "", "b"], ["A", "B", "C", "T"]),
    ],
)
def test_label_rules_equal_evaluate_py_on_thousands_of_outputs(metric, upstream, answers, labels):
    rng = random.Random(metric)
    for _ in range(300):
        n = rng.randint(1, 12)
        raws, truths = [rng.choice(answers) for _ in range(n)], [rng.choice(labels) for _ in range(n)]
        if metric == "ecellm-macro-f1":
            raws = [r if r.strip() else "A" for r in raws]  # evaluate.py raises IndexError on an empty answer
        if not any(ecellm.TASK_METRICS[metric].observe(r, t)[0] is not None for r, t in zip(raws, truths, strict=True)):
            continue  # evaluate.py gives NaN (accuracy of nothing) or raises; ecombench scores 0.0
        assert _score(metric, raws, truths)[0] == pytest.approx(float(upstream(raws, truths)), abs=1e-9)


@pytest.mark.parametrize("ood", [False, True])
def test_extraction_rule_equals_evaluate_py_on_generated_outputs(ood):
    rng = random.Random(int(ood))
    attrs, values, sources = ["color", "size", "brand"], ["red", "dark red", "XL", "acme", None], ["title", "description", "title and description"]

    def triple():
        return {"attribute": rng.choice(attrs), "value": rng.choice(values), "source": rng.choice(sources)}

    for _ in range(300):
        n = rng.randint(1, 6)
        truths = [json.dumps([triple() for _ in range(rng.randint(1, 3))]) for _ in range(n)]
        raws = [rng.choice([json.dumps([triple() for _ in range(rng.randint(0, 3))]), "not json", "{}", "[]"]) for _ in range(n)]
        metric = "ecellm-ave-f1-ood" if ood else "ecellm-ave-f1"
        assert _score(metric, raws, truths)[0] == pytest.approx(min(1.0, upstream_ave(raws, truths, ood)), abs=1e-9)


def test_an_imported_ecinstruct_suite_scores_by_ecellm_rules_by_default(tmp_path):
    from ecombench.importers import IMPORTERS
    from ecombench.importers.writer import write_suite
    from ecombench.scorefile import score_files
    from tests.conftest import write_jsonl

    rng = random.Random(5)
    base = {"instruction": "Same product?", "setting": "IND_Diverse_Instruction", "split": "test", "options": ["yes", "no"]}
    labels = [rng.choice(["yes", "no"]) for _ in range(60)]
    src = tmp_path / "ecinstruct.json"
    src.write_text(json.dumps([{**base, "task": "Product_Matching", "input": f"pair {i}", "output": y} for i, y in enumerate(labels)]))
    dest = write_suite(IMPORTERS["ecinstruct"](src), "eci", tmp_path / "home")
    answers = [rng.choice(["yes", "No", " yes\n", "maybe", ""]) for _ in labels]
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"index": i, "prediction": a} for i, a in enumerate(answers)])
    report = score_files(dest / "eci_product_matching.jsonl", preds)
    assert report.rules == "ecellm"
    assert report.tasks["product_matching"].score == pytest.approx(upstream_yes_no(answers, labels), abs=1e-9)
