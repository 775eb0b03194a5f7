"""Issue 34.4: a run trained on records that overlap a board's items is flagged there, not ranked, with the reason;
the other rows rank as if it were not there; ``compare`` says so too. Ranks and win rates worked out by hand."""

from __future__ import annotations

import csv
import io
import json

import pytest

from ecombench import submissions
from ecombench.leaderboard import overlap
from ecombench.leaderboard.boards import get_board, implicit_boards
from ecombench.leaderboard.render import render
from ecombench.leaderboard.sitedata import board_payload
from ecombench.leaderboard.store import load_folder
from tests.helpers.boards import INDEX, STARTER, board, build_table, make_lineage, make_submission, uniform

MC, GEN = "starter_category_mc", "starter_title_generation"
NAMES = [t.name for t in STARTER]  # the starter board's 9 tasks

# What `train --allow-contamination` wrote before the lead's keys: 3 records equal to 3 items of MC, all trained on.
OLD_ALLOWED = {"records": 40, "eval_items": 200, "exact": 3, "ngram_13": 3, "eval_tasks_overlapped": {MC: 3}, "decontaminated": 0}


def adapter(name: str, scores: dict[str, float], contamination: dict) -> submissions.Submission:
    lineage = make_lineage([MC], NAMES[1:]).model_copy(update={"contamination": contamination})
    return make_submission(name, scores).model_copy(update={"lineage": lineage})


@pytest.mark.parametrize(
    ("contamination", "expected"),
    [
        (OLD_ALLOWED, {MC: 3}),  # an old record: overlap allowed and trained on
        ({**OLD_ALLOWED, "decontaminated": 3}, {}),  # --decontaminate dropped the overlapping records
        ({"exact": 1, "ngram_13": 0, "eval_tasks_overlapped": {MC: 1}}, {MC: 1}),  # an exact match counts alone; no "decontaminated" key: none
        ({"ngram_13": 0, "exact": 0, "eval_tasks_overlapped": {}}, {}),  # nothing overlapped
        ({"ngram_13": 0}, {}),  # the oldest records: a count only
        ({**OLD_ALLOWED, "trained_overlap": {MC: 2, GEN: 0}}, {MC: 2}),  # the new key wins; a task with 0 items is no overlap
        ({**OLD_ALLOWED, "trained_overlap": {}}, {}),  # new key, nothing trained on (decontaminated)
        ({**OLD_ALLOWED, "trained_overlap": "lots"}, {MC: 3}),  # not a mapping: read as an old record
        ({**OLD_ALLOWED, "eval_tasks_overlapped": {MC: "3"}}, {}),  # no counts to trust
        (None, {}),
    ],
)
def test_trained_overlap_of_new_and_old_records(contamination, expected):
    assert overlap.trained_overlap(contamination) == expected


def test_a_contaminated_run_is_flagged_unranked_and_leaves_the_others_ranks_alone():
    """The issue's case: an adapter trained with --allow-contamination on 3 items of a board task ranked #1/#2, unflagged."""
    subs = [
        make_submission("base", uniform(0.5)),
        make_submission("twin", uniform(0.5)),  # ties base: both rank 1, as without the adapter
        make_submission("low", uniform(0.3)),
        adapter("leaky", uniform(0.9), OLD_ALLOWED),
    ]
    table = build_table(board(), INDEX, subs)
    rows = [(r["name"], r["rank"], r["flags"]) for r in json.loads(render(table, "json"))["rows"]]
    assert rows == [
        ("base", 1, ""),
        ("twin", 1, ""),
        ("low", 3, ""),
        ("leaky", None, f"contaminated: trained on items of {MC} (3 items)"),
    ]
    assert any(n.startswith("contaminated: trained on records that overlap items of this board's tasks") for n in table.notes)


def test_win_rates_are_of_the_clean_rows_only():
    # clean: a beats b on MC and ties the other 8 tasks: (1 + 8 * 0.5) / 9 = 5/9, b 4/9. Were the leaky row (best
    # everywhere) counted, a would win 2.5/9 and b 1.5/9.
    a = make_submission("a", uniform(0.5, **{MC: 0.9}))
    b = make_submission("b", uniform(0.5))
    leaky = adapter("leaky", uniform(1.0), {**OLD_ALLOWED, "trained_overlap": {GEN: 4}})
    frame = build_table(board(ranking="win_rate"), INDEX, [leaky, b, a]).frame
    assert list(frame["name"]) == ["a", "b", "leaky"]
    assert list(frame["win_rate"][:2]) == [pytest.approx(5 / 9), pytest.approx(4 / 9)] and frame["win_rate"].isna().iloc[2]
    assert list(frame["rank"][:2]) == [1, 2] and frame["rank"].isna().iloc[2]
    assert frame.loc[2, "flags"] == f"contaminated: trained on items of {GEN} (4 items)"


def test_a_board_without_the_overlapped_tasks_ranks_the_run_and_a_base_model_is_never_flagged():
    leaky = adapter("leaky", uniform(0.9), {**OLD_ALLOWED, "trained_overlap": {"core_rating_mc": 5}})
    base = make_submission("base", uniform(0.5))
    frame = build_table(board(), INDEX, [base, leaky]).frame
    assert list(zip(frame["name"], frame["rank"], frame["flags"], strict=True)) == [("leaky", 1, ""), ("base", 2, "")]
    decontaminated = adapter("clean", uniform(0.9), {**OLD_ALLOWED, "decontaminated": 3})
    assert list(build_table(board(), INDEX, [base, decontaminated]).frame["rank"]) == [1, 2]


def test_a_one_task_board_flags_only_runs_trained_on_that_task():
    """A task is a board without a file (as each task of an imported suite is)."""
    leaky = adapter("leaky", uniform(0.9), {**OLD_ALLOWED, "trained_overlap": {MC: 2}})
    base = make_submission("base", uniform(0.5))
    on_mc = build_table(get_board(MC, implicit_boards(INDEX)), INDEX, [base, leaky]).frame
    assert list(on_mc["name"]) == ["base", "leaky"] and on_mc["rank"].iloc[0] == 1 and on_mc["rank"].isna().iloc[1]
    assert on_mc.loc[1, "flags"] == f"contaminated: trained on items of {MC} (2 items)"
    on_gen = build_table(get_board(GEN, implicit_boards(INDEX)), INDEX, [base, leaky]).frame
    assert list(zip(on_gen["name"], on_gen["rank"], on_gen["flags"], strict=True)) == [("leaky", 1, ""), ("base", 2, "")]


def test_a_run_not_checked_against_some_board_tasks_keeps_its_rank_with_a_note():
    partly = adapter("partly", uniform(0.9), {**OLD_ALLOWED, "trained_overlap": {}, "checked_tasks": [MC, GEN]})
    full = adapter("full", uniform(0.7), {**OLD_ALLOWED, "trained_overlap": {}, "checked_tasks": NAMES})
    base = make_submission("base", uniform(0.5))
    table = build_table(board(), INDEX, [base, full, partly])
    rows = [(r["name"], r["rank"], r["flags"], r["note"]) for r in json.loads(render(table, "json"))["rows"]]
    assert rows == [("partly", 1, "", "not checked against 7 of the board's 9 tasks"), ("full", 2, "", ""), ("base", 3, "", "")]
    assert any("not checked against N of the board's tasks" in n for n in table.notes)
    # a board whose rows were all checked (or say nothing) has no note column
    assert "note" not in render(build_table(board(), INDEX, [base, full]), "csv").splitlines()[0].split(",")


def test_every_output_carries_the_reason():
    leaky = adapter("leaky", uniform(0.9), {**OLD_ALLOWED, "trained_overlap": {MC: 3, GEN: 1}, "checked_tasks": [MC, GEN]})
    table = build_table(board(), INDEX, [make_submission("base", uniform(0.5)), leaky])
    reason = f"contaminated: trained on items of {MC} (3 items), {GEN} (1 item)"
    last = list(csv.DictReader(io.StringIO(render(table, "csv"))))[-1]
    assert (last["name"], last["rank"], last["flags"], last["note"]) == ("leaky", "", reason, "not checked against 7 of the board's 9 tasks")
    markdown = render(table, "markdown").splitlines()
    leaky_line = next(line for line in markdown if "| leaky |" in line)
    assert leaky_line.startswith("| - | leaky |") and f"| {reason} | not checked against 7 of the board's 9 tasks |" in leaky_line
    payload = board_payload(table, INDEX)  # the report's board page reads this
    assert payload["data"]["flags"] == ["", reason] and payload["data"]["rank"] == [1, None]
    assert payload["data"]["note"] == ["", "not checked against 7 of the board's 9 tasks"] and "note" in payload["columns"]


def test_the_flag_survives_the_folder_index(tmp_path):
    """Through a submissions folder and its index cache, as `ecombench leaderboard` reads it."""
    submissions.save(tmp_path, make_submission("base", uniform(0.5)), [])
    submissions.save(tmp_path, adapter("leaky", uniform(0.9), OLD_ALLOWED), [])
    for _ in range(2):  # cold, then from the index
        from ecombench.leaderboard.table import build_table as build

        frame = build(board(), INDEX, load_folder(tmp_path)).frame
        assert list(zip(frame["name"], frame["flags"], strict=True)) == [("base", ""), ("leaky", f"contaminated: trained on items of {MC} (3 items)")]
        assert frame["rank"].iloc[0] == 1 and frame["rank"].isna().iloc[1]


def test_compare_names_the_overlapped_tasks_and_items():
    leaky = adapter("leaky", uniform(0.9), {**OLD_ALLOWED, "trained_overlap": {MC: 3, "core_rating_mc": 9}, "checked_tasks": [MC, GEN, "core_rating_mc"]})
    base = make_submission("base", uniform(0.5))
    compared = [MC, GEN, "starter_query_ranking"]
    assert overlap.compared(leaky, compared) == {"trained_overlap": {MC: 3}, "not_checked": ["starter_query_ranking"]}
    assert overlap.compared(base, compared) == {"trained_overlap": {}, "not_checked": None}
    assert overlap.lines("B", leaky, compared) == [
        f"contaminated B: leaky ({leaky.id}) was trained on records overlapping items of {MC} (3 items); not a clean measure there",
        "not checked B: leaky's training data was not checked against 1 of the 3 compared tasks",
    ]
    assert overlap.lines("A", base, compared) == []


def test_compare_cli_prints_the_line_and_puts_it_in_json(tmp_path):
    from typer.testing import CliRunner

    from ecombench.cli import app

    base = make_submission("base", uniform(0.5))
    leaky = adapter("leaky", uniform(0.9), OLD_ALLOWED)
    for sub in (base, leaky):
        submissions.save(tmp_path, sub, [])
    args = ["compare", "base", "leaky", "--submissions-dir", str(tmp_path), "--iters", "10"]
    done = CliRunner().invoke(app, [*args, "--format", "json"])
    assert done.exit_code == 0, done.output
    (pair,) = json.loads(done.stdout)
    assert pair["contamination"] == {"a": {"trained_overlap": {}, "not_checked": None}, "b": {"trained_overlap": {MC: 3}, "not_checked": None}}
    done = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert done.exit_code == 0, done.output
    assert f"contaminated B: leaky ({leaky.id}) was trained on records overlapping items of {MC} (3 items)" in done.stdout
    submissions.save(tmp_path, make_submission("twin", uniform(0.5)), [])
    done = CliRunner().invoke(app, ["compare", "base", "twin", "leaky", "--submissions-dir", str(tmp_path), "--iters", "10"], env={"COLUMNS": "250"})
    assert done.exit_code == 0, done.output
    assert f"contaminated C: leaky ({leaky.id}) was trained on records overlapping items of {MC} (3 items)" in done.stdout
    assert "contaminated A" not in done.stdout and "contaminated B" not in done.stdout


def test_a_contaminated_run_does_not_choose_the_shot_count_the_board_ranks():
    # the only 0-shot run is the leaky one: the board ranks the clean 3-shot runs, as it would without it
    def shots(sub, n):
        return sub.model_copy(update={"generation": sub.generation.model_copy(update={"num_fewshot": n})})

    a, b = shots(make_submission("a", uniform(0.6)), 3), shots(make_submission("b", uniform(0.4)), 3)
    leaky = adapter("leaky", uniform(0.9), OLD_ALLOWED)
    frame = build_table(board(), INDEX, [leaky, b, a]).frame
    assert list(zip(frame["name"], frame["flags"], strict=True))[:2] == [("a", ""), ("b", "")] and list(frame["rank"][:2]) == [1, 2]
    assert frame.loc[2, "flags"] == f"contaminated: trained on items of {MC} (3 items); 0-shot"


@pytest.mark.slow
def test_report_board_page_shows_the_flag_and_the_note(tmp_path, browser):
    from tests.helpers.browser import CHROMIUM, names, open_page, report

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    subs = tmp_path / "subs"
    submissions.save(subs, make_submission("base", uniform(0.5)), [])
    submissions.save(subs, adapter("leaky", uniform(0.9), OLD_ALLOWED), [])
    submissions.save(subs, adapter("partly", uniform(0.7), {**OLD_ALLOWED, "trained_overlap": {}, "checked_tasks": [MC]}), [])
    out = tmp_path / "site"
    report(out, subs)
    with browser.page() as page:
        open_page(page, (out / "index.html").as_uri())
        cells = page.evaluate(
            "() => { const cols = [...document.querySelectorAll('#board thead th')].map(th => th.dataset.col);"
            " return [...document.querySelectorAll('#board tbody tr')].map(tr => ({cls: tr.className,"
            " rank: tr.children[cols.indexOf('rank')].innerText, flags: tr.children[cols.indexOf('flags')].innerText,"
            " note: tr.children[cols.indexOf('note')].innerText})); }"
        )
        assert names(page) == ["partly", "base", "leaky"]
        assert [(c["rank"], c["note"]) for c in cells[:2]] == [("1", "not checked against 8 of the board's 9 tasks"), ("2", "")]
        assert cells[2] == {"cls": "flagged", "rank": "-", "flags": f"contaminated: trained on items of {MC} (3 items)", "note": ""}
        assert "contaminated: trained on records that overlap items of this board's tasks" in page.inner_text("#notes")
        page.check("#hide-flagged")
        assert names(page) == ["partly", "base"]
        assert page.errors == []


def test_the_report_page_of_the_run_says_what_it_trained_on():
    from ecombench.leaderboard.sitedata import detail

    settings = dict(detail(adapter("leaky", uniform(0.9), OLD_ALLOWED))["settings"])
    assert settings["contamination"] == f"trained on records leaking 3 item(s) of {MC}"
    settings = dict(detail(adapter("clean", uniform(0.9), {**OLD_ALLOWED, "decontaminated": 3}))["settings"])
    assert settings["contamination"] == "no leak in the training data (3 leaking record(s) dropped by --decontaminate)"
