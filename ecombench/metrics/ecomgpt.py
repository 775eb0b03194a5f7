"""EcomGPT's own evaluation rules, one metric per task TYPE, as pure functions of the raw output.

EcomGPT (Alibaba-NLP/EcomGPT) scores each held-out folder by the class its ``src/eval.py`` picks for the
folder's TYPE: ``EN_CLS`` (``src/data/task_cls.py``) and ``EN_NER``, ``EN_EXTRACT``,
``EN_CONDITION_EXTRACT``, ``EN_GEN`` (``src/data/task_extract.py``). Each function here takes the
model's raw text (what that ``eval.py`` keeps after ``### Response:``, untrimmed) and the truth the
``ecominstruct`` importer stores:

- CLS: the gold labels joined by ``", "``; pooled set micro F1 (``SetScore``).
- NER: ``[gold answer, sentence]``, the gold answer being EcomGPT's ``"<type>: <term>, <term>"``
  lines; micro F1 of seqeval over character-level BIO tags of the sentence.
- Extract, Condition_Extract, Generate: the gold terms joined by ``", "``; ROUGE-L F of the ``rouge``
  package (1.0.1), averaged over the items, each TYPE with its own stand-in for an empty output.

These are re-implementations of the rules, written from the upstream code's behaviour; neither
``rouge`` nor ``seqeval`` is needed.
"""

from __future__ import annotations

from typing import Any

from ecombench.metrics.scores import F1Counts

LABEL_SEP = ", "  # every published folder's label_sep; CLS and NER answers are split on it
EMPTY = "error"  # what EcomGPT's classes put in place of an output they consider empty

# --- ROUGE-L as `rouge` 1.0.1 computes it: Rouge().get_scores(hyps, refs, avg=True)["rouge-l"]["f"] ---


def rouge_sentences(text: str) -> list[str]:
    """Split on ``.``; pieces that are not empty, with their whitespace runs collapsed to one space.

    A piece of spaces only becomes the empty sentence, which counts as one (empty) word.
    """
    return [" ".join(piece.split()) for piece in text.split(".") if piece]


def _lcs_words(reference: list[str], candidate: list[str]) -> set[str]:
    """The words of the one longest common subsequence that ``rouge`` traces back from the end:
    a match is taken, else it steps back in the reference when that keeps a strictly longer LCS,
    else in the candidate."""
    n, m = len(reference), len(candidate)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        row, above, word = table[i], table[i - 1], reference[i - 1]
        for j in range(1, m + 1):
            row[j] = above[j - 1] + 1 if word == candidate[j - 1] else max(above[j], row[j - 1])
    words: set[str] = set()
    i, j = n, m
    while i > 0 and j > 0:
        if reference[i - 1] == candidate[j - 1]:
            words.add(reference[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return words


def rouge_l(hypothesis: str, reference: str) -> float:
    """Summary-level ROUGE-L F of ``rouge`` 1.0.1 (``exclusive=True``): words are the space-separated
    pieces of the sentences; the union of the LCS words of every (reference, hypothesis) sentence pair,
    over the distinct words of each side, gives recall and precision; F = 2PR / (P + R + 1e-8).

    Where either side has no sentence (``rouge`` raises ``ValueError``), 0.0.
    """
    hyp, ref = rouge_sentences(hypothesis), rouge_sentences(reference)
    if not hyp or not ref:
        return 0.0
    union: set[str] = set()
    for ref_sentence in ref:
        ref_words = ref_sentence.split(" ")
        for hyp_sentence in hyp:
            union |= _lcs_words(ref_words, hyp_sentence.split(" "))
    recall = len(union) / len({w for s in ref for w in s.split(" ")})
    precision = len(union) / len({w for s in hyp for w in s.split(" ")})
    return 2.0 * ((precision * recall) / (precision + recall + 1e-8))


def generate_rouge_l(raw: str, truth: str) -> float:
    """``EN_GEN.evaluate``: an output of length 0 is replaced by ``error``."""
    return rouge_l(raw if raw else EMPTY, truth)


def extract_rouge_l(raw: str, truth: str) -> float:
    """``EN_EXTRACT.evaluate``: an output that is empty once dots and surrounding space are removed
    is replaced by ``error``."""
    return rouge_l(raw if raw.replace(".", "").strip() else EMPTY, truth)


def condition_extract_rouge_l(raw: str, truth: str) -> float:
    """``EN_CONDITION_EXTRACT.evaluate``: an output of at most one character once stripped, and an
    empty gold answer, are each replaced by ``error``."""
    return rouge_l(raw if len(raw.strip()) > 1 else EMPTY, truth if truth else EMPTY)


# --- CLS: EN_CLS + SetScore --------------------------------------------------------------------------


def _label_list(text: str) -> Any:
    """``parse_answer_to_list`` / ``parse_gold_to_list``: the text split on the separator, or, for an
    empty text, the string ``error`` itself (whose set is its letters e, r, o)."""
    return text.split(LABEL_SEP) if text else EMPTY


def cls_counts(raw: str, truth: str) -> F1Counts:
    """Set counts of one classification item: the output, ``error`` if empty, else stripped with every
    ``.`` removed, split on ``", "``; labels compared exactly (case and inner spaces count)."""
    answer = raw.strip().replace(".", "") if raw else EMPTY
    predicted, gold = set(_label_list(answer)), set(_label_list(truth))
    tp = len(predicted & gold)
    return F1Counts(tp=tp, fp=len(predicted) - tp, fn=len(gold) - tp)


# --- NER: EN_NER + seqeval ----------------------------------------------------------------------------


def ner_answer(text: str) -> dict[str, list[str]]:
    """``EN_NER.parse_answer``: lines ``<type>: <span>, <span>`` (lines without ``": "`` or ending in it
    are skipped), spans merged per type in order of first mention; nothing found is ``{"None": ["None"]}``.

    EcomGPT keeps each type's spans in a Python set, whose order can vary between runs; that order
    only matters where two spans of one type overlap in the sentence, and here it is first mention.
    """
    found: dict[str, list[str]] = {}
    for line in text.split("\n"):
        if ": " not in line or line.endswith(": "):
            continue
        at = line.index(": ")
        found.setdefault(line[:at], []).extend(line[at + 2 :].split(LABEL_SEP))
    if not found:
        return {"None": ["None"]}
    return {kind: list(dict.fromkeys(spans)) for kind, spans in found.items()}


def ner_tags(sentence: str, spans: dict[str, list[str]]) -> list[tuple[str, str] | None]:
    """``EN_NER.mapping2label``: every occurrence of every span (``None`` skipped) tags its characters
    B-type, I-type, ...; later spans overwrite earlier ones. An empty span tags every character B.
    ``None`` is the O tag; a type is kept as seqeval reads it back (an empty type is ``_``)."""
    tags: list[tuple[str, str] | None] = [None] * len(sentence)
    for kind, terms in spans.items():
        name = kind or "_"
        for term in terms:
            if term == "None":
                continue
            at = sentence.find(term)
            while at != -1 and at < len(sentence):
                tags[at] = ("B", name)
                for k in range(at + 1, at + len(term)):
                    tags[k] = ("I", name)
                at = sentence.find(term, at + 1)
    return tags


def ner_entities(tags: list[tuple[str, str] | None]) -> set[tuple[str, int, int]]:
    """seqeval's (CoNLL) chunks of a B/I/O sequence: a chunk starts at B, or at I after O or after
    another type, and runs while I of its type follows."""
    chunks: set[tuple[str, int, int]] = set()
    start, kind = -1, ""
    for i, tag in enumerate([*tags, None]):
        if start >= 0 and (tag is None or tag[0] == "B" or tag[1] != kind):
            chunks.add((kind, start, i - 1))
            start = -1
        if tag is not None and (tag[0] == "B" or start < 0):
            start, kind = i, tag[1]
    return chunks


def ner_counts(raw: str, truth: list[str]) -> F1Counts:
    """Entity counts of one NER item: gold answer and output (``error`` if empty) parsed, tagged over the
    sentence and chunked; an entity is (type, first, last character). Pooled, this is seqeval's micro F1."""
    gold_answer, sentence = truth[0], truth[1]
    gold = ner_entities(ner_tags(sentence, ner_answer(gold_answer)))
    predicted = ner_entities(ner_tags(sentence, ner_answer(raw if raw else EMPTY)))
    tp = len(gold & predicted)
    return F1Counts(tp=tp, fp=len(predicted) - tp, fn=len(gold) - tp)


# Metric names, by the EcomGPT class whose rule they follow.
CLS_F1, NER_F1 = "ecomgpt-cls-f1", "ecomgpt-ner-f1"
EXTRACT_ROUGE_L, CONDITION_EXTRACT_ROUGE_L, GENERATE_ROUGE_L = ("ecomgpt-extract-rougel", "ecomgpt-condition-extract-rougel", "ecomgpt-generate-rougel")
# Each one's function and task reduction (mean, or micro F1 of the pooled counts for CLS and NER):
# ecombench.metrics.rulesets.RULESETS["ecomgpt"].
