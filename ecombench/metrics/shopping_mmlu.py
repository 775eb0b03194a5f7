"""Shopping MMLU's own evaluation rules, as pure functions of the raw model output.

Written from KL4805/ShoppingMMLU at commit 7b118da (``skill_wise_eval/metrics.py``, the functions
``skill_wise_eval/skill_evaluation.py`` calls row by row, and ``task_wise_eval/hf_multi_choice.py`` for
the task-wise multiple-choice answer). Each function takes the model's text as that code sees it (what
follows the prompt, untrimmed) and the row's ``output_field``. Nothing is parsed first: each metric reads
the text its own way, which is where it differs from the KDD Cup 2024 parsers
(``ecombench.metrics.parsers``).

Where the upstream code raises or returns NaN (an empty truth, a task with no predicted entity at all,
a ranking index far below zero, all-zero gains), these functions return 0.0; the docs list each case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ecombench.metrics.scores import F1Counts, bleu, rouge_l

# What skill_wise_eval/hf_skill_inference.py:31 puts before every question (no chat template).
SYSTEM_PROMPT = "You are a helpful online shopping assistant. Please answer the following question about online shopping and follow the given instructions.\n\n"
# hf_skill_inference.py:18,52-55: --multi_choice_tokens (default 1) for multiple choice, else 100.
SKILL_WISE_MAX_NEW_TOKENS = {"multiple-choice": 1, "default": 100}
# task_wise_eval/hf_*.py max_new_tokens: multiple choice 4 (hf_multi_choice.py:74-82), retrieval 15,
# ranking 20, NER 20, generation 128 (their --max_gen_len defaults).
TASK_WISE_MAX_NEW_TOKENS = {"multiple-choice": 4, "retrieval": 15, "ranking": 20, "named_entity_recognition": 20, "generation": 128}


def accuracy(raw: str, truth: Any) -> float:
    """``metrics.accuracy`` (metrics.py:8): spaces (only spaces) stripped, the first character equals ``str(truth)``."""
    text = raw.strip(" ")
    return 1.0 if text and text[0] == str(truth) else 0.0


def task_wise_accuracy(raw: str, truth: Any) -> float:
    """``hf_multi_choice.py:85-95``: the first character for which ``str.isnumeric()`` holds, else the
    whole text, equals ``str(label)``. The label is the option number (or the rating)."""
    answer = next((c for c in raw if c.isnumeric()), raw)
    return 1.0 if answer == str(truth) else 0.0


LETTERS = "ABCD"  # hf_multi_choice.py:38, --use_letter_choices


def task_wise_letter_accuracy(raw: str, truth: Any) -> float:
    """``hf_multi_choice.py`` with ``--use_letter_choices`` (85-95): the first ``isalnum()`` character,
    else the whole text, equals the option's letter (``choices[int(label)]``, line 64)."""
    answer = next((c for c in raw if c.isalnum()), raw)
    return 1.0 if 0 <= int(truth) < len(LETTERS) and answer == LETTERS[int(truth)] else 0.0


def task_wise_rating_letter_accuracy(raw: str, truth: Any) -> float:
    """The review rating task under ``--use_letter_choices``: its label is not mapped to a letter (line 63),
    so the first ``isalnum()`` character must be the rating itself."""
    answer = next((c for c in raw if c.isalnum()), raw)
    return 1.0 if answer == str(truth) else 0.0


def _ints(pieces: Sequence[str]) -> list[int]:
    out = []
    for piece in pieces:
        try:
            out.append(int(piece))
        except ValueError:
            continue
    return out


def hit_rate(raw: str, truth: Sequence[int]) -> float:
    """``metrics.hit_rate`` (metrics.py:17): the stripped text split on commas (its newline branch splits
    the whole text too), pieces ``int()`` reads, the first 3 of them; share of the truth among them."""
    if not truth:
        return 0.0
    retrieved = _ints(raw.strip().split(","))[:3]
    return len(set(truth) & set(retrieved)) / len(truth)


def ranking_list(raw: str, size: int) -> list[int]:
    """``metrics.ndcg_eval``'s reading (metrics.py:97): the first line when there is a newline, split on
    commas, pieces ``int()`` reads, at most ``size`` of them (repeats and out-of-range numbers kept)."""
    text = raw
    if "\n" in text:
        text = text.strip("\n").split("\n")[0]
    return _ints(text.strip().split(","))[:size]


def ndcg(raw: str, truth: Sequence[float]) -> float:
    """``metrics.ndcg`` (metrics.py:113): candidate ``p`` earns ``weight[p - 1]`` when ``p - 1 < len``
    (Python indexing, so 0 earns the last gain); gains 2**g - 1 over log2(position + 1).

    Capped at 1: upstream keeps repeats, so ``1,1,1`` can earn more than the ideal order (NDCG above 1),
    which no score of ecombench may be."""
    weights = list(truth)
    dcg = 0.0
    for position, candidate in enumerate(ranking_list(raw, len(weights)), start=1):
        index = candidate - 1
        relevance = weights[index] if -len(weights) <= index < len(weights) else 0.0
        dcg += (2.0**relevance - 1) / math.log2(position + 1)
    idcg = sum((2.0**w - 1) / math.log2(position + 1) for position, w in enumerate(sorted(weights, reverse=True), start=1))
    return min(1.0, dcg / idcg) if idcg > 0 else 0.0


def ner_counts(raw: str, truth: Sequence[str]) -> F1Counts:
    """``metrics.tp_fp_fn`` (metrics.py:65): the first line (after leading newlines), spaces stripped,
    split on commas, empty pieces dropped, then each lower-cased and space-stripped; the truth only
    lower-cased; a set intersection gives the true positives, the list lengths the rest."""
    line = raw.lstrip("\n").split("\n")[0].strip(" ")
    answer = [piece.lower().strip(" ") for piece in line.split(",") if piece != ""]
    gold = [t.lower() for t in truth]
    tp = len(set(answer) & set(gold))
    return F1Counts(tp=tp, fp=len(answer) - tp, fn=len(gold) - tp)


def rougel(raw: str, truth: str) -> float:
    """``metrics.rougel`` (metrics.py:37): rouge-score ROUGE-L F with the Porter stemmer on the raw text."""
    return rouge_l(raw, truth)


def bleu_13a(raw: str, truth: str) -> float:
    """``metrics.bleu`` (metrics.py:131): `evaluate`'s sacrebleu, ``lowercase=True``, on the first line of
    the text once newlines (only newlines) are stripped; / 100. `evaluate`'s module calls
    ``sacrebleu.corpus_bleu`` with smoothing ``exp`` and no effective order, which ``scores.bleu`` does
    directly (capped at 1; a perfect match is 1 + 4e-16 upstream)."""
    return bleu(raw, truth)


def bleu_ja(raw: str, truth: str) -> float:
    """``metrics.bleu(jp=True)``: as ``bleu_13a`` with the ``ja-mecab`` tokenizer."""
    return bleu(raw, truth, tokenize="ja-mecab")


# Metric names of the task-wise multiple choice (4 new tokens, the first digit read), and with
# --use_letter_choices (options (A) to (D), the first letter or digit read). Each metric's function and
# task reduction: ecombench.metrics.rulesets.RULESETS["shopping-mmlu"]. sent-transformer and
# multilingual-sent-transformer (metrics.py:42): the cosine of the raw text's embedding with the truth's
# (or the mean over a list of truths), 0 when not positive; scored by the caller, which holds the model.
TASK_WISE_ACCURACY = "task-wise accuracy"
TASK_WISE_LETTER_ACCURACY, TASK_WISE_RATING_LETTER_ACCURACY = "task-wise letter accuracy", "task-wise rating letter accuracy"
