"""`ecombench compare`: paired items by content hash, significance after Holm, flipped items."""

from __future__ import annotations

import json

import pytest

from ecombench import submissions
from ecombench.errors import EcombenchError
from ecombench.leaderboard.compare import compare, find, task_json
from tests.helpers.boards import MC, STARTER, items_by_task, make_submission, uniform
from tests.helpers.cli import invoke_ecombench

GEN = "starter_title_generation"
STARTER_NAMES = [t.name for t in STARTER]


@pytest.fixture
def folder(tmp_path):
    # MC: A right on 20 of 100, B on 80 (60 flips up) -> clearly better; GEN: 1 item differs by 0.1
    a_scores = {MC: [1.0] * 20 + [0.0] * 80, GEN: [0.5] * 100}
    b_scores = {MC: [1.0] * 80 + [0.0] * 20, GEN: [0.5] * 99 + [0.6]}
    a = make_submission("model-a", uniform(0.3, **{MC: 0.2, GEN: 0.5}))
    b = make_submission("model-b", uniform(0.3, **{MC: 0.8, GEN: 0.501}))
    submissions.save(tmp_path, a, items_by_task(a_scores))
    submissions.save(tmp_path, b, items_by_task(b_scores, reverse=True))  # pairing must not depend on order
    return tmp_path, a, b


def test_compare_marks_the_real_difference_only(folder):
    path, a, b = folder
    result = compare(a, b, path, iters=2000)
    by_task = {d.task: d for d in result.tasks}
    assert by_task[MC].delta == pytest.approx(0.6) and by_task[MC].n_paired == 100 and by_task[MC].significant
    assert by_task[GEN].n_paired == 100 and not by_task[GEN].significant
    # same raw output: MC items 0-19 ("p" in both) and 80-99 ("x" in both); every GEN item says "p"
    assert (by_task[MC].same_answers, by_task[GEN].same_answers) == (40, 100)
    assert by_task[MC].p_adjusted == pytest.approx(min(1.0, 2 * by_task[MC].p_value), abs=1e-12)  # Holm: 2 tasks with items
    flips = [f for f in result.flips if f.task == MC]
    assert len(flips) == 60 and all(f.score_a == 0.0 and f.score_b == 1.0 for f in flips)
    # tasks without items (the other starter tasks) still get deltas, with no p-value
    assert by_task["starter_query_ranking"].p_value is None and by_task["starter_query_ranking"].delta == 0.0


@pytest.mark.parametrize(("flipped", "significant"), [(8, False), (12, True)])
def test_one_way_flips_in_one_task_of_nine_are_tested_exactly_and_corrected_by_holm(tmp_path, flipped, significant):
    """Issue 36: 8 items of one task differ, all wrong -> right: the bootstrap said p about 0 (Holm 0.0336 with
    24 tasks); McNemar's exact test gives 2 / 2^8, and Holm over the 9 tasks with items 9 times that. A real
    effect, 12 items wrong -> right and none back, stays significant: 9 * 2 / 2^12."""
    a_scores = {t: [1.0] * 30 + [0.0] * 30 for t in STARTER_NAMES}
    b_scores = {t: list(v) for t, v in a_scores.items()}
    b_scores[MC] = [1.0] * (30 + flipped) + [0.0] * (30 - flipped)
    a = make_submission("model-a", uniform(0.5))
    b = make_submission("model-b", uniform(0.5, **{MC: (30 + flipped) / 60}))
    submissions.save(tmp_path, a, items_by_task(a_scores))
    submissions.save(tmp_path, b, items_by_task(b_scores))
    (d,) = [d for d in compare(a, b, tmp_path).tasks if d.task == MC]
    assert d.test is not None and (d.test.test, d.test.differing) == ("mcnemar-exact", flipped)
    assert d.p_value == pytest.approx(2 / 2**flipped, rel=1e-12) and d.p_adjusted == pytest.approx(9 * 2 / 2**flipped, rel=1e-12)
    assert d.significant is significant
    # its interval: Clopper-Pearson on `flipped` of `flipped` up (lower 0.025^(1/k)), times flipped / 60
    assert task_json(d)["ci95"] == pytest.approx([flipped / 60 * (2 * 0.025 ** (1 / flipped) - 1), flipped / 60], abs=1e-9)


def test_find_by_name_id_prefix_and_suggestions(folder):
    _, a, b = folder
    subs = [a, b]
    assert find(subs, "model-b") == b and find(subs, a.id[:-2]) == a
    with pytest.raises(EcombenchError, match="did you mean 'model-a'"):
        find(subs, "model-aa")


@pytest.mark.slow
def test_cli_json_and_items(folder):
    path, _a, _b = folder
    env = {"COLUMNS": "200"}
    done = invoke_ecombench("compare", "model-a", "model-b", "--submissions-dir", str(path), "--format", "json", "--iters", "1000", env=env)
    assert done.returncode == 0, done.stderr
    (payload,) = json.loads(done.stdout)
    assert payload["tasks"][MC]["significant"] is True and payload["tasks"][MC]["same_answers"] == 40
    # MC: 60 of 100 differ, all up: McNemar, p = 2 / 2^60; GEN: one item differs (by 0.1), both of its sign
    # patterns are as extreme: p = 1, and 100 items give the normal interval 0.001 +- 1.96 * sd / 10
    assert payload["tasks"][MC]["test"] == "mcnemar-exact" and payload["tasks"][MC]["p"] == pytest.approx(2 / 2**60)
    gen = payload["tasks"][GEN]
    assert (gen["test"], gen["differing"], gen["p"], gen["p_mc_error"]) == ("sign-flip-exact", 1, 1.0, None)
    sd = (((0.1 - 0.001) ** 2 + 99 * 0.001**2) / 99) ** 0.5
    assert gen["ci95"] == pytest.approx([0.001 - 1.959964 * sd / 10, 0.001 + 1.959964 * sd / 10], abs=1e-6) and gen["ci95_note"] == ""
    assert payload["flipped_items"] == 60  # a 0.5 -> 0.6 change is not a flip
    shown = invoke_ecombench("compare", "model-a", "model-b", "--submissions-dir", str(path), "--items", "--iters", "500", env=env)
    assert shown.returncode == 0 and "A (0.00): x" in shown.stdout and "B (1.00): p" in shown.stdout


def _run(name: str, tasks: list[str], day: int):
    from datetime import UTC, datetime

    return make_submission(name, {t: 0.5 for t in tasks}, created=datetime(2026, 11, day, tzinfo=UTC))


@pytest.mark.parametrize(
    ("a_runs", "b_runs", "offered"),
    [
        # the newest 'tiny' ran GEN only; the older one ran MC like 'other': offered by id
        ([[GEN], [MC]], [[MC]], [("a1", "b0", 1)]),
        # the best offer first: most shared tasks, then the newest
        ([[GEN], [MC], [MC, "starter_query_ranking"]], [[MC, "starter_query_ranking"]], [("a2", "b0", 2), ("a1", "b0", 1)]),
        # the newest 'other' shares nothing with the newest 'tiny', an older 'other' does
        ([[GEN]], [[MC], [GEN]], [("a0", "b1", 1)]),
        # no run of either name shares a task: nothing to offer
        ([[GEN], [GEN]], [[MC]], []),
    ],
)
def test_runs_with_no_common_task_offer_the_runs_that_have_one(a_runs, b_runs, offered):
    """Issue 14.3: a name matching several runs says which, and a failed pair names the pairs that work."""
    from ecombench.leaderboard.compare import check_pair, resolve

    # run i of a name is i days older than run 0 (the newest, the one a name picks)
    a = [_run("tiny", tasks, 20 - i) for i, tasks in enumerate(a_runs)]
    b = [_run("other", tasks, 10 - i) for i, tasks in enumerate(b_runs)]
    ids = {**{f"a{i}": s.id for i, s in enumerate(a)}, **{f"b{i}": s.id for i, s in enumerate(b)}}
    ra, rb = resolve([*b, *a], "tiny"), resolve([*a, *b], "other")
    assert ra.chosen.id == ids["a0"] and [s.id for s in ra.matches] == [s.id for s in a]
    if len(a) > 1:
        assert ra.note() == f"'tiny' matches {len(a)} runs (newest first: {', '.join(s.id for s in a)}); using {ids['a0']}"
    else:
        assert ra.note() == ""
    with pytest.raises(EcombenchError) as caught:
        check_pair(ra, rb)
    message = str(caught.value)
    assert message.startswith(f"tiny ({ids['a0']}) and other ({ids['b0']}) have no task in common")
    shown = [f"ecombench compare {ids[x]} {ids[y]} ({n} shared task{'s' if n != 1 else ''})" for x, y, n in offered]
    if offered:
        assert message.endswith("; runs of these names that do: " + "; ".join(shown))
    else:
        assert "ecombench compare" not in message and message.endswith("nor do the other runs of these names")


@pytest.mark.slow
def test_cli_names_the_ids_a_name_resolved_to_and_the_pairs_that_share_tasks(tmp_path):
    old, new, other = _run("builtin-tiny", [MC], 2), _run("builtin-tiny", [GEN], 3), _run("other", [MC], 1)
    for sub in (old, new, other):
        submissions.save(tmp_path, sub, [])
    done = invoke_ecombench("compare", "builtin-tiny", "other", "--submissions-dir", str(tmp_path), env={"COLUMNS": "200"})
    assert done.returncode == 2
    assert f"'builtin-tiny' matches 2 runs (newest first: {new.id}, {old.id}); using {new.id}" in done.stderr
    assert f"have no task in common; runs of these names that do: ecombench compare {old.id} {other.id} (1 shared task)" in done.stderr
    ok = invoke_ecombench("compare", old.id, "other", "--submissions-dir", str(tmp_path), "--format", "json", "--iters", "100", env={"COLUMNS": "200"})
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["a"] == old.id and "matches" not in ok.stderr


def test_an_ambiguous_id_prefix_says_so(folder):
    _, a, b = folder
    prefix = next(a.id[:n] for n in range(len(a.id)) if b.id.startswith(a.id[:n]) and not b.id.startswith(a.id[: n + 1]))
    with pytest.raises(EcombenchError, match=f"id prefix '{prefix}' matches 2 submissions"):
        find([a, b], prefix)


def test_three_runs_make_one_table_with_all_around_and_tracks_first(folder):
    from ecombench.leaderboard.compare import wide_rows

    path, a, b = folder
    c = make_submission("model-c", uniform(0.3, **{MC: 0.1}))
    submissions.save(path, c, items_by_task({MC: [1.0] * 10 + [0.0] * 90}))
    own = {"all_around": 0.31, "tracks": {"concept_understanding": 0.25, "multilingual": 0.3}}
    a, b, c = (s.model_copy(update={**own, "all_around": v}) for s, v in ((a, 0.31), (b, 0.36), (c, 0.30)))
    header, rows = wide_rows([compare(a, b, path, iters=500), compare(a, c, path, iters=500)])
    assert header == ["task", "A", "B", "\u0394B", "C", "\u0394C"]  # the names are in the legend above the table
    assert rows[0] == ["All-Around", "0.3100", "0.3600", "+0.0500", "0.3000", "-0.0100"]
    assert [r[0] for r in rows[1:3]] == ["track: concept_understanding", "track: multilingual"]
    mc = next(r for r in rows if r[0] == MC)
    assert mc == ["starter_category_mc", "0.2000", "0.8000", "+0.6000*", "0.1000", "-0.1000*"]  # * significant after Holm
    assert len(rows) == 3 + len(a.tasks)
