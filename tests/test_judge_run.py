"""`ecombench run --judge`: judged tasks (ChineseEcomQA's layout) graded by a model judge, scored, recorded, cached.

The fixture is in the real file's layout and in wording of our own (tests/test_chinese_ecomqa_import.py's rows).
"""

from __future__ import annotations

import pytest

from ecombench.errors import EcombenchError
from ecombench.importers import IMPORTERS
from ecombench.importers.writer import write_suite
from ecombench.paths import user_tasks_dir
from ecombench.run import JudgeOptions, RunOptions, judging, run
from tests.helpers.sources import chinese_ecomqa_rows as _rows
from tests.helpers.sources import write_jsonl


@pytest.fixture(scope="module")
def judged_suite(tmp_path_factory):
    """The fixture imported as suite `jq` (tasks jq_bc: 2 items, jq_rlc: 1, jq_sc: 1)."""
    folder = tmp_path_factory.mktemp("cq")
    write_suite(IMPORTERS["chinese-ecomqa"](write_jsonl(folder / "ChineseEcomQA.jsonl", _rows())), "jq", user_tasks_dir(), force=True)
    return "jq"


def _options(tmp_path, suite, **changes):
    return RunOptions(model="builtin:tiny", tasks=[suite], submissions_dir=tmp_path / "subs", judge=JudgeOptions(model="builtin:tiny"), **changes)


def test_a_judged_task_without_a_judge_is_refused_before_any_model_loads(judged_suite, tmp_path):
    with pytest.raises(EcombenchError, match=r"task jq_bc, jq_rlc, jq_sc: graded by a model judge; pass --judge MODEL"):
        run(RunOptions(model="builtin:tiny", tasks=[judged_suite], submissions_dir=tmp_path))


def test_a_judge_without_judged_tasks_is_refused(tmp_path):
    with pytest.raises(EcombenchError, match="--judge: none of the selected tasks is judged"):
        run(RunOptions(model="builtin:tiny", tasks=["starter_category_mc"], submissions_dir=tmp_path, judge=JudgeOptions(model="builtin:tiny")))


def test_verdicts_score_each_item_and_the_record_keeps_simpleqas_rates(judged_suite, tmp_path, monkeypatch):
    """A judge that says A (correct), B (incorrect), C (not attempted), then something unreadable, in item order:
    BC 1 of 2 correct; RLC not attempted; SC unparseable (scored as not correct, counted apart)."""
    from ecombench import submissions

    replies = {}

    def fake_generator(judge, max_gen_toks=judging.JUDGE_MAX_GEN_TOKS):
        def generate(prompts):
            order = ["A", "B", "C", "maybe A?"]  # BC items 1, 2; RLC; SC (tasks run in name order)
            out = [order[len(replies) + i] for i in range(len(prompts))]
            replies.update(dict(zip(prompts, out)))
            return out

        return generate

    monkeypatch.setattr(judging, "generator", fake_generator)
    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    result = run(_options(tmp_path, judged_suite))
    sub = result.submission
    assert {n: t.score for n, t in sub.tasks.items()} == {"jq_bc": 0.5, "jq_rlc": 0.0, "jq_sc": 0.0}
    judge = sub.judge
    assert (judge.judged, judge.calls, judge.cached, judge.template) == (4, 4, 0, "simpleqa_zh_v1")
    assert judge.unparseable == {"jq_sc": 1, "overall": 1}
    # SimpleQA over the 4 pooled: correct 1/4; attempted = all but the one not attempted = 3, so 1/3; F = 2/7
    overall = judge.scores["overall"]
    assert overall["correct"] == pytest.approx(0.25) and overall["correct_given_attempted"] == pytest.approx(1 / 3)
    assert overall["f_score"] == pytest.approx(2 * 0.25 * (1 / 3) / (0.25 + 1 / 3))
    items = submissions.load_items(result.path.parent, sub)
    assert [(i.task, i.verdict, i.judge_reply, i.score) for i in items] == [
        ("jq_bc", "CORRECT", "A", 1.0),
        ("jq_bc", "INCORRECT", "B", 0.0),
        ("jq_rlc", "NOT_ATTEMPTED", "C", 0.0),
        ("jq_sc", "UNPARSEABLE", "maybe A?", 0.0),
    ]
    # The judge saw the question without the few-shot system prompt, the reference, and the model's answer.
    first = next(iter(replies))
    assert "示例牌水杯的主营类目" in first and "杯具" in first and "某牌子的发源地" not in first


@pytest.mark.slow
def test_a_local_judge_grades_every_answer_and_a_second_run_asks_it_nothing(judged_suite, tmp_path, monkeypatch):
    """builtin:tiny judging builtin:tiny: whatever it says is read strictly (its noise is unparseable, counted);
    the second run reads every verdict from the judge cache and scores the same."""
    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    first = run(_options(tmp_path, judged_suite)).submission
    assert first.judge is not None and first.judge.judged == 4 and first.judge.calls == 4 and first.judge.cached == 0
    assert first.judge.model.spec == "builtin:tiny" and first.judge.prompt_tokens > 0 and first.judge.reply_tokens > 0
    parsed = 4 - first.judge.unparseable.get("overall", 0)
    assert sum(int(s["items"]) for k, s in first.judge.scores.items() if k != "overall") == 4 and parsed >= 0
    assert "judge" in first.efficiency.stage_s  # the judge's time apart from the candidate's load and generation
    second = run(_options(tmp_path, judged_suite)).submission
    assert (second.judge.calls, second.judge.cached) == (0, 4)
    assert {n: t.score for n, t in second.tasks.items()} == {n: t.score for n, t in first.tasks.items()}
    assert second.judge.identity == first.judge.identity and second.judge.template_sha256 == first.judge.template_sha256


def _judged_by(sub, spec: str, identity: str):
    from ecombench import submissions

    record = submissions.JudgeRecord(
        model=submissions.ModelIdentity(spec=spec, kind="local", base_model=spec, weights_sha256="w" * 64, dtype="float32"),
        backend="hf",
        identity=identity,
        template="simpleqa_zh_v1",
        template_sha256="t" * 64,
        max_gen_toks=16,
        judged=9,
        calls=9,
        cached=0,
        load_s=1.0,
        grade_s=1.0,
    )
    return sub.model_copy(update={"judge": record})


def test_rows_judged_by_another_judge_are_flagged_and_not_ranked_and_compare_refuses_them():
    import json

    from ecombench.leaderboard.compare import check_judges
    from ecombench.leaderboard.render import render
    from tests.helpers.boards import INDEX, board, build_table, make_submission, uniform

    subs = [
        _judged_by(make_submission("a", uniform(0.4)), "judge-x", "x" * 32),
        _judged_by(make_submission("b", uniform(0.6)), "judge-x", "x" * 32),
        _judged_by(make_submission("c", uniform(0.9)), "judge-y", "y" * 32),  # best, but graded by another judge
    ]
    table = build_table(board(), INDEX, subs)
    rows = [(r["name"], r["rank"], r["flags"]) for r in json.loads(render(table, "json"))["rows"]]
    assert rows == [("b", 1, ""), ("a", 2, ""), ("c", None, "judged by judge-y with template simpleqa_zh_v1 (tttttttt)")]
    assert "judged tasks graded by judge-x with template simpleqa_zh_v1 (tttttttt); rows judged by another judge or template are flagged and not ranked" in (
        table.notes
    )
    check_judges(subs[0], subs[1])  # one judge: compared
    with pytest.raises(EcombenchError, match=r"a \(.*\) was judged by judge-x .* and c \(.*\) by judge-y .*; judged scores compare only under one judge"):
        check_judges(subs[0], subs[2])


def test_a_rubric_task_scores_each_item_the_share_of_its_points_met(tmp_path, monkeypatch):
    """Two items of a rubric-graded task: the first has 2 points (judged A met, B not met: 1/2), the second 1 point
    (A: 1/1); the task scores (0.5 + 1) / 2 = 0.75."""
    from ecombench import submissions
    from ecombench.importers.writer import ImportedSuite
    from ecombench.records import make_record

    source = tmp_path / "rubric.jsonl"
    source.write_text("{}\n", encoding="utf-8")  # the suite records where it came from
    suite = ImportedSuite("rubric", [source])
    rows = [
        ("Describe the bottle's lid.", "A screw lid.", ["names the lid type", "says it is leak-proof"]),
        ("What colour is the mug?", "Blue.", ["names a colour"]),
    ]
    suite.tasks["desc"] = [{**make_record("desc", "generation", "judge", "rubric", q, a), "prompt": q, "rubric": pts} for q, a, pts in rows]
    suite.metadata["desc"] = {"judge": {"template": "rubric_v1"}}
    write_suite(suite, "jr", user_tasks_dir(), force=True)
    asked = []

    def fake_generator(judge, max_gen_toks=judging.JUDGE_MAX_GEN_TOKS):
        def generate(prompts):
            asked.extend(prompts)
            return [
                {"names the lid type": "A", "says it is leak-proof": "B", "names a colour": "A"}[
                    next(p for p in ("names the lid type", "says it is leak-proof", "names a colour") if p in prompt)
                ]
                for prompt in prompts
            ]

        return generate

    monkeypatch.setattr(judging, "generator", fake_generator)
    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    result = run(_options(tmp_path, "jr"))
    assert result.submission.tasks["jr_desc"].score == pytest.approx(0.75) and len(asked) == 3
    assert result.submission.judge.scores["overall"]["rubric_score"] == pytest.approx(0.75)
    items = submissions.load_items(result.path.parent, result.submission)
    assert [(i.verdict, i.score) for i in items] == [("1/2 points met", 0.5), ("1/1 points met", 1.0)]


def test_judge_pairwise_asks_both_orders_and_reports_the_position_bias(tmp_path, monkeypatch):
    """Four questions both runs answered: the judge prefers A in both orders (A better), says 'first' both times (a
    flip: a tie), prefers B in both orders (B better), then says nothing readable: A 1, B 1, tie 1, unparseable 1;
    1 of the 3 read pairs flipped."""
    import json

    from typer.testing import CliRunner

    from ecombench import submissions
    from ecombench.cli import app
    from tests.helpers.boards import make_submission

    folder = tmp_path / "subs"
    for name, tag in (("runa", "from-a"), ("runb", "from-b")):
        sub = make_submission(name, {"starter_category_mc": 0.5})
        task = sub.tasks["starter_category_mc"].model_copy(update={"n": 4})
        sub = sub.model_copy(update={"items_file": f"{name}.items.jsonl", "id": name, "tasks": {"starter_category_mc": task}})
        items = [
            submissions.ItemRecord(
                task="starter_category_mc", doc_id=k, item_hash=f"h{k}", prompt=f"question {k}", target="1", prediction=f"{tag}-{k}", parsed=None, score=0.5
            )
            for k in range(4)
        ]
        submissions.save(folder, sub, items)
    plan = {0: ("A", "B"), 1: ("A", "A"), 2: ("B", "A"), 3: ("x?", "x?")}  # (A shown first, B shown first)

    def fake_generator(judge, max_gen_toks=judging.JUDGE_MAX_GEN_TOKS):
        def generate(prompts):
            out = []
            for p in prompts:
                k = next(k for k in plan if f"question {k}" in p)
                out.append(plan[k][0] if p.index("from-a") < p.index("from-b") else plan[k][1])
            return out

        return generate

    monkeypatch.setattr(judging, "generator", fake_generator)
    monkeypatch.setattr(
        judging, "build", lambda judge, run: judging.Judge(None, type("R", (), {"identity": type("I", (), {"spec": "fake-judge"})()})(), "f" * 32, run, 0.0)
    )
    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    done = CliRunner().invoke(app, ["judge", "pairwise", "runa", "runb", "--judge", "builtin:tiny", "--submissions-dir", str(folder), "--json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert out["wins"] == {"a": 1, "tie": 1, "b": 1, "unparseable": 1} and (out["flipped"], out["read"], out["pairs"]) == (1, 3, 4)
    assert out["position_bias"] == pytest.approx(1 / 3)
