"""eCeLLM's own rules for ECInstruct (issue 27): hand-worked cases, and parity with a reimplementation of
``evaluate.py`` (ninglab/eCeLLM), written in this test from reading it: it filters the answers it accepts
and calls scikit-learn on the rest, as that script does."""

from __future__ import annotations

import json
import math
import random

import pytest
from sklearn.metrics import accuracy_score, f1_score

from ecombench.errors import EcombenchError
from ecombench.metrics import ecellm
from ecombench.scoring import ScoringItem, score_report
from tests.helpers.sources import ecinstruct_ranking_source

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


def test_an_answer_after_5000_blank_characters_is_read_as_evaluate_py_reads_it():
    # issue 36's smallest case: Sequential_Recommendation, gold C and D; evaluate.py strips "\n" * 5000 + "C" to
    # "C" (accepted, right) and "A" is accepted and wrong: recall@1 = 1 / 2 (the cut at 5,000 gave 0.0)
    assert _score("ecellm-recall@1", ["\n" * 5000 + "C", "A"], ["C", "D"]) == (0.5, [1.0, 0.0])
    # a valid extraction longer than 5,000 characters: one exact hit among 200 predicted triples, 1 gold
    gold = {"attribute": "color", "value": "red", "source": "title"}
    pred = json.dumps([gold] + [{"attribute": f"a{i}", "value": "v", "source": "title"} for i in range(199)])
    assert len(pred) > 5000
    r, p = 1.0, 1 / (200 + 1e-6)
    assert _score("ecellm-ave-f1", [pred], [json.dumps([gold])])[0] == pytest.approx(2 * r * p / (r + p + 1e-6), abs=1e-12)


# --- property tests against the reimplementation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "upstream", "answers", "labels"),
    [
        # outputs over 5,000 characters too (issue 36: a cut there lost the answer after the blanks)
        ("ecellm-yes-no-f1", upstream_yes_no, ["yes", "no", " Yes", "NO ", "maybe", "yes.", "", "\n" * 5000 + "yes", "no" + " " * 6000], ["yes", "no"]),
        (
            "ecellm-macro-f1",
            upstream_macro,
            ["A", "B: x", " C", "D.", "E", "F", "a", "Z: y", "\n" * 5000 + "C", " " * 4999 + "Z"],
            ["A: a", "B: b", "C: c", "D: d", "E: e"],
        ),
        ("ecellm-recall@1", upstream_recall1, ["A", "B", " C", "T", "U", "A, B", "", "b", "\n" * 5000 + "C", "T" + "\t" * 5000], ["A", "B", "C", "T"]),
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
        valid = json.dumps([triple() for _ in range(rng.randint(0, 3))])
        # a valid answer longer than 5,000 characters stays valid (a cut made it invalid)
        raws = [rng.choice([valid, "not json", "{}", "[]", " " * 5000 + valid, json.dumps([triple() for _ in range(120)])]) for _ in range(n)]
        metric = "ecellm-ave-f1-ood" if ood else "ecellm-ave-f1"
        assert _score(metric, raws, truths)[0] == pytest.approx(min(1.0, upstream_ave(raws, truths, ood)), abs=1e-9)


def test_an_imported_ecinstruct_suite_scores_by_ecellm_rules_by_default(tmp_path):
    from ecombench.importers import IMPORTERS
    from ecombench.importers.writer import write_suite
    from ecombench.scorefile import score_files
    from tests.helpers.sources import write_jsonl

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


@pytest.mark.parametrize("written", [str, json.dumps, lambda o: o])
def test_options_written_as_python_or_json_text_import_as_the_notebooks_wrote_them(tmp_path, written):
    """eCeLLM's notebooks store options as ``str(list)`` (data_processing/SR.ipynb); some copies as JSON text.
    The prompt shows them as Prompter.generate_prompt formats the record's value (templates/alpaca.json)."""
    from ecombench.importers import IMPORTERS

    options = ["A: red mug", "B: blue mug's lid", "C: kettle"]
    base = {"setting": "IND_Diverse_Instruction", "split": "test", "instruction": "Pick the next item.", "input": "['1st: cup']"}
    rows = [
        {**base, "task": "Sequential_Recommendation", "options": written(options), "output": "B"},
        {**base, "task": "Product_Color_Choice", "options": written(options), "output": "C: kettle"},  # no rule: multiple choice
    ]
    src = tmp_path / "eci.json"
    src.write_text(json.dumps(rows))
    tasks = IMPORTERS["ecinstruct"](src).tasks
    shown = written(options) if isinstance(written(options), str) else str(options)
    assert tasks["sequential_recommendation"][0]["input_field"] == (
        "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that "
        f"appropriately completes the request.\n\n### Instruction:\nPick the next item.\n\n### Input:\n['1st: cup']\n\n### Options:\n{shown}"
        "\n\n### Response:\n"
    )
    (mc,) = tasks["product_color_choice"]
    assert mc["output_field"] == 2 and "0. A: red mug\n1. B: blue mug's lid\n2. C: kettle" in mc["input_field"]


def test_options_that_are_no_list_of_texts_are_one_error_line(tmp_path):
    from ecombench.importers import IMPORTERS

    src = tmp_path / "eci.json"
    src.write_text(
        json.dumps([{"task": "X", "setting": "IND_Diverse_Instruction", "split": "test", "instruction": "i", "input": "x", "output": "a", "options": "A or B"}])
    )
    with pytest.raises(EcombenchError, match=r"eci.json:1: options: expected text \(options: a list of texts, or one written as JSON"):
        IMPORTERS["ecinstruct"](src)


@pytest.mark.slow
def test_score_reads_ecinstruct_and_evaluate_py_prediction_files_as_they_come(tmp_path):
    """Issue 36.3: evaluate.py reads the test split of one task and setting of ECInstruct, and the model's answers
    from evaluation/{task}/{setting}.json, a JSON list of texts in that order; `score` reads both as they are."""
    from tests.helpers.cli import invoke_ecombench

    rng = random.Random(363)
    rows = []
    for i in range(200):
        task = rng.choice(["Sequential_Recommendation", "Product_Matching"])
        rows.append(
            {
                "task": task,
                "setting": rng.choice(["IND_Diverse_Instruction", "OOD_Diverse_Instruction"]),
                "split": rng.choice(["test", "train"]),
                "instruction": "Pick one.",
                "input": f"history {i}",
                "options": str([f"{c}: item {c}" for c in "ABCD"]) if task == "Sequential_Recommendation" else None,
                "output": rng.choice("ABCD") if task == "Sequential_Recommendation" else rng.choice(["yes", "no"]),
            }
        )
    data = tmp_path / "ECInstruct.json"
    data.write_text(json.dumps(rows))
    labels = [r["output"] for r in rows if (r["task"], r["setting"], r["split"]) == ("Sequential_Recommendation", "IND_Diverse_Instruction", "test")]
    answers = [rng.choice(["A", "B", " C ", "A, B", "E", g, "\n" * 5000 + g]) for g in labels]
    folder = tmp_path / "evaluation" / "Sequential_Recommendation"
    folder.mkdir(parents=True)
    (folder / "IND_Diverse_Instruction.json").write_text(json.dumps(answers))
    done = invoke_ecombench("score", "--data", data, "--predictions", folder / "IND_Diverse_Instruction.json", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rules"] == "ecellm" and list(report["tasks"]) == ["sequential_recommendation"]
    assert report["tasks"]["sequential_recommendation"]["n"] == len(labels)
    assert report["tasks"]["sequential_recommendation"]["score"] == pytest.approx(float(upstream_recall1(answers, labels)), abs=1e-12)
    assert "as eCeLLM's ECInstruct records (the test split of Sequential_Recommendation, IND_Diverse_Instruction" in done.stderr
    short = folder.parent / "Product_Matching"
    short.mkdir()
    (short / "IND_Diverse_Instruction.json").write_text(json.dumps(["yes"]))
    refused = invoke_ecombench("score", "--data", data, "--predictions", short / "IND_Diverse_Instruction.json")
    assert refused.returncode == 2 and "IND_Diverse_Instruction.json: no prediction for" in refused.stderr


# --- query-product ranking (evaluate.py:235-277) and eCeLLM's label.json --------------------------------------


def upstream_ndcg(predictions, option_labels_list):  # evaluate.py:236-276, label2score built as at 245-256
    import numpy as np

    def dcg(score_list):
        return sum((2 ** score_list[i] - 1) / (np.log2(i + 2)) for i in range(len(score_list)))

    score_mapping = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0}
    label2score = {}
    for counter, option_labels in enumerate(option_labels_list):
        label2score[counter] = {}
        option = "A"
        for option_label in option_labels:
            label2score[counter][option] = option_label
            option = chr(ord(option) + 1)
    total_ndcg = 0
    for i in range(len(predictions)):
        scores = []
        for rank in predictions[i].strip().split(","):
            try:
                scores.append(score_mapping[label2score[i][rank[0]]])
            except (KeyError, IndexError):  # evaluate.py:266: a bare except
                continue
        total_ndcg += dcg(scores) / (dcg(sorted(scores, reverse=True)) + 1e-6)
    return total_ndcg / len(option_labels_list)


def test_ranking_ndcg_by_hand():
    g = {label: 2**gain - 1 for label, gain in {"E": 1.0, "S": 0.1, "C": 0.01}.items()}
    labels = ["E", "S", "C"]  # options A, B, C; gold output 'A,B,C'
    # 'B,A,C': gains S, E, C in that order; the ideal sorts those same gains: E, S, C
    swapped = (g["S"] + g["E"] / math.log2(3) + g["C"] / 2) / (g["E"] + g["S"] / math.log2(3) + g["C"] / 2 + 1e-6)
    # 'C' alone is its own ideal; ' A, B': ' B' names no option (its first character is a space); 'D,A': no D
    answers = ["B,A,C", "C", "A, B", "D,A", "", "A,B,C"]
    expected = [
        swapped,
        g["C"] / (g["C"] + 1e-6),
        1 / (1 + 1e-6),
        1 / (1 + 1e-6),
        0.0,
        (g["E"] + g["S"] / math.log2(3) + g["C"] / 2) / (g["E"] + g["S"] / math.log2(3) + g["C"] / 2 + 1e-6),
    ]
    score, items = _score("ecellm-ndcg", answers, [labels] * len(answers))
    assert items == pytest.approx(expected, abs=1e-12)
    assert score == pytest.approx(sum(expected) / len(expected), abs=1e-12)
    assert items[0] == pytest.approx(0.67335, abs=1e-5)


def test_ranking_rule_equals_evaluate_py_on_thousands_of_outputs():
    rng = random.Random(27)
    for _ in range(300):
        n = rng.randint(1, 10)
        labels = [rng.sample("ESCI", rng.randint(2, 4)) for _ in range(n)]
        pieces = ["A", "B", "C", "D", "E", " A", "a", "B: mug", "", "Z"]
        raws = [
            rng.choice([",".join(rng.choice(pieces) for _ in range(rng.randint(0, 5))), ecellm.ranking_gold(lab), " " + ecellm.ranking_gold(lab) + "\n"])
            for lab in labels
        ]
        assert _score("ecellm-ndcg", raws, labels)[0] == pytest.approx(upstream_ndcg(raws, labels), abs=1e-9)


def test_ranking_imports_with_label_json_beside_the_data_and_scores_as_evaluate_py(tmp_path):
    from ecombench.importers import IMPORTERS
    from ecombench.importers.writer import write_suite
    from ecombench.scorefile import score_files
    from tests.helpers.sources import write_jsonl

    rng = random.Random(3)
    labels = [rng.sample("ESCI", rng.randint(2, 4)) for _ in range(40)]
    src = ecinstruct_ranking_source(tmp_path, labels)
    (tmp_path / "label.json").write_text(json.dumps(labels))  # eCeLLM's data_label/label.json
    suite = IMPORTERS["ecinstruct"](src)
    rows = suite.tasks["query_product_ranking"]
    assert [(r["metric"], r["output_field"], r["track"]) for r in rows[:1]] == [("ecellm-ndcg", labels[0], "user_behavior_alignment")]
    dest = write_suite(suite, "eci", tmp_path / "home")
    answers = [rng.choice(["A,B,C,D", "B,A", "C", "", ecellm.ranking_gold(lab)]) for lab in labels]
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"index": i, "prediction": a} for i, a in enumerate(answers)])
    report = score_files(dest / "eci_query_product_ranking.jsonl", preds)
    assert report.rules == "ecellm" and not report.substitutes
    assert report.tasks["query_product_ranking"].score == pytest.approx(upstream_ndcg(answers, labels), abs=1e-9)
    # the oracle (references, training completions) writes the gold order back from the labels
    from ecombench.oracle import oracle_answer

    assert oracle_answer("generation", ["S", "I", "E"], "ecellm", "ecellm-ndcg") == "C,A,B"


def test_ranking_without_label_json_is_refused_in_one_line(tmp_path):
    from tests.helpers.cli import invoke_ecombench

    src = ecinstruct_ranking_source(tmp_path, [["E", "S"]])
    done = invoke_ecombench("import", "ecinstruct", str(src), "--name", "eci", "--out", str(tmp_path / "home"), env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "Query_Product_Ranking is scored with eCeLLM's label.json (data_label/label.json of github.com/ninglab/eCeLLM)" in done.stderr
    assert "pass --ranking-labels PATH" in done.stderr and not (tmp_path / "home").exists()
    from ecombench.errors import EcombenchError
    from ecombench.importers import IMPORTERS

    with pytest.raises(EcombenchError, match=r"--ranking-labels .*nowhere.json: no such file \(eCeLLM's label.json"):
        IMPORTERS["ecinstruct"](src, ranking_labels=tmp_path / "nowhere.json")


@pytest.mark.parametrize(
    ("labels", "outputs", "message"),
    [
        ([["E", "S"]], ["A,B", "B,A"], r"label.json: 1 label lists for 2 Query_Product_Ranking records"),
        ([["E", "S"], ["S", "E"]], ["A,B", "A,B"], r"ecinstruct.json:2: output 'A,B' does not match label.json entry 2 \(S, E rank as 'B,A'\)"),
        ([["E", "X"]], ["A,B"], r"entry 1: expected a list of distinct ESCI labels"),
        ({"E": 1}, ["A,B"], r"a list of label lists"),
    ],
)
def test_a_label_json_that_does_not_fit_the_records_is_refused(tmp_path, labels, outputs, message):
    from ecombench.errors import EcombenchError
    from ecombench.importers import IMPORTERS

    src = ecinstruct_ranking_source(tmp_path, None, outputs)
    other = tmp_path / "elsewhere" / "label.json"
    other.parent.mkdir()
    other.write_text(json.dumps(labels))
    with pytest.raises(EcombenchError, match=message):
        IMPORTERS["ecinstruct"](src, ranking_labels=other)


# --- Answer_Generation: a substitute metric, recorded and reported -------------------------------------------


def _ag_suite(tmp_path, monkeypatch):
    from ecombench.importers import IMPORTERS
    from ecombench.importers.writer import write_suite

    base = {"instruction": "Answer the question.", "setting": "IND_Diverse_Instruction", "split": "test"}
    rows = [{**base, "task": "Answer_Generation", "input": f"Q{i}", "output": f"it holds {i} ml"} for i in range(3)]
    rows += [{**base, "task": "Product_Matching", "input": f"P{i}", "output": y} for i, y in enumerate(["yes", "no", "yes"])]
    src = tmp_path / "ecinstruct.json"
    src.write_text(json.dumps(rows))
    monkeypatch.setenv("ECOMBENCH_HOME", str(tmp_path / "home"))
    return write_suite(IMPORTERS["ecinstruct"](src), "eci", tmp_path / "home" / "tasks")


def test_answer_generation_is_scored_by_a_named_substitute_never_shown_as_ecellms(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ecombench.cli import app
    from tests.helpers.sources import write_jsonl

    dest = _ag_suite(tmp_path, monkeypatch)
    data = dest / "eci_answer_generation.jsonl"
    assert {json.loads(line)["metric"] for line in data.read_text().splitlines()} == {"ecellm-ag-rougel"}
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"index": i, "prediction": f"it holds {i} ml"} for i in range(3)])
    runner = CliRunner()
    done = runner.invoke(app, ["score", "--data", str(data), "--predictions", str(preds), "--format", "json"])
    payload = json.loads(done.stdout)
    # ROUGE-L of the exact answer: 1.0, under the ecellm rules, with the stand-in named beside it
    assert payload["rules"] == "ecellm" and payload["tasks"]["answer_generation"]["score"] == 1.0
    assert "ROUGE-L in place of eCeLLM's BERTScore (roberta-large) and BLEURT-20-D12" in payload["substitutes"]["answer_generation"]
    table = " ".join(runner.invoke(app, ["score", "--data", str(data), "--predictions", str(preds)], env={"COLUMNS": "200"}).stdout.split())
    assert "ecellm-ag-rougel * │" in table and "* not the ecellm rules' own metric, so not comparable with the paper" in table
    # on the board: the runs rank among themselves (same rules, same stand-in) under a note that names it
    subs = tmp_path / "subs"
    for i, name in enumerate(["a", "b"]):
        p = write_jsonl(tmp_path / f"{name}.jsonl", [{"index": j, "prediction": "it holds ml" if i else f"it holds {j} ml"} for j in range(3)])
        saved = runner.invoke(app, ["score", "--data", str(data), "--predictions", str(p), "--save", "--name", name, "--submissions-dir", str(subs)])
        assert saved.exit_code == 0, saved.output
    board = runner.invoke(app, ["leaderboard", "--board", "eci_answer_generation", "--submissions-dir", str(subs), "--format", "json"])
    assert board.exit_code == 0, board.output
    shown = json.loads(board.stdout)
    notes = " ".join(shown["notes"])
    assert "scores follow the ecellm rules" in notes and "eci_answer_generation: ROUGE-L in place of eCeLLM's BERTScore" in notes
    assert [(r["name"], r["rank"]) for r in shown["rows"]] == [("a", 1), ("b", 2)]


def test_an_old_ecinstruct_suite_scoring_answers_by_rougel_names_the_substitute_too():
    report, _ = score_report([ScoringItem("answer_generation", "generation", "rougel", "k", "a b", "a b")], rules="ecellm")
    assert report.tasks["answer_generation"].score == 1.0 and "BLEURT-20-D12" in report.substitutes["answer_generation"]
    kdd, _ = score_report([ScoringItem("answer_generation", "generation", "rougel", "k", "a b", "a b")], rules="kddcup")
    assert kdd.substitutes == {}  # ROUGE-L is the KDD Cup's own metric


def test_ecinstructs_own_task_spellings_land_in_their_tracks(tmp_path):
    from ecombench.importers import IMPORTERS

    base = {"setting": "IND_Diverse_Instruction", "split": "test", "instruction": "?", "input": "x", "output": "yes"}
    src = tmp_path / "ecinstruct.json"
    src.write_text(json.dumps([{**base, "task": "Product_Substitue_Identification"}, {**base, "task": "Product_Relation_Predicition", "output": "A: x"}]))
    tasks = IMPORTERS["ecinstruct"](src).tasks
    assert {t: rows[0]["track"] for t, rows in tasks.items()} == {
        "product_substitue_identification": "knowledge_reasoning",
        "product_relation_predicition": "knowledge_reasoning",
    }


@pytest.mark.slow
def test_score_equals_evaluate_py_task_by_task_on_an_imported_ecinstruct_file(tmp_path):
    """Done-when of issue 27 for eCeLLM, end to end: an ECInstruct file with every task evaluate.py scores
    (and label.json) imported as a user would, the imported task files scored by `ecombench score`, each
    task against evaluate.py's rule (reimplemented above) on generated outputs, within 1e-9; Answer_Generation
    is reported as the substitute it is."""
    from typer.testing import CliRunner

    from ecombench.cli import app
    from tests.helpers.sources import write_jsonl

    rng = random.Random(1027)

    def triples():
        return json.dumps(
            [{"attribute": rng.choice(["color", "size"]), "value": rng.choice(["red", "XL"]), "source": "title"} for _ in range(rng.randint(1, 2))]
        )

    tasks = {  # ECInstruct task (its own spelling) -> (gold output, candidate answers, upstream rule)
        "Product_Matching": (lambda: rng.choice(["yes", "no"]), lambda g: rng.choice(["yes", "no", " Yes", "maybe", "\n" * 5000 + g]), upstream_yes_no),
        "Product_Substitue_Identification": (lambda: rng.choice(["yes", "no"]), lambda g: rng.choice(["yes", "no", "NO\n"]), upstream_yes_no),
        "Answerability_Prediction": (lambda: rng.choice(["yes", "no"]), lambda g: rng.choice(["yes", "no", "unsure"]), upstream_yes_no),
        "Multiclass_Product_Classification": (
            lambda: rng.choice(["A: exact", "B: substitute", "C: complement", "D: irrelevant"]),
            lambda g: rng.choice(["A", "B: x", " C", "D", "F", g]),
            upstream_macro,
        ),
        "Sentiment_Analysis": (
            lambda: rng.choice(["A: very negative", "B: negative", "C: neutral", "D: positive", "E: very positive"]),
            lambda g: rng.choice(["A", "E", "C.", "x", g]),
            upstream_macro,
        ),
        "Product_Relation_Predicition": (
            lambda: rng.choice(["A: also buy", "B: also view", "C: similar"]),
            lambda g: rng.choice(["A", "B", "C", "Z", g]),
            upstream_macro,
        ),
        "Sequential_Recommendation": (
            lambda: rng.choice("ABCDEFGHIJKLMNOPQRST"),
            lambda g: rng.choice(["A", "B", " C ", "A, B", g, "\n" * 5000 + g]),
            upstream_recall1,
        ),
        "Attribute_Value_Extraction": (triples, lambda g: rng.choice([triples(), g, "not json", "[]", " " * 5000 + g]), upstream_ave),
    }
    base = {"setting": "IND_Diverse_Instruction", "split": "test", "instruction": "Do the task."}
    records, answers, expected = [], {}, {}
    for task, (gold, answer, upstream) in tasks.items():
        golds = [gold() for _ in range(60)]
        records += [{**base, "task": task, "input": f"{task} {i}", "output": g} for i, g in enumerate(golds)]
        answers[task] = [answer(g) for g in golds]
        expected[task] = float(upstream(answers[task], golds))
    labels = [rng.sample("ESCI", rng.randint(2, 4)) for _ in range(60)]
    records += [{**base, "task": "Query_Product_Ranking", "input": f"query {i}", "output": ecellm.ranking_gold(lab)} for i, lab in enumerate(labels)]
    answers["Query_Product_Ranking"] = [rng.choice(["A,B,C,D", "B,A", "C", "", ecellm.ranking_gold(lab)]) for lab in labels]
    expected["Query_Product_Ranking"] = upstream_ndcg(answers["Query_Product_Ranking"], labels)
    records += [{**base, "task": "Answer_Generation", "input": f"q {i}", "output": "it holds 350 ml"} for i in range(5)]
    answers["Answer_Generation"] = ["it holds 350 ml"] * 5
    src = tmp_path / "ECInstruct.json"
    src.write_text(json.dumps(records))
    (tmp_path / "label.json").write_text(json.dumps(labels))

    runner = CliRunner()
    imported = runner.invoke(app, ["import", "ecinstruct", str(src), "--name", "eci", "--out", str(tmp_path / "home")])
    assert imported.exit_code == 0, imported.output
    slug = {task: task.lower() for task in answers}
    data_rows, preds = [], []
    for task, outputs in answers.items():
        lines = (tmp_path / "home" / "eci" / f"eci_{slug[task]}.jsonl").read_text(encoding="utf-8").splitlines()
        for line, output in zip(lines, outputs, strict=True):
            preds.append({"index": len(data_rows), "prediction": output})
            data_rows.append(json.loads(line))
    data = write_jsonl(tmp_path / "suite.jsonl", data_rows)
    done = runner.invoke(app, ["score", "--data", str(data), "--predictions", str(write_jsonl(tmp_path / "preds.jsonl", preds)), "--format", "json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["rules"] == "ecellm"
    assert {t: report["tasks"][slug[t]]["score"] for t in expected} == pytest.approx({t: min(1.0, v) for t, v in expected.items()}, abs=1e-9)
    assert report["tasks"]["answer_generation"]["score"] == 1.0 and list(report["substitutes"]) == ["answer_generation"]
