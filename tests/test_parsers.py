"""Parsers, checked against hand-worked cases of the KDD Cup 2024 rules."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecombench.metrics.parsers import TASK_TYPES, parse

CASES = [
    # multiple-choice: first character after strip, as an int
    ("multiple-choice", "2", 2),
    ("multiple-choice", "  3. kitchen", 3),
    ("multiple-choice", "B", -1),
    ("multiple-choice", "", -1),
    ("multiple-choice", "   ", -1),
    ("multiple-choice", "12", 1),
    ("multiple-choice", "٣", 3),  # a Unicode decimal digit: int() reads it, as in the official code
    # ranking: comma split, <= 5, first 5, duplicates empty the answer
    ("ranking", "1, 4, 2, 3, 5", [1, 4, 2, 3, 5]),
    ("ranking", "[1, 2, 3, 4, 5]", [1, 2, 3, 4, 5]),
    ("ranking", "1 2 3", []),
    ("ranking", "1, 2, 2, 3", []),
    ("ranking", "6, 1, 2", [1, 2]),
    ("ranking", "1,2,3,4,5,1", [1, 2, 3, 4, 5]),  # duplicate only after the first five
    ("ranking", "Answer: 3, 1", [3, 1]),
    ("ranking", "0, 1", [0, 1]),
    ("ranking", "", []),
    # retrieval: first 3 ints, no bound, no duplicate rule
    ("retrieval", "7, 12, 3, 4", [7, 12, 3]),
    ("retrieval", "2, 2", [2, 2]),
    ("retrieval", "no idea", []),
    ("retrieval", "1 2, 3", [3]),
    # NER: literal list of strings, else comma pieces
    ("named_entity_recognition", "['lego', 'city']", ["lego", "city"]),
    ("named_entity_recognition", '["a"]', ["a"]),
    ("named_entity_recognition", "[a, b]", ["[a", "b]"]),
    ("named_entity_recognition", "lego , city,, ", ["lego", "city"]),
    ("named_entity_recognition", "[1, 2]", ["[1", "2]"]),
    ("named_entity_recognition", "[]", []),
    ("named_entity_recognition", "", []),
    # generation: stripped text
    ("generation", "  Soft cotton tee \n", "Soft cotton tee"),
]


@pytest.mark.parametrize(("task_type", "raw", "expected"), CASES)
def test_parser_case(task_type, raw, expected):
    assert parse(task_type, raw) == expected


def test_outputs_are_read_whole_as_the_kdd_scorer_reads_them():
    # the KDD Cup scorer (local_evaluation.py, parsers.py) parses the response as it came: no cut at 5,000
    assert parse("generation", "a" * 5050) == "a" * 5050
    assert parse("retrieval", " " * 5000 + "1, 2") == [1, 2]  # the answer after 5,000 blanks is seen
    assert parse("multiple-choice", "\n" * 5000 + "2") == 2
    entities = [f"entity number {i}" for i in range(400)]  # a valid list of 8,000 characters stays valid
    assert parse("named_entity_recognition", repr(entities)) == entities


@settings(max_examples=300, deadline=None)
@given(task_type=st.sampled_from(TASK_TYPES), raw=st.text(max_size=300))
def test_no_parser_raises_on_arbitrary_text(task_type, raw):
    result = parse(task_type, raw)
    expected_type = {"multiple-choice": int, "generation": str}.get(task_type, list)
    assert isinstance(result, expected_type)


NON_EMBEDDING = [
    ("multiple-choice", "accuracy", 2),
    ("ranking", "ndcg", [1, 0.1, 0.01, 0, 0]),
    ("retrieval", "hit rate@3", [2, 4, 5]),
    ("named_entity_recognition", "micro f1", ["red", "cotton"]),
    ("generation", "rougel", "red cotton shirt"),
    ("generation", "bleu", "red cotton shirt"),
    ("generation", "jp-bleu", "赤い綿のシャツ"),
]


@settings(max_examples=200, deadline=None)
@given(case=st.sampled_from(NON_EMBEDDING), raw=st.text(max_size=200))
def test_scores_of_arbitrary_text_stay_in_0_1(case, raw):
    from ecombench.scoring import ScoringItem, score_items

    task_type, metric, truth = case
    (result,) = score_items([ScoringItem("t", task_type, metric, "k", truth, raw)])
    assert 0.0 <= result.score <= 1.0 + 1e-12


@pytest.mark.parametrize(("raw", "expected"), [("1in stock, 2or 3", ["1in stock", "2or 3"]), ('"a\\d", 0x1for', ['"a\\d"', "0x1for"])])
def test_ner_text_that_is_almost_python_parses_without_a_warning(raw, expected):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parse("named_entity_recognition", raw) == expected
    assert [str(w.message) for w in caught] == []  # e.g. "invalid decimal literal" from the compiler
