"""`ecombench leaderboard` on synthetic submissions whose ranking is worked out by hand."""

from __future__ import annotations

import csv
import io
import json
import os

import pandas as pd
import pytest

from ecombench import submissions
from ecombench.leaderboard.boards import Board, get_board
from ecombench.leaderboard.render import render, safe_text
from ecombench.taskindex import build_index, default_roots
from tests.helpers.boards import INDEX, STARTER, board, build_table, make_lineage, make_submission, uniform
from tests.helpers.cli import invoke_ecombench


def test_ranking_by_all_around_with_flags_apart():
    subs = [
        make_submission("low", uniform(0.2)),
        # "high": one multilingual task at 1.0 -> multilingual track (1.0 + 0.5) / 2 = 0.75, others 0.5
        make_submission("high", uniform(0.5, starter_title_translation_de=1.0)),
        make_submission("limited", uniform(0.9), limit=5),
        make_submission("old-data", uniform(0.9), data_sha="f" * 64),
        make_submission("partial", {"starter_category_mc": 1.0}),
    ]
    frame = build_table(board(), INDEX, subs).frame
    assert list(frame["name"][:2]) == ["high", "low"] and list(frame["rank"][:2]) == [1, 2]
    assert frame.loc[0, "all_around"] == pytest.approx((0.5 + 0.5 + 0.5 + 0.75) / 4)
    assert frame.loc[1, "all_around"] == pytest.approx(0.2)
    flagged = dict(zip(frame["name"], frame["flags"], strict=True))
    assert flagged["limited"] == "limit 5" and flagged["old-data"] == "other data/version on 9 task(s)"
    assert flagged["partial"] == "missing 8 of 9 tasks"
    assert frame["rank"][2:].isna().all()
    # 95% interval: tracks of 3, 2, 2, 2 tasks with stderr 0.01 each
    expected = 1.959963984540054 * ((0.01**2 / 3 + 3 * 0.01**2 / 2) ** 0.5) / 4
    assert frame.loc[0, "ci95"] == pytest.approx(expected)


def test_completeness_is_against_the_boards_task_list_not_the_tasks_present():
    # two runs cover 2 of the board's 9 tasks and nothing else is there: neither is complete, neither is ranked
    two = ["starter_category_mc", "starter_title_translation_de"]
    subs = [make_submission("a", {t: 0.9 for t in two}), make_submission("b", {t: 0.5 for t in two})]
    table = build_table(board(), INDEX, subs)
    assert table.tasks == two  # only the tasks someone ran are columns
    assert list(table.frame["flags"]) == ["missing 7 of 9 tasks"] * 2
    assert table.frame["rank"].isna().all()


def test_win_rate_ranking_and_filters():
    a = make_submission("a", uniform(0.5, starter_category_mc=0.9))  # wins one task, ties the rest
    b = make_submission("b", uniform(0.5))
    frame = build_table(board(ranking="win_rate"), INDEX, [b, a]).frame
    # a: 1 win + 8 ties of 9 tasks -> (1 + 8 * 0.5) / 9; b: 8 ties -> 4 / 9
    assert list(frame["name"]) == ["a", "b"]
    assert frame.loc[0, "win_rate"] == pytest.approx(5 / 9) and frame.loc[1, "win_rate"] == pytest.approx(4 / 9)
    other = make_submission("c", uniform(0.99), base="other-base")
    filtered = build_table(board(filters={"base_model": "builtin:tiny"}), INDEX, [a, b, other]).frame
    assert "c" not in set(filtered["name"])


def test_normalised_board_uses_the_stored_baselines():
    core = INDEX.select(["ecombench_core"])
    task = next(t for t in core if t.name == "core_category_mc")
    baseline = task.config["metadata"]["random_baseline"]
    sub = make_submission("x", {})
    sub = sub.model_copy(
        update={
            "tasks": {
                task.name: submissions.TaskResult(
                    track=task.track,
                    task_type=task.task_type,
                    metric=task.metric,
                    n=1,
                    score=baseline,
                    stderr=0.0,
                    version=task.version,
                    data_sha256=task.data_hash(),
                )
            }
        }
    )
    frame = build_table(Board(name="n", tasks=["core_category_mc"], normalize=True), INDEX, [sub]).frame
    assert frame.loc[0, "all_around"] == pytest.approx(0.0)  # chance level is 0


def test_formats_escape_untrusted_names():
    evil = make_submission("<script>alert(1)</script>|\x1b[31mred", uniform(0.3))
    table = build_table(board(), INDEX, [evil])
    assert "<script>" not in render(table, "html") and "&lt;script&gt;" in render(table, "html")
    assert "\\|" in render(table, "markdown") and "\x1b" not in render(table, "markdown")
    rows = list(csv.DictReader(io.StringIO(render(table, "csv"))))
    assert rows[0]["name"] == evil.name and float(rows[0]["all_around"]) == pytest.approx(0.3)
    assert json.loads(render(table, "json"))["rows"][0]["rank"] == 1
    assert safe_text("a\x1b[31mb\x00") == "a\\x1b[31mb\\x00"


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("a|b", "a\\|b"),
    ],
)
def test_markdown_shows_untrusted_names_as_literal_text(name, cell):
    """Issue 15.10: no raw HTML reaches a rendered Markdown file, and a pipe does not split the cell."""
    table = build_table(board(), INDEX, [make_submission(name, uniform(0.3))])
    text = render(table, "markdown")
    row = text.splitlines()[2]
    assert row.startswith(f"| 1 | {cell} | {cell} | builtin:tiny | ")  # name, then model (the spec is the name here)
    assert "<" not in text and ">" not in text
    assert row.count(" | ") == text.splitlines()[0].count(" | ")  # as many cells as the header


def test_markdown_cell_defuses_links_code_emphasis_and_line_breaks():
    from ecombench.leaderboard.render import markdown_cell

    assert markdown_cell("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"
    assert markdown_cell("![i](http://x/t.png)") == "!\\[i\\](http://x/t.png)"
    assert markdown_cell("`code` *em* _em_ ~~s~~") == "\\`code\\` \\*em\\* \\_em\\_ \\~\\~s\\~\\~"
    assert markdown_cell("a\nb\r\nc\x1b") == "a\\\\x0ab\\\\x0d\\\\x0ac\\\\x1b"  # one line, the escapes shown
    assert markdown_cell("&amp; \\|") == "&amp;amp; \\\\\\|"
    assert markdown_cell("core_category_mc") == "core_category_mc"  # "_" inside a word is left alone


def test_csv_defuses_formulas_in_text_but_keeps_negative_numbers():
    """Issue 15.10: text cells a spreadsheet would run get a leading quote; numbers stay numbers."""
    core = INDEX.select(["ecombench_core"])
    task = next(t for t in core if t.name == "core_category_mc")
    result = submissions.TaskResult(
        track=task.track, task_type=task.task_type, metric=task.metric, n=1, score=0.0, stderr=0.0, version=task.version, data_sha256=task.data_hash()
    )
    formula = '=HYPERLINK("http://x","y")'
    subs = [make_submission(name, {}).model_copy(update={"tasks": {task.name: result}}) for name in (formula, "-1+1", "plain")]
    table = build_table(Board(name="n", tasks=["core_category_mc"], normalize=True), INDEX, subs)
    rows = {r["submission"]: r for r in csv.DictReader(io.StringIO(render(table, "csv")))}
    by_name = {sub.name: rows[sub.id] for sub in subs}
    assert by_name[formula]["name"] == "'" + formula and by_name[formula]["model"] == "'" + formula
    assert by_name["-1+1"]["name"] == "'-1+1" and by_name["plain"]["name"] == "plain"
    for row in rows.values():  # below chance: a negative normalised score, written as a plain number
        assert row["all_around"].startswith("-") and float(row["all_around"]) < 0
        assert row["track:" + task.track] == row["all_around"]


def _cli(*args):
    return invoke_ecombench(*args, env={"COLUMNS": "250"})


@pytest.mark.slow
def test_cli_skips_corrupt_files_reports_duplicates_and_never_deletes(tmp_path):
    good = make_submission("good", uniform(0.4))
    submissions.save(tmp_path, good, [])
    (tmp_path / "broken.json").write_text('{"schema_version": 1, "id": ')
    (tmp_path / "copy.json").write_text((tmp_path / f"{good.id}.json").read_text())
    done = _cli("leaderboard", "--submissions-dir", str(tmp_path), "--board", "ecombench_starter", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert "skipped " in done.stderr and "broken.json" in done.stderr
    assert f"duplicate submission id {good.id}" in done.stderr
    assert [r["name"] for r in json.loads(done.stdout)["rows"]] == ["good"]
    assert (tmp_path / "broken.json").exists()


@pytest.mark.slow
def test_cli_empty_folder_and_unknown_board(tmp_path):
    done = _cli("leaderboard", "--submissions-dir", str(tmp_path))
    assert done.returncode == 2 and "no submissions yet; make a first one with: ecombench run --model builtin:tiny" in done.stderr
    submissions.save(tmp_path, make_submission("x", uniform(0.1)), [])
    done = _cli("leaderboard", "--submissions-dir", str(tmp_path), "--board", "ecombench_startr")
    assert done.returncode == 2 and "did you mean 'ecombench_starter'" in done.stderr


def test_an_imported_suite_gets_a_default_board():
    chosen = get_board("ecombench_starter_multilingual", list(INDEX.groups))
    assert chosen.tasks == ["ecombench_starter_multilingual"]


@pytest.mark.slow
def test_cli_writes_the_output_file_and_markdown_by_default_format(tmp_path):
    submissions.save(tmp_path, make_submission("m", uniform(0.6)), [])
    out = tmp_path / "board.md"
    done = _cli("leaderboard", "--submissions-dir", str(tmp_path), "--board", "ecombench_starter", "--output", str(out), "--by", "task")
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.startswith("| rank | name |") and "task:starter_query_ranking" in text and "| 1 | m |" in text


def test_the_index_cache_follows_file_changes(tmp_path):
    import time

    from ecombench.leaderboard.store import load_folder

    a = make_submission("first", uniform(0.1))
    submissions.save(tmp_path, a, [])
    assert list(load_folder(tmp_path).meta["name"]) == ["first"]
    time.sleep(0.01)
    renamed = a.model_copy(update={"name": "renamed-and-longer"})
    submissions.save(tmp_path, renamed, [])
    (tmp_path / "late.json").write_text("{}")
    loaded = load_folder(tmp_path)
    assert list(loaded.meta["name"]) == ["renamed-and-longer"]
    assert any("late.json" in w for w in loaded.warnings)


def test_a_record_rewritten_with_the_same_size_and_mtime_shows_its_new_name(tmp_path):
    """Issue 15.11: the index is keyed by the file's content, not by its size and modification time."""
    from ecombench.leaderboard.store import load_folder

    path = submissions.save(tmp_path, make_submission("old-name", uniform(0.1)), [])
    assert list(load_folder(tmp_path).meta["name"]) == ["old-name"]
    assert list(load_folder(tmp_path).meta["name"]) == ["old-name"]  # the warm path: the cached tables
    before = os.stat(path)
    text = path.read_text()
    assert text.count('"name": "old-name"') == 1
    path.write_text(text.replace('"name": "old-name"', '"name": "new-name"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert list(load_folder(tmp_path).meta["name"]) == ["new-name"]
    assert list(load_folder(tmp_path).meta["name"]) == ["new-name"]


def test_a_record_whose_id_or_items_file_would_escape_the_folder_is_skipped(tmp_path):
    from ecombench.leaderboard.store import load_folder

    good = make_submission("good", uniform(0.4))
    submissions.save(tmp_path, good, [])
    data = json.loads((tmp_path / f"{good.id}.json").read_text())
    (tmp_path / "evil.json").write_text(json.dumps({**data, "id": "../../evil", "items_file": "../../../etc/passwd"}))
    loaded = load_folder(tmp_path)
    assert list(loaded.meta["name"]) == ["good"]
    assert any("evil.json: field 'id'" in w for w in loaded.warnings)


def test_json_of_a_board_with_unranked_rows():
    table = build_table(board(), INDEX, [make_submission("ranked", uniform(0.4)), make_submission("limited", uniform(0.9), limit=2)])
    rows = json.loads(render(table, "json"))["rows"]
    assert [(r["name"], r["rank"]) for r in rows] == [("ranked", 1), ("limited", None)]


def test_trained_models_show_lora_rank_and_held_out_mean():
    names = [t.name for t in STARTER]
    held_in = names[:3]
    lineage = make_lineage(held_in, names[3:])
    # 0.9 on the three trained tasks, 0.3 on the six it never saw
    trained = make_submission("tiny-lora", uniform(0.3, **{t: 0.9 for t in held_in})).model_copy(update={"lineage": lineage})
    base = make_submission("tiny", uniform(0.4))
    table = build_table(board(), INDEX, [trained, base])
    rows = {r["name"]: r for r in json.loads(render(table, "json"))["rows"]}
    assert rows["tiny-lora"]["lora_rank"] == 16 and rows["tiny-lora"]["held_out"] == pytest.approx(0.3)
    assert rows["tiny"]["lora_rank"] is None and rows["tiny"]["held_out"] is None
    assert "| lora_rank | held_out |" in render(table, "markdown")
    # a board of base models only keeps its old columns
    assert "lora_rank" not in render(build_table(board(), INDEX, [base]), "csv")


def test_report_page_of_a_trained_model_shows_its_lineage():
    from ecombench.leaderboard.report import _submission_page

    names = [t.name for t in STARTER]
    lineage = make_lineage(["<script>x</script>", names[0]], names[1:])
    page = _submission_page(make_submission("tiny-lora", uniform(0.5)).model_copy(update={"lineage": lineage}))
    assert "lora rank 16, alpha 32, 10 steps" in page
    assert f"{names[0]} (held in)" in page and f"{names[1]} (held in)" not in page
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt; (10)" in page


def test_report_page_says_how_the_answers_were_generated():
    from ecombench.leaderboard.report import _submission_page

    sub = make_submission("m", uniform(0.5))
    vllm = sub.generation.model_copy(update={"backend": "vllm", "batch_size": "auto", "tensor_parallel": 4, "data_parallel": 2})
    hf = sub.generation.model_copy(update={"processes": 8, "batch_size": "auto:4"})
    assert "vllm, tensor parallel 4 x 2 replicas" in _submission_page(sub.model_copy(update={"generation": vllm}))
    assert "hf, 8 processes, batch size auto:4" in _submission_page(sub.model_copy(update={"generation": hf}))
    assert "hf, 1 process, batch size 1" in _submission_page(sub)


@pytest.mark.parametrize(("field", "value"), [("all_around", "Infinity"), ("all_around", "NaN"), ("all_around", "41666.8"), ("task", "1e6"), ("track", "-0.5")])
@pytest.mark.slow
def test_impossible_scores_are_refused_not_ranked(tmp_path, field, value):
    """Issue 15.6: a submission holding Infinity, NaN or a score outside [0, 1] is skipped with its file and field named."""
    good = make_submission("good", uniform(0.4))
    submissions.save(tmp_path, good, [])
    forged = {**json.loads((tmp_path / f"{good.id}.json").read_text()), "id": "forged", "name": "forged", "items_file": "forged.items.jsonl"}
    if field == "all_around":
        forged["all_around"] = "@@"
    elif field == "task":
        forged["tasks"][next(iter(forged["tasks"]))]["score"] = "@@"
    else:
        forged["tracks"] = {"concept_understanding": "@@"}
    (tmp_path / "forged.json").write_text(json.dumps(forged).replace('"@@"', value))  # Python's json reads Infinity and NaN
    done = _cli("leaderboard", "--submissions-dir", str(tmp_path), "--board", "ecombench_starter", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [r["name"] for r in json.loads(done.stdout)["rows"]] == ["good"]  # and the JSON stays strict: no Infinity token
    assert "Infinity" not in done.stdout and "NaN" not in done.stdout
    assert "forged.json" in done.stderr
    assert any(why in done.stderr for why in ("less than or equal to 1", "greater than or equal to 0", "finite number"))


# Issue 14.1: with no --board, the board the submissions cover. Candidates in preference order
# (board files, groups, tasks of no group); scores: (submission, task) rows.
CANDIDATES = {"core": ["c1", "c2"], "suite": ["s1", "s2", "s3"], "suite_x": ["s1"], "other": ["o1", "o2", "o3"], "lone": ["l1"]}


@pytest.mark.parametrize(
    ("ran", "board_", "line"),
    [
        # every submission has a task of the default board: it, and nothing to say
        ({"A": ["c1"], "B": ["c1", "c2"]}, "core", ""),
        # the default board while any submission has one of its tasks; the rest are pointed to
        ({"A": ["c1"], "B": ["s1"]}, "core", "1 of 2 submissions have no task of board 'core'; see them with --board suite (1 submission)"),
        # no default: the board most submissions have a task of; suite_x is part of suite, so not offered
        (
            {"A": ["s1"], "B": ["s2"], "C": ["o1"]},
            "suite",
            "no submission has a task of the default board 'core'; showing board 'suite' (2 of 3 submissions, --board suite); "
            "other boards: --board other (1 submission)",
        ),
        # a tie on submissions: the board with more tasks (suite, 3 tasks, over lone, 1 task)
        (
            {"A": ["s1", "l1"]},
            "suite",
            "no submission has a task of the default board 'core'; showing board 'suite' (1 of 1 submissions, --board suite); "
            "other boards: --board lone (1 submission)",
        ),
        # a tie on submissions and tasks: the earlier candidate (suite before other)
        (
            {"A": ["s1", "o1"]},
            "suite",
            "no submission has a task of the default board 'core'; showing board 'suite' (1 of 1 submissions, --board suite); "
            "other boards: --board other (1 submission)",
        ),
        # a new task in no group is a board of its own
        ({"A": ["l1"]}, "lone", "no submission has a task of the default board 'core'; showing board 'lone' (1 of 1 submissions, --board lone)"),
    ],
)
def test_pick_board_when_none_is_named(ran, board_, line):
    from ecombench.leaderboard.boards import coverage, pick_board

    scores = pd.DataFrame([(s, t) for s, tasks in ran.items() for t in tasks], columns=["submission", "task"])
    assert pick_board(coverage(CANDIDATES, scores), total=len(ran), default="core") == (board_, line)


def test_coverage_counts_submissions_and_marks_boards_inside_others():
    from ecombench.leaderboard.boards import coverage

    scores = pd.DataFrame([("A", "s1"), ("A", "s2"), ("B", "s1"), ("C", "o2")], columns=["submission", "task"])
    cover = coverage(CANDIDATES, scores)
    assert cover.to_dict(orient="records") == [
        {"board": "suite", "submissions": 2, "tasks": 3, "part_of": ""},
        {"board": "suite_x", "submissions": 2, "tasks": 1, "part_of": "suite"},
        {"board": "other", "submissions": 1, "tasks": 3, "part_of": ""},
    ]


@pytest.mark.slow
def test_cli_with_no_board_shows_the_board_the_submissions_share(tmp_path):
    """Issue 14.1: a folder without ecombench-core runs shows their board and names its --board value."""
    for name in ("a", "b"):
        submissions.save(tmp_path, make_submission(name, uniform(0.4)), [])
    done = _cli("leaderboard", "--submissions-dir", str(tmp_path), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["board"]["name"] == "ecombench_starter"
    assert "showing board 'ecombench_starter' (2 of 2 submissions, --board ecombench_starter)" in done.stderr
    named = _cli("leaderboard", "--submissions-dir", str(tmp_path), "--board", "ecombench_core")
    assert named.returncode == 2
    assert "has a task of board 'ecombench_core' (ecombench_core); boards they cover: --board ecombench_starter (2 submissions)" in named.stderr


def test_reference_rows_do_not_choose_the_board(tmp_path):
    """With no --board, users' runs choose it: beside an ecombench-core reference row, one starter run shows the
    starter board, counted as 1 of 1 runs (reference rows are on every bundled board)."""
    import shutil
    from pathlib import Path

    from ecombench.leaderboard.choose import board_table
    from ecombench.leaderboard.store import load_folder

    for suffix in (".json", ".items.jsonl"):
        shutil.copy(Path(__file__).resolve().parent.parent / "submissions" / f"reference-ecombench_core-random{suffix}", tmp_path)
    submissions.save(tmp_path, make_submission("mine", uniform(0.4)), [])
    said: list[str] = []
    table = board_table(None, build_index(default_roots()), load_folder(tmp_path), tmp_path, say=said.append)
    assert table.board.name == "ecombench_starter"
    assert said == [
        "no submission has a task of the default board 'ecombench_core'; showing board 'ecombench_starter' (1 of 1 submissions, --board ecombench_starter)"
    ]


def _task_result(task, score: float) -> submissions.TaskResult:
    return submissions.TaskResult(
        track=task.track, task_type=task.task_type, metric=task.metric, n=10, score=score, stderr=0.0, version=task.version, data_sha256=task.data_hash()
    )


@pytest.mark.parametrize(
    ("name", "tasks"),
    [
        ("starter_category_mc", ["starter_category_mc"]),  # a task
        ("ecombench_starter_multilingual", ["starter_title_translation_de", "starter_title_translation_ja"]),  # a group
        ("multilingual", ["starter_title_translation_de", "starter_title_translation_ja"]),  # a track
    ],
)
def test_any_task_group_or_track_is_a_board(name, tasks):
    """Issue 14.2: no board file needed; the implicit board aggregates like the suites."""
    from ecombench.leaderboard.boards import implicit_boards

    chosen = get_board(name, implicit_boards(INDEX))
    assert chosen.tasks == [name] and not chosen.normalize and chosen.ranking == "all_around"
    table = build_table(chosen, INDEX, [make_submission("m", uniform(0.3, starter_category_mc=0.6, starter_title_translation_de=0.8))])
    assert sorted(table.tasks) == sorted(tasks)
    expected = {"starter_category_mc": 0.6}.get(name, (0.8 + 0.3) / 2)  # one track: All-Around = the track = mean of its tasks
    assert table.frame.loc[0, "all_around"] == pytest.approx(expected)


def test_a_group_board_is_the_mean_of_its_track_means():
    # ecombench_starter: concept_understanding 3 tasks, the other tracks 2 each
    chosen = get_board("ecombench_starter", [])  # the board file
    implicit = get_board("ecombench_starter_concept_understanding", list(INDEX.groups))
    assert chosen.name == "ecombench_starter" and implicit.description.startswith("default board of")
    scores = uniform(0.2, starter_category_mc=0.8)
    frame = build_table(Board(name="g", tasks=["ecombench_starter"]), INDEX, [make_submission("m", scores)]).frame
    assert frame.loc[0, "all_around"] == pytest.approx(((0.8 + 0.2 + 0.2) / 3 + 0.2 * 3) / 4)


@pytest.mark.slow
def test_cli_a_new_task_is_a_board_without_a_file(tmp_path):
    """Issue 14.2: `leaderboard --board product_mc` for a user task, and picked when it is all there is."""
    home = tmp_path / "home"
    folder = home / "tasks" / "product_mc"
    folder.mkdir(parents=True)
    (folder / "product_mc.jsonl").write_text('{"input_field": "q", "output_field": 0}\n')
    (folder / "product_mc.yaml").write_text(
        "task: product_mc\ncustom_dataset: !function ecombench.hooks.load_dataset\ndataset_kwargs:\n  data_files: product_mc.jsonl\n"
        "test_split: test\noutput_type: generate_until\ndoc_to_text: input_field\n"
        "metadata: {track: concept_understanding, task_type: multiple-choice, metric: accuracy, version: 1, description: d}\n"
    )
    env = {"ECOMBENCH_HOME": str(home)}
    index = build_index([*default_roots(), home / "tasks"])
    task = index.tasks["product_mc"]
    subs = tmp_path / "subs"
    for name, score in (("low", 0.2), ("high", 0.7)):
        submissions.save(subs, make_submission(name, {}).model_copy(update={"tasks": {"product_mc": _task_result(task, score)}}), [])
    named = _cli_env(env, "leaderboard", "--submissions-dir", str(subs), "--board", "product_mc", "--format", "json")
    assert named.returncode == 0, named.stderr
    rows = json.loads(named.stdout)["rows"]
    assert [(r["name"], r["rank"], r["all_around"]) for r in rows] == [("high", 1, 0.7), ("low", 2, 0.2)]
    picked = _cli_env(env, "leaderboard", "--submissions-dir", str(subs), "--format", "json")
    assert picked.returncode == 0 and json.loads(picked.stdout)["board"]["name"] == "product_mc"
    assert "--board product_mc" in picked.stderr


def _cli_env(env, *args):
    return invoke_ecombench(*args, env={"COLUMNS": "250", **env})


def test_normalised_board_explains_itself_and_names_the_unnormalised_tasks():
    """Issue 14.4: the formula under the table, and which tasks are left at 100 × score."""
    core = {t.name: t for t in INDEX.select(["ecombench_core"])}
    no_baseline = [
        n
        for n, t in core.items()
        if not isinstance(t.config["metadata"].get("random_baseline"), (int, float)) or t.config["metadata"]["random_baseline"] >= 0.95
    ]
    sub = make_submission("x", {}).model_copy(update={"tasks": {n: _task_result(t, 0.5) for n, t in core.items()}})
    table = build_table(Board(name="n", tasks=["ecombench_core"], normalize=True), INDEX, [sub])
    formula = "100 × (score − random baseline) / (1 − random baseline)"
    assert any(formula in note and "baseline of 0.95 or more" in note for note in table.notes)
    (note,) = [note for note in table.notes if formula in note]
    assert note.endswith(f"(here: {', '.join(no_baseline)})" if no_baseline else "100 × score")
    assert formula in render(table, "markdown").split("\n\n", 1)[1]  # after the table
    assert any(formula in note for note in json.loads(render(table, "json"))["notes"])
    plain = build_table(board(), INDEX, [make_submission("m", uniform(0.3))])
    assert not any(formula in note for note in plain.notes) and "(1, 1, 3)" in plain.notes[0]


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # (name, All-Around) -> (name, rank) in listed order: ties on the shown value share the rank
        ([("b", 0.40001), ("a", 0.40004), ("c", 0.3)], [("a", 1), ("b", 1), ("c", 3)]),  # both show 0.4000; listed by All-Around
        ([("b", 0.4), ("a", 0.4), ("c", 0.5)], [("c", 1), ("a", 2), ("b", 2)]),  # exact tie: listed by name
        ([("a", 0.40005), ("b", 0.4), ("c", 0.4)], [("a", 1), ("b", 2), ("c", 2)]),  # 0.4001 (rounded up) vs 0.4000
    ],
)
def test_ties_share_a_competition_rank(scores, expected):
    """Issue 14.4, documented in the README: rank = competition ranking on the value as shown."""
    subs = [make_submission(name, uniform(value)) for name, value in scores]
    frame = build_table(board(), INDEX, subs).frame
    assert list(zip(frame["name"], frame["rank"], strict=True)) == expected


def test_equal_win_rates_tie_at_rank_one_whatever_their_all_around():
    # a wins category_mc, b wins attribute_ner, they tie elsewhere: win rate 0.5 each, both rank 1
    a = make_submission("a", uniform(0.5, starter_category_mc=0.9))
    b = make_submission("b", uniform(0.5, starter_attribute_ner=0.6))
    frame = build_table(board(ranking="win_rate"), INDEX, [b, a]).frame
    assert list(zip(frame["name"], frame["rank"], frame["win_rate"], strict=True)) == [("a", 1, 0.5), ("b", 1, 0.5)]


def test_the_source_column_says_where_each_row_came_from():
    from ecombench.leaderboard.boards import Board

    subs = [make_submission("ran", uniform(0.6)), make_submission("served", uniform(0.5)), make_submission("scored", uniform(0.4))]
    subs[1] = subs[1].model_copy(update={"model": subs[1].model.model_copy(update={"kind": "api"})})
    subs[2] = subs[2].model_copy(update={"model": subs[2].model.model_copy(update={"kind": "predictions"})})
    frame = build_table(Board(name="b", tasks=["ecombench_starter"]), INDEX, subs).frame
    assert dict(zip(frame["name"], frame["source"], strict=True)) == {"ran": "run", "served": "run (server)", "scored": "predictions"}
    assert list(frame["rank"]) == [1, 2, 3]  # the source does not unrank a row


def test_terminal_board_at_100_columns_shows_rank_and_every_score_whole():
    from rich.console import Console

    from ecombench.leaderboard.render import rich_table

    subs = [
        make_submission("a-model-with-a-rather-long-descriptive-name-v2", uniform(0.1234), base="some-org/some-base-model-7b"),
        make_submission("b", uniform(0.5678)),
    ]
    table = build_table(board(), INDEX, subs)
    console = Console(width=100, record=True, color_system=None)
    console.print(rich_table(table, console.width))
    out = console.export_text()
    assert max(len(line) for line in out.splitlines()) <= 100
    header = next(line for line in out.splitlines() if "rank" in line)
    assert header.index("rank") < header.index("name") < header.index("around")  # who is who, then the scores (issue 38)
    rows = [line for line in out.splitlines() if line.startswith("│") and ("0.5678" in line or "0.1234" in line)]
    assert [r.split("│")[1].strip() for r in rows] == ["1", "2"]
    assert "a-model-with-a-rather-long-descriptive-name-v2" in rows[1]  # whole, on its row
    # All-Around and the 2 tracks that fit beside the long name, none cut to 0.1…; the other 2 are named under the table
    assert rows[0].count("0.5678") == 3 and rows[1].count("0.1234") == 3 and "…" not in out
    assert "left out at this width: date, base, source, ci95, user, multilingual" in " ".join(out.split())
