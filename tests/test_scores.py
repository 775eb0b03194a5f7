"""Per-question metrics against values worked out by hand."""

import math

import pytest

from ecombench.metrics.scores import F1Counts, accuracy, bleu, cosine_floor, f1_counts, hit_rate_at_3, jp_bleu, micro_f1, ndcg, rouge_l

LOG3 = math.log2(3)


@pytest.mark.parametrize(
    ("pred", "truth", "expected"),
    [
        ([1, 2, 3], [2], 1.0),
        ([1, 2, 3], [2, 5, 9], 1 / 3),
        ([2, 2, 2], [2, 5], 0.5),  # a repeated hit counts once
        ([4, 5, 6, 1], [1], 0.0),  # only the first 3 predictions count
        ([], [1], 0.0),
    ],
)
def test_hit_rate_at_3(pred, truth, expected):
    assert hit_rate_at_3(pred, truth) == pytest.approx(expected)


def _idcg_10001():
    # weights [1, 0.01, 0.1, 1, 0] sorted: 1, 1, 0.1, 0.01, 0
    return 1 + 1 / LOG3 + (2**0.1 - 1) / 2 + (2**0.01 - 1) / math.log2(5)


@pytest.mark.parametrize(
    ("pred", "truth", "expected"),
    [
        ([1, 4, 3, 2, 5], [1, 0.01, 0.1, 1, 0], 1.0),  # an ideal order
        ([1, 4], [1, 0.01, 0.1, 1, 0], (1 + 1 / LOG3) / _idcg_10001()),  # about 0.977
        ([5, 3], [1, 0.01, 0.1, 1, 0], ((2**0.1 - 1) / LOG3) / _idcg_10001()),
        ([], [1, 0, 0], 0.0),
        ([1, 2], [0, 0], 0.0),  # IDCG 0
        ([0], [0, 1], 1.0),  # candidate 0 reads weight[-1], as the official code indexes
        ([2, 1], [1, 0], 1 / LOG3),  # DCG 1/log2(3), IDCG 1
        ([1, 2, 3], [1, 0], 1.0),  # cut to len(truth)
    ],
)
def test_ndcg(pred, truth, expected):
    assert ndcg(pred, truth) == pytest.approx(expected, abs=1e-12)


def test_ndcg_half_of_the_spec_example_is_0_977():
    assert round(ndcg([1, 4], [1, 0.01, 0.1, 1, 0]), 3) == 0.977


def test_f1_counts_and_pooling():
    # predictions lower-cased and stripped; truths lower-cased only; duplicates are false positives
    assert f1_counts([" Lego ", "lego", "City"], ["LEGO", "police"]) == F1Counts(tp=1, fp=2, fn=1)
    assert f1_counts([], ["a"]) == F1Counts(0, 0, 1)
    # pooled: tp=3, fp=1, fn=2 -> P=3/4, R=3/5, F1=2*0.45/1.35=2/3
    counts = [F1Counts(2, 0, 1), F1Counts(1, 1, 1)]
    assert micro_f1(counts) == pytest.approx(2 / 3)
    # a truth that is not stripped never matches a stripped prediction
    assert f1_counts(["lego"], [" lego"]) == F1Counts(0, 1, 1)
    assert micro_f1([]) == 0.0
    assert micro_f1([F1Counts(0, 3, 0)]) == 0.0


def test_accuracy():
    assert accuracy(2, 2) == 1.0
    assert accuracy(-1, 0) == 0.0


def test_rouge_l_with_stemming():
    # "running shoes" vs "run shoe": after Porter stemming both are "run shoe" -> F=1
    assert rouge_l("running shoes", "run shoe") == pytest.approx(1.0)
    # LCS("red cotton shirt", "blue cotton shirt") = 2 of 3 tokens each -> P=R=F=2/3
    assert rouge_l("red cotton shirt", "blue cotton shirt") == pytest.approx(2 / 3)
    assert rouge_l("", "anything") == 0.0


def test_bleu_first_line_lowercased():
    assert bleu("\nThe Red Cotton Shirt Size M\nignored second line", "the red cotton shirt size m") == 1.0  # never 1.0000000000000004
    # hypothesis of 4 tokens, reference of 6, all 4-grams matched: BP = exp(1 - 6/4)
    assert bleu("a b c d", "a b c d e f") == pytest.approx(math.exp(1 - 6 / 4))
    assert bleu("", "a b c d") == 0.0


def test_jp_bleu_uses_mecab_tokens():
    # Without word boundaries 13a sees one token; MeCab splits the sentence, so a match scores 1.
    assert jp_bleu("赤い綿のシャツです", "赤い綿のシャツです") == pytest.approx(1.0)
    assert 0.0 < jp_bleu("赤い綿のシャツ", "赤い綿のシャツです") < 1.0
    assert bleu("赤い綿のシャツ", "赤い綿のシャツです") == 0.0


def test_cosine_floor():
    assert cosine_floor([0.5, 0.3]) == pytest.approx(0.4)
    assert cosine_floor([-0.2, 0.1]) == 0.0
    assert cosine_floor([]) == 0.0
    assert cosine_floor([1.0000000000000004]) == 1.0  # a text's cosine with itself, as floating point gives it
