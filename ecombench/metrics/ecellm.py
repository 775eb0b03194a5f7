"""eCeLLM's own evaluation rules for ECInstruct, one per task, as pure functions of the raw output.

Written from ninglab/eCeLLM ``evaluate.py`` (commit of the stored snapshot; line numbers below). That
script scores a whole task at once; several of its scores are not means of question scores (F1 over
the answers it accepts, macro F1), so each rule here is split in two pure steps: ``observe`` turns one
(raw output, gold ``output``) pair into a small observation, and ``reduce`` turns a task's observations
into its score. Each question also gets a score of its own (1/0, or its NDCG) for the item explorer.

The task score is the number eCeLLM's paper reports for the task:

- ``ecellm-yes-no-f1`` (Answerability_Prediction, Product_Substitue_Identification, Product_Matching;
  evaluate.py:111-137): answers lower-cased and stripped; those not ``yes``/``no`` are dropped (counted
  ``#invalid``); F1 of ``yes`` over the rest (sklearn ``f1_score(pos_label="yes")``).
- ``ecellm-macro-f1`` (Multiclass_Product_Classification, Sentiment_Analysis, Product_Relation_Predicition;
  evaluate.py:159-182): the stripped answer's first character must be one of A-E; macro F1 of it against
  the gold output's first character, over the labels seen in either (sklearn ``average="macro"``).
- ``ecellm-recall@1`` (Sequential_Recommendation; evaluate.py:140-156): the stripped answer must be one
  letter A-T; accuracy over the accepted answers.
- ``ecellm-ave-f1`` and ``ecellm-ave-f1-ood`` (Attribute_Value_Extraction; evaluate.py:31-108): both sides
  read as JSON lists of {attribute, value, source}; a hit is an exact match of all three (OOD settings also
  accept values and sources that contain one another); F1 = 2RP / (R + P + 1e-6), P = hits / (predicted + 1e-6).
- ``ecellm-ndcg`` (Query_Product_Ranking; evaluate.py:235-277): the answer stripped and split on ``,``; each
  piece's first character is an option letter whose ESCI label (eCeLLM's ``label.json``, one list per
  question) gives the gain 2**s - 1 (E 1.0, S 0.1, C 0.01, I 0); a piece that names no option is dropped.
  NDCG = DCG / (IDCG + 1e-6), where the ideal order is the *answer's own* gains sorted (not all the
  options'), and the task score is the mean over every question. The truth is the question's list of ESCI
  labels, option A first (the gold ``output`` lists the options in E, S, C, I order).

Where evaluate.py would raise (an empty answer in macro F1, a task with no accepted answer, a
prediction item that is not an object), the answer counts as not accepted / not a hit and an empty
task scores 0.0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

YES_NO = ("yes", "no")
CLASS_LETTERS = frozenset("ABCDE")  # evaluate.py:166
RECOMMENDATION_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRST")  # evaluate.py:144


def _f1(tp: int, fp: int, fn: int) -> float:
    """sklearn's binary F1 with zero_division=0."""
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


# --- yes / no -------------------------------------------------------------------------------------------


def yes_no_observe(raw: str, truth: str) -> tuple[str | None, str]:
    pred = raw.lower().strip()
    return (pred if pred in YES_NO else None, truth)


def yes_no_reduce(observations: Sequence[tuple[str | None, str]]) -> float:
    kept = [(p, g) for p, g in observations if p is not None]
    tp = sum(1 for p, g in kept if p == "yes" and g == "yes")
    fp = sum(1 for p, g in kept if p == "yes" and g != "yes")
    fn = sum(1 for p, g in kept if p != "yes" and g == "yes")
    return _f1(tp, fp, fn)


# --- multiclass ---------------------------------------------------------------------------------------


def macro_observe(raw: str, truth: str) -> tuple[str | None, str]:
    pred = raw.strip()
    return (pred[0] if pred and pred[0] in CLASS_LETTERS else None, truth[:1])


def macro_reduce(observations: Sequence[tuple[str | None, str]]) -> float:
    kept = [(p, g) for p, g in observations if p is not None]
    labels = sorted({x for pair in kept for x in pair})
    if not labels:
        return 0.0
    f1s = []
    for label in labels:
        tp = sum(1 for p, g in kept if p == label and g == label)
        fp = sum(1 for p, g in kept if p == label and g != label)
        fn = sum(1 for p, g in kept if p != label and g == label)
        f1s.append(_f1(tp, fp, fn))
    return sum(f1s) / len(f1s)


# --- sequential recommendation --------------------------------------------------------------------------


def recall1_observe(raw: str, truth: str) -> tuple[str | None, str]:
    pred = raw.strip()
    return (pred if pred in RECOMMENDATION_LETTERS else None, truth)


def accepted_accuracy(observations: Sequence[tuple[str | None, str]]) -> float:
    kept = [(p, g) for p, g in observations if p is not None]
    return sum(1 for p, g in kept if p == g) / len(kept) if kept else 0.0


def label_score(observation: tuple[str | None, str]) -> float:
    """A question's own score: 1 when its accepted answer is the gold label."""
    pred, gold = observation
    return 1.0 if pred is not None and pred == gold else 0.0


# --- attribute value extraction -------------------------------------------------------------------------


def _json_list(text: str) -> list[Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, list) else None


def _hit(pred: Any, label: Any, ood: bool) -> bool:
    if not isinstance(pred, dict) or not isinstance(label, dict) or not {"attribute", "value", "source"} <= pred.keys():
        return False
    try:
        if pred["attribute"] == label["attribute"] and pred["value"] == label["value"] and pred["source"] == label["source"]:
            return True
        if not ood or pred["attribute"] != label["attribute"] or pred["value"] is None or pred["source"] is None:
            return False
        value, gold_value = str(pred["value"]), str(label["value"])
        return (value in gold_value or gold_value in value) and (pred["source"] in label["source"] or label["source"] in pred["source"])
    except (KeyError, TypeError):
        return False


def _ave_observe(raw: str, truth: str, ood: bool) -> tuple[int, int, int]:
    """(hits, gold attributes, predicted attributes) of one question (evaluate.py:37-91)."""
    preds = _json_list(raw) or []
    labels = _json_list(truth)
    predicted = sum(1 for p in preds if isinstance(p, dict) and "attribute" in p)
    if labels is None:  # evaluate.py:60-62: a gold output that is not JSON is skipped
        return (0, 0, predicted)
    gold = [label for label in labels if isinstance(label, dict) and "attribute" in label]
    hits = sum(1 for label in gold for p in preds if _hit(p, label, ood))
    return (hits, len(gold), predicted)


def ave_observe(raw: str, truth: str) -> tuple[int, int, int]:
    return _ave_observe(raw, truth, ood=False)


def ave_ood_observe(raw: str, truth: str) -> tuple[int, int, int]:
    return _ave_observe(raw, truth, ood=True)


def ave_reduce(observations: Sequence[tuple[int, int, int]]) -> float:
    hits = sum(o[0] for o in observations)
    gold = sum(o[1] for o in observations)
    predicted = sum(o[2] for o in observations)
    if not gold:
        return 0.0
    recall = hits / gold
    precision = hits / (predicted + 1e-6)
    # Capped at 1: a prediction repeated n times hits its label n times upstream (recall above 1).
    return min(1.0, (2 * recall * precision) / (recall + precision + 1e-6))


def ave_item(observation: tuple[int, int, int]) -> float:
    return ave_reduce([observation])


# --- query-product ranking ------------------------------------------------------------------------------

ESCI_GAIN = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}  # evaluate.py:245 score_mapping
ESCI_ORDER = "ESCI"
RANKING_NDCG = "ecellm-ndcg"


def ranking_gold(labels: Sequence[str]) -> str:
    """The gold ``output`` of a ranking question with these option labels: its letters in E, S, C, I order,
    comma-joined (how eCeLLM's MPC_SPI_QPR notebook wrote it; each label appears at most once)."""
    order = sorted(range(len(labels)), key=lambda i: ESCI_ORDER.index(labels[i]))
    return ",".join(chr(ord("A") + i) for i in order)


def _dcg(gains: Sequence[float]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_observe(raw: str, labels: Sequence[str]) -> float:
    """One question's NDCG as evaluate.py:260-274 computes it (its ideal: the answer's own gains sorted)."""
    gains = []
    for piece in raw.strip().split(","):
        index = ord(piece[0]) - ord("A") if piece else -1
        if 0 <= index < len(labels) and labels[index] in ESCI_GAIN:
            gains.append(ESCI_GAIN[labels[index]])
    return _dcg(gains) / (_dcg(sorted(gains, reverse=True)) + 1e-6)


def mean_reduce(observations: Sequence[float]) -> float:
    return sum(observations) / len(observations) if observations else 0.0


def own_score(observation: float) -> float:
    return observation


@dataclass(frozen=True)
class TaskRule:
    """One of eCeLLM's task rules: observe each question, reduce a task's observations to its score."""

    observe: Callable[[str, Any], Any]
    reduce: Callable[[Sequence[Any]], float]
    item: Callable[[Any], float]


TASK_METRICS: dict[str, TaskRule] = {
    "ecellm-yes-no-f1": TaskRule(yes_no_observe, yes_no_reduce, label_score),
    "ecellm-macro-f1": TaskRule(macro_observe, macro_reduce, label_score),
    "ecellm-recall@1": TaskRule(recall1_observe, accepted_accuracy, label_score),
    "ecellm-ave-f1": TaskRule(ave_observe, ave_reduce, ave_item),
    "ecellm-ave-f1-ood": TaskRule(ave_ood_observe, ave_reduce, ave_item),
    RANKING_NDCG: TaskRule(ndcg_observe, mean_reduce, own_score),
}
# Metrics ecombench scores ECInstruct tasks by where evaluate.py's own cannot run here: each is a recorded,
# reported deviation (ecombench.metrics.rulesets.SUBSTITUTES), never eCeLLM's number.
AG_ROUGEL = "ecellm-ag-rougel"  # Answer_Generation: ROUGE-L for BERTScore and BLEURT-20-D12 (evaluate.py:185-232)
# ECInstruct task (as the importer slugs it) -> the rule eCeLLM's evaluate.py applies to it.
METRIC_OF_TASK: dict[str, str] = {
    "answerability_prediction": "ecellm-yes-no-f1",
    "product_substitue_identification": "ecellm-yes-no-f1",
    "product_substitute_identification": "ecellm-yes-no-f1",
    "product_matching": "ecellm-yes-no-f1",
    "multiclass_product_classification": "ecellm-macro-f1",
    "sentiment_analysis": "ecellm-macro-f1",
    "product_relation_predicition": "ecellm-macro-f1",
    "product_relation_prediction": "ecellm-macro-f1",
    "sequential_recommendation": "ecellm-recall@1",
    "attribute_value_extraction": "ecellm-ave-f1",
    "query_product_ranking": RANKING_NDCG,
}
