"""The contamination rule (ecombench.contamination) on hand-built items: leaks of every kind refused, templates never."""

from __future__ import annotations

import pytest

from ecombench import contamination as C
from ecombench.train.sources import TrainRecord

# A task whose items share an instruction (the evaluation side says it is template) and differ in their review.
ASPECT = "Read this customer review and say which aspect of the product it praises most. Review: {review}\nAnswer with the aspect only:"
REVIEWS = [
    "The Okami kettle boils a full litre in under three minutes and the handle stays cool, worth every cent of 42 dollars.",
    "My Fennix lamp arrived bent, but support sent a new arm within two days and it now lights the whole desk evenly.",
    "This Tidewell scarf is the softest wool I own; after ten washes it still has no pills and the teal colour is unchanged.",
]
# A task whose items word their instruction each its own way (as the KDD development set does): only training
# records that fill the slot with other products can tell the instruction from the item's own words.
EXPLAIN = [
    "Instructions: Say in a sentence what this kind of product does\nInput: Rotary Dimmer\nOutput:",
    "Describe the product type\nInput: Chair Mat\nOutput:",
]


def _items() -> list[C.Item]:
    return [C.Item("aspect", i, ASPECT.format(review=r)) for i, r in enumerate(REVIEWS)] + [C.Item("explain", i, p) for i, p in enumerate(EXPLAIN)]


def _kinds(report: C.Report) -> dict[str, set[str]]:
    """record -> kinds of its findings"""
    out: dict[str, set[str]] = {}
    for f in report.findings:
        out.setdefault(report.where[f.record], set()).add(f.kind)
    return out


def test_tokens_fold_case_spacing_punctuation_and_split_cjk():
    assert C.tokens("Hello,  WORLD!\n3.5 L; 東京") == ["hello", "world", "3", "5", "l", "東", "京"]
    assert C.tokens(" snake_case ") == ["snake", "case"]


def test_coverage_by_hand():
    item = C.Item("t", 0, " ".join(f"a{i}" for i in range(10)))
    records = [
        TrainRecord(" ".join(f"a{i}" for i in range(8)) + " and then something else", "x", where="r8"),  # 8 of 10 tokens
        TrainRecord(" ".join(f"a{i}" for i in range(7)) + " b c", "x", where="r7"),  # 7 in a row: no 8-token anchor
        TrainRecord("pre " + " ".join(f"a{i}" for i in range(9)) + " z9", "x", where="r9"),  # a9 changed: 9 of 10
    ]
    report = C.check(records, [item])
    by = {report.where[f.record]: f for f in report.findings}
    assert set(by) == {"r8", "r9"}
    assert (by["r8"].kind, by["r8"].item_coverage, by["r8"].content_coverage) == ("leak", 0.8, 0.8)  # >= 0.6 of both
    assert (by["r9"].kind, by["r9"].item_coverage) == ("leak", 0.9)


def test_an_edit_uncovers_the_edited_token_only():
    """Anchored alignment: an item of 30 tokens with its 15th changed is covered at 29 positions, not cut into
    the two 8-token windows beside the edit."""
    words = [f"w{i}" for i in range(30)]
    edited = [*words[:14], "CHANGED", *words[15:]]
    report = C.check([TrainRecord(" ".join(edited), "x", where="e")], [C.Item("t", 0, " ".join(words))])
    (f,) = report.findings
    assert f.kind == "leak" and f.item_coverage == pytest.approx(29 / 30)


def test_every_kind_of_leak_is_refused_and_templates_are_not():
    review = REVIEWS[0]
    item0 = ASPECT.format(review=review)
    records = [
        TrainRecord(item0, "handle", where="exact"),
        TrainRecord(item0.upper().replace(" ", "   ").replace(",", " ;").replace("42", "45"), "handle", where="light"),
        *[TrainRecord(item0, "handle", where=f"copy{k}") for k in range(25)],  # repeated: each copy is a leak
        TrainRecord("You are a careful assistant. Think first.\n\n" + item0 + "\n\nGive only the final answer, no reasons.", "handle", where="wrapped"),
        TrainRecord("Read this customer review and say which aspect of the product it praises most.", "Review: " + review, where="alpaca"),
        # the instruction with another review: template, never a leak however many there are
        *[
            TrainRecord(ASPECT.format(review=f"Order {k}: the Norvik mug keeps coffee hot for hours and the lid never leaks."), "heat", where=f"tmpl{k}")
            for k in range(40)
        ],
    ]
    report = C.check(records, _items())
    kinds = _kinds(report)
    assert kinds["exact"] == {"exact"}
    for leak in ("light", "wrapped", "alpaca", *(f"copy{k}" for k in range(25))):
        assert kinds[leak] == {"leak"} or kinds[leak] == {"exact"}, leak
    assert not any(w.startswith("tmpl") for w in kinds)
    assert len(report.leaking) == 29 and report.exact == 26  # the 25 copies equal the item too
    assert report.tasks == {"aspect": 1}
    assert report.findings[0].kind == "exact" and [f.kind for f in report.findings].index("leak") == 26  # exact copies first


def test_a_slot_filled_by_many_records_is_template_and_the_item_itself_still_leaks():
    """Boilerplate plus one slot word (the KDD development set's task 1): three records that fill the slot with
    other products make the instruction template; a copy of the item still leaks; a product that shares the slot's
    first word does not."""
    fills = ["Chair Mat", "Drill Bit Set", "Bath Towel", "Rotary Cutter"]
    records = [TrainRecord(f"Instructions: Say in a sentence what this kind of product does\nInput: {p}\nOutput:", f"A {p} is ...", where=p) for p in fills]
    records.append(TrainRecord("instructions: SAY in a sentence what this kind of product does. input: rotary dimmer. output:", "...", where="copy"))
    report = C.check(records, _items())
    assert _kinds(report) == {"copy": {"leak"}}  # punctuation differs: not an exact copy, a leak by coverage
    # with only the evaluation side to say what is template, the instruction is the item's own content (11 of its 14
    # tokens): every record that repeats it leaks the item
    strict = C.check(records, _items(), learn_templates=False)
    assert {strict.where[r] for r in strict.leaking} == {"copy", *fills}


def test_repeated_copies_do_not_teach_their_own_template():
    """Copies cover the whole item: they never vote it template, however many (the old rule let 20 copies pass)."""
    records = [TrainRecord(f"Input: Rotary Dimmer Output: {EXPLAIN[0]}", "x", where=f"c{k}") for k in range(50)]
    report = C.check(records, _items())
    assert len(report.leaking) == 50


def test_catalog_text_in_an_unrelated_question_is_reported_not_refused():
    title = "Okami stainless steel electric kettle with keep warm function, 1.7 litre, 2200 watt, brushed silver finish"
    item = C.Item("title", 0, f"Which category does the product '{title}' belong to?\n0. Kitchen > Kettles\n1. Garden > Hoses\n2. Toys > Dolls\nAnswer:")
    other = TrainRecord(
        f"Write a two-line advertisement for '{title}'. Mention a gift for a new home owner and keep it cheerful and short please.", "...", where="ad"
    )
    report = C.check([other], [item])
    (f,) = report.findings
    assert f.kind == "shared" and not report.leaking and report.shared == 1
    assert report.marked(f).startswith("Which category does the product '[[Okami stainless steel electric kettle")


def test_marked_text_sets_content_apart_from_template():
    assert C.mark("Hello, World: this is  a test. Done", covered=0b0111110, template=0b0000110) == "Hello, {{World: this}} [[is a test]]. Done"


def test_report_json_lists_every_finding_with_file_and_line():
    item0 = ASPECT.format(review=REVIEWS[1])
    records = [TrainRecord(item0, "x", where=f"data/f.jsonl:{k + 1}") for k in range(300)]
    out = C.check(records, _items(), checked_tasks=["aspect", "explain"]).as_dict()
    assert out["leaking_records"] == 300 and len(out["findings"]) == 300 and out["findings_total"] == 300
    assert out["findings"][299]["record"] == "data/f.jsonl:300" and out["findings"][0]["kind"] == "exact"
    assert out["eval_tasks_overlapped"] == {"aspect": 1} and out["checked_tasks"] == ["aspect", "explain"]
    assert len(C.check(records, _items()).as_dict(findings=20)["findings"]) == 20


@pytest.mark.parametrize(
    "summary, expected",
    [
        ({"leaking_records": 3, "trained_overlap": {"a": 2}}, {"a": 2}),
        ({"leaking_records": 3, "decontaminated": 3, "trained_overlap": {}}, {}),
        # records written before the field: what was found, unless --decontaminate dropped it
        ({"ngram_13": 3, "exact": 3, "eval_tasks_overlapped": {"a": 2}, "decontaminated": 0}, {"a": 2}),
        ({"ngram_13": 3, "exact": 0, "eval_tasks_overlapped": {"a": 2}, "decontaminated": 3}, {}),
        ({"ngram_13": 0, "exact": 0, "eval_tasks_overlapped": {}}, {}),
    ],
)
def test_trained_overlap_of_new_and_old_lineages(summary, expected):
    assert C.trained_overlap(summary) == expected


def test_plain_ngram_overlap_by_hand():
    eval_prompt = " ".join(f"w{i}" for i in range(20))
    train = [
        {"prompt": " ".join(f"w{i}" for i in range(5, 18)), "completion": ""},  # 13 shared words
        {"prompt": " ".join(f"w{i}" for i in range(5, 17)), "completion": "x"},  # only 12
    ]
    kept, dropped = C.drop_ngram_overlap(train, [eval_prompt])
    assert dropped == 1 and kept == [train[1]]
