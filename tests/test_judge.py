"""The model judge's parts: templates, the strict verdict reader, SimpleQA's metrics, the reply cache and the grader.

Every expected value is worked out by hand in the test (SimpleQA's formulas: openai/simple-evals simpleqa_eval.py).
"""

from __future__ import annotations

import hashlib

import pytest

from ecombench.errors import EcombenchError
from ecombench.judge import (
    Grade,
    JudgeCache,
    JudgeItem,
    PairItem,
    RubricItem,
    cache_key,
    grade,
    grade_pairwise,
    grade_rubric,
    load_template,
    parse_verdict,
    position_bias,
    simpleqa_by_group,
    simpleqa_scores,
    usage,
)
from ecombench.judge.template import TEMPLATES_DIR, make_template

C, W, N, U = Grade.CORRECT, Grade.INCORRECT, Grade.NOT_ATTEMPTED, Grade.UNPARSEABLE

# (reply, grade): replies a judge may give, read under the SimpleQA-style template
SIMPLEQA_REPLIES = [
    ("A", C),
    ("B", W),
    ("C", N),
    (" c\n", N),
    ("**A**", C),
    ("`B`", W),
    ("(A)", C),
    ("【C】", N),
    ("A.", C),
    ("B。", W),
    ("A: CORRECT", C),
    ("B: INCORRECT", W),
    ("C: NOT_ATTEMPTED", N),
    ("A. 正确（CORRECT）", C),  # the template's own wording of grade A
    ("B（错误）", W),
    ("not attempted", N),
    ("INCORRECT", W),
    ("未尝试", N),
    ("Grade: A", C),
    ("答案：B", W),
    ("<think>The reference says 1998; the answer says 2003, so B... or C?</think>\nB", W),
    # never guessed:
    ("", U),
    ("A or B", U),
    ("AB", U),
    ("D", U),
    ("The answer is A", U),  # SimpleQA's own grader would take the first A here
    ("A: INCORRECT", U),  # letter and name disagree
    ("正确（INCORRECT）", U),
    ("<think>A", U),  # reasoning never closed
    ("CORRECT, mostly", U),
]


@pytest.mark.parametrize(("reply", "expected"), SIMPLEQA_REPLIES)
def test_simpleqa_replies_are_read_strictly(reply, expected):
    assert parse_verdict(reply, "simpleqa") == expected


@pytest.mark.parametrize(
    ("kind", "reply", "expected"),
    [
        ("rubric", "A", Grade.MET),
        ("rubric", "not met", Grade.NOT_MET),
        ("rubric", "C", U),  # a rubric point has two grades
        ("pairwise", "A", Grade.FIRST),
        ("pairwise", "B", Grade.SECOND),
        ("pairwise", "tie", Grade.TIE),
        ("pairwise", "CORRECT", U),
    ],
)
def test_rubric_and_pairwise_replies(kind, reply, expected):
    assert parse_verdict(reply, kind) == expected


def test_simpleqa_scores_per_concept_and_overall():
    grades = [C, C, W, N, C, U, N, N]  # BC, then SC
    scores = simpleqa_by_group(grades, ["BC"] * 4 + ["SC"] * 4)
    assert list(scores) == ["BC", "SC", "overall"]
    bc, sc, overall = scores["BC"], scores["SC"], scores["overall"]
    # BC: 2 of 4 correct; 3 attempted, 2 of them correct; F = 2 * 1/2 * 2/3 / (1/2 + 2/3) = 4/7
    assert (bc.correct_rate, bc.correct_given_attempted, bc.f_score) == pytest.approx((0.5, 2 / 3, 4 / 7))
    # SC: the unparseable verdict is attempted and not correct: 1 of 4 correct, 1 of 2 attempted; F = 2 * 1/4 * 1/2 / (3/4) = 1/3
    assert (sc.correct_rate, sc.correct_given_attempted, sc.f_score) == pytest.approx((0.25, 0.5, 1 / 3))
    assert (sc.unparseable, sc.incorrect, sc.not_attempted) == (1, 0, 2)
    # overall, items pooled: 3 of 8 correct; 5 attempted; F = 2 * 3/8 * 3/5 / (3/8 + 3/5) = 6/13
    assert (overall.correct_rate, overall.correct_given_attempted, overall.f_score) == pytest.approx((0.375, 0.6, 6 / 13))


def test_nothing_attempted_scores_zero_not_nan():
    s = simpleqa_scores([N, N])
    assert (s.correct_rate, s.correct_given_attempted, s.f_score) == (0.0, 0.0, 0.0)


def test_bundled_template_identity_is_the_sha256_of_its_file():
    template = load_template("simpleqa_zh_v1")
    assert template.sha256 == hashlib.sha256((TEMPLATES_DIR / "simpleqa_zh_v1.txt").read_bytes()).hexdigest()
    assert template.text.rstrip().endswith("只输出一个字母“A”“B”或“C”，不要输出其他任何内容。")


def test_render_fills_each_placeholder_once_and_leaves_lookalikes_in_answers():
    template = make_template("t", "simpleqa", "Q={question} T={target} P={predicted_answer}")
    assert template.render(question="q {target}", target="gold", predicted_answer="{question}") == "Q=q {target} T=gold P={question}"


def test_a_template_missing_a_placeholder_of_its_kind_is_refused():
    with pytest.raises(EcombenchError, match=r"template t: a simpleqa template needs \{predicted_answer\}"):
        make_template("t", "simpleqa", "{question} {target}")


KEY = ("judge-a", "sha-1", "question", "answer", "reference")


@pytest.mark.parametrize("position", range(5))
def test_cache_key_changes_with_each_of_its_parts(position):
    changed = list(KEY)
    changed[position] += "!"
    assert cache_key(*changed) != cache_key(*KEY)
    assert cache_key(*KEY) == cache_key(*list(KEY))


def test_cache_key_parts_do_not_run_together():
    assert cache_key("ab", "c", "q", "a") != cache_key("a", "bc", "q", "a")


class FakeJudge:
    """Greedy and deterministic: the reply for a prompt comes from ``rule``; every prompt it is asked is kept."""

    def __init__(self, rule):
        self.rule, self.asked = rule, []

    def __call__(self, prompts: list[str]) -> list[str]:
        self.asked.append(list(prompts))
        return [self.rule(p) for p in prompts]


def _items():
    return [
        JudgeItem("示例牌台灯创立于哪一年？", "2001年", "2001年", "BC"),
        JudgeItem("示例牌台灯创立于哪一年？", "2001年", "1999年", "BC"),
        JudgeItem("“保温杯子盖”纠错后是？", "保温杯盖", "不知道", "SC"),
        JudgeItem("“保温杯子盖”纠错后是？", "保温杯盖", "hmm", "SC"),
    ]


def _simpleqa_rule(prompt: str) -> str:
    answer = prompt.split("【模型回答】\n", 1)[1].split("\n", 1)[0]
    return {"2001年": "A", "1999年": "B", "不知道": "C"}.get(answer, "I cannot decide")


def test_grade_reads_each_reply_and_a_second_grading_asks_nothing(tmp_path):
    template = load_template("simpleqa_zh_v1")
    cache = JudgeCache(tmp_path / "replies.sqlite3")
    judge = FakeJudge(_simpleqa_rule)
    first = grade(_items(), judge, "judge-a", template, cache)
    assert [v.grade for v in first] == [C, W, N, U]
    assert [v.reply for v in first][-1] == "I cannot decide"  # kept as given, shown apart
    assert len(judge.asked) == 1 and len(judge.asked[0]) == 4
    prompt = judge.asked[0][1]
    assert "【问题】\n示例牌台灯创立于哪一年？\n" in prompt and "【标准答案】\n2001年\n" in prompt and "【模型回答】\n1999年\n" in prompt
    again = grade(_items(), judge, "judge-a", template, JudgeCache(tmp_path / "replies.sqlite3"))
    assert len(judge.asked) == 1  # nothing asked
    assert [v.grade for v in again] == [C, W, N, U] and all(v.cached for v in again)
    assert (usage(first).calls, usage(again).calls, usage(again).cached) == (4, 0, 4)
    other = grade(_items()[:1], judge, "judge-b", template, cache)  # another judge: asked anew
    assert len(judge.asked) == 2 and not other[0].cached


def test_usage_counts_the_judges_tokens_of_fresh_calls_only(tmp_path):
    template = load_template("simpleqa_zh_v1")
    verdicts = grade(_items()[:2], FakeJudge(_simpleqa_rule), "judge-a", template, None)
    counted = usage(verdicts, count_tokens=len)
    assert counted.prompt_tokens == sum(len(v.prompt) for v in verdicts) and counted.reply_tokens == 2  # "A", "B"


def test_a_judge_that_returns_too_few_replies_is_an_error():
    with pytest.raises(EcombenchError, match=r"judge judge-a: asked 4 prompts, got 3 replies"):
        grade(_items(), lambda prompts: ["A"] * (len(prompts) - 1), "judge-a", load_template("simpleqa_zh_v1"), None)


def test_rubric_item_score_is_the_share_of_points_met():
    replies = {"mentions the price": "A", "names the brand": "B", "gives a size": "it depends"}
    judge = FakeJudge(lambda p: next(r for point, r in replies.items() if f"[Rubric point]\n{point}\n" in p))
    results = grade_rubric(
        [RubricItem("Which kettle?", "The X kettle, 30 yuan", tuple(replies)), RubricItem("Which mug?", "A mug", ("mentions the price",))],
        judge,
        "judge-a",
        load_template("rubric_v1"),
        None,
    )
    assert [r.score for r in results] == [pytest.approx(1 / 3), 1.0]  # 1 of 3 met (the unparseable point is not met); 1 of 1
    assert [r.unparseable for r in results] == [1, 0]


def _pairs():
    return [PairItem("q1", "good answer", "weak answer"), PairItem("q2", "weak answer", "good answer")]


def _shown(prompt: str) -> tuple[str, str]:
    first = prompt.split("[Answer 1]\n", 1)[1].split("\n", 1)[0]
    second = prompt.split("[Answer 2]\n", 1)[1].split("\n", 1)[0]
    return first, second


def test_pairwise_asks_both_orders_and_a_fair_judge_shows_no_position_bias():
    judge = FakeJudge(lambda p: "A" if _shown(p)[0] == "good answer" else "B")
    results = grade_pairwise(_pairs(), judge, "judge-a", load_template("pairwise_v1"), None)
    assert [_shown(p) for p in judge.asked[0]][:2] == [("good answer", "weak answer"), ("weak answer", "good answer")]
    assert [r.winner for r in results] == ["first", "second"]
    assert position_bias(results).share == 0.0


def test_a_judge_that_always_prefers_the_first_slot_flips_every_pair():
    results = grade_pairwise(_pairs(), FakeJudge(lambda p: "A"), "judge-a", load_template("pairwise_v1"), None)
    assert [(r.winner, r.flipped) for r in results] == [("tie", True), ("tie", True)]
    bias = position_bias(results)
    assert (bias.pairs, bias.read, bias.flipped, bias.share) == (2, 2, 2, 1.0)


def test_position_bias_leaves_out_pairs_it_could_not_read():
    pairs = [*_pairs(), PairItem("q3", "x", "y"), PairItem("q4", "good answer", "weak answer")]

    def rule(p: str) -> str:
        first, second = _shown(p)
        if "x" in (first, second):
            return "?"  # q3: unparseable both ways
        if p.startswith("You") and "q4" in p:
            return "A"  # q4: always the first slot: flips
        return "A" if first == "good answer" else "B"

    bias = position_bias(grade_pairwise(pairs, FakeJudge(rule), "judge-a", load_template("pairwise_v1"), None))
    assert (bias.pairs, bias.read, bias.flipped) == (4, 3, 1) and bias.share == pytest.approx(1 / 3)
