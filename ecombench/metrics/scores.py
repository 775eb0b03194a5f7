"""Per-question scores of the KDD Cup 2024 scorer: pure functions of a parsed prediction and the truth.

The sentence-embedding metrics live in ``ecombench.metrics.embedding`` because they need a model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


def accuracy(prediction: int, truth: int) -> float:
    """1.0 when the chosen option is the true one."""
    return 1.0 if prediction == truth else 0.0


def hit_rate_at_3(prediction: Sequence[int], truth: Sequence[int]) -> float:
    """Share of the true items found among the first 3 predictions (recall@3)."""
    if not truth:
        return 0.0
    return len(set(truth) & set(prediction[:3])) / len(truth)


def ndcg(prediction: Sequence[int], truth: Sequence[float]) -> float:
    """NDCG of a ranking of 1-based candidate numbers against per-candidate gains.

    Follows the official code literally: a candidate number ``p`` earns ``truth[p - 1]`` when
    ``p - 1 < len(truth)``, so ``0`` earns ``truth[-1]`` (Python indexing), and a partial
    ranking still earns credit.
    """
    weights = list(truth)
    ranked = list(prediction)[: len(weights)]
    dcg = 0.0
    for position, candidate in enumerate(ranked, start=1):
        if candidate - 1 < len(weights):
            dcg += (2 ** weights[candidate - 1] - 1) / math.log2(position + 1)
    ideal = sorted(weights, reverse=True)
    idcg = sum((2**w - 1) / math.log2(position + 1) for position, w in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


@dataclass(frozen=True)
class F1Counts:
    """True positives, false positives and false negatives of one question (or a sum of them)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: F1Counts) -> F1Counts:
        return F1Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def f1(self) -> float:
        """F1 from these counts; precision, recall and F1 are 0 where their denominator is 0."""
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def f1_counts(prediction: Sequence[str], truth: Sequence[str]) -> F1Counts:
    """Counts of one NER question: predictions lower-cased and stripped, truths lower-cased only."""
    predicted = [p.lower().strip() for p in prediction]
    true = [t.lower() for t in truth]
    tp = len(set(predicted) & set(true))
    return F1Counts(tp=tp, fp=len(predicted) - tp, fn=len(true) - tp)


def micro_f1(counts: Iterable[F1Counts]) -> float:
    """Micro F1 over pooled counts: one precision and recall from the totals."""
    total = F1Counts()
    for c in counts:
        total = total + c
    return total.f1


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, truth: str) -> float:
    """ROUGE-L F-measure with Porter stemming (rouge-score), argument order as the official code."""
    return float(_rouge_scorer().score(prediction, truth)["rougeL"].fmeasure)


@lru_cache(maxsize=4)
def _bleu(tokenize: str) -> Any:
    from sacrebleu.metrics import BLEU

    # Corpus BLEU over one sentence: what the `evaluate` wrapper the challenge used computed
    # (exponential smoothing, no effective order), lower-cased.
    return BLEU(lowercase=True, tokenize=tokenize, smooth_method="exp", effective_order=False)


def bleu(prediction: str, truth: str, tokenize: str = "13a") -> float:
    """Sentence BLEU / 100 of the first line of the prediction against one reference.

    Capped at 1: sacrebleu gives a perfect match 100.00000000000004 (the official scorer keeps that 4e-16)."""
    first_line = prediction.strip("\n").split("\n")[0]
    return min(1.0, float(_bleu(tokenize).corpus_score([first_line], [[truth]]).score) / 100.0)


def jp_bleu(prediction: str, truth: str) -> float:
    """BLEU with the ja-mecab tokenizer, for Japanese references."""
    return bleu(prediction, truth, tokenize="ja-mecab")


def cosine_floor(similarities: Sequence[float]) -> float:
    """Mean of the cosines to each reference, floored at 0 (the sentence-embedding metrics).

    Capped at 1: the cosine of a text with itself can come out as 1.0000000000000004 in floating point,
    which is not a score (the official scorer returns it as is; the difference is 4e-16)."""
    if not similarities:
        return 0.0
    return min(1.0, max(0.0, float(sum(similarities) / len(similarities))))
