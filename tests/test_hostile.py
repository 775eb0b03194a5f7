"""Issue 15's reproductions: crafted files, names and kills end in correct behaviour or one line and exit 2."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecombench import io, submissions
from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite, write_suite
from ecombench.records import iter_jsonl
from ecombench.taskindex import build_index
from tests.helpers.cli import invoke_ecombench
from tests.helpers.sources import long_answer_task, record, write_jsonl

DEAD_PID = 2**22 + 12345  # above Linux's default pid_max: no process has it


def _cli(*args: str, home: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return invoke_ecombench(*args, env={"COLUMNS": "200", **({"ECOMBENCH_HOME": str(home)} if home is not None else {})}, cwd=cwd)


def _one_line_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("ecombench: warning:")]
    assert len(lines) == 1 and lines[0].startswith("ecombench: error:"), done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# --- 8: tracebacks where one line and exit 2 are promised ---------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "needle"),
    [
        ('{"index": 0, "prediction": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"index": ' + "9" * 5000 + ', "prediction": "1"}', "4300 digits"),
    ],
)
def test_score_refuses_json_python_cannot_read_in_one_line(tmp_path, prediction, needle):
    data = write_jsonl(tmp_path / "data.jsonl", [record("t", "ranking", "ndcg", [1, 2])])
    (tmp_path / "p.jsonl").write_text(prediction + "\n")
    _one_line_error(_cli("score", "--data", str(data), "--predictions", str(tmp_path / "p.jsonl")), "p.jsonl:1")


def test_jsonl_import_with_a_broken_list_target_is_one_line(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "p", "target": "[1,2"}])
    done = _cli("import", "jsonl", str(src), "--name", "j", "--type", "retrieval", home=tmp_path / "home")
    _one_line_error(done, "in.jsonl:1", "field 'target'", "not valid JSON")
    assert not (tmp_path / "home" / "tasks" / "j").exists()


def _user_task(folder: Path, name: str = "mytask", data: bytes = b"") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        f"task: {name}\ncustom_dataset: !function ecombench.hooks.load_dataset\ndataset_kwargs:\n  data_files: {name}.jsonl\n"
        "test_split: test\noutput_type: generate_until\ndoc_to_text: input_field\n"
        "metadata: {track: x, task_type: generation, metric: rougel, version: 1, description: d}\n"
    )
    (folder / f"{name}.jsonl").write_bytes(data)


def test_tasks_lists_a_task_whose_data_is_not_utf8(tmp_path):
    _user_task(tmp_path / "ut", data=b'\xff\xfe{"a": 1}\n\n\xff\n')
    done = _cli("tasks", "--task-path", str(tmp_path / "ut"))
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "mytask" in line)
    assert " 2 " in line  # two non-blank lines, counted without decoding


def test_group_member_that_is_not_a_name_is_one_line_naming_the_file(tmp_path):
    _user_task(tmp_path / "ug", data=b"{}\n")
    (tmp_path / "ug" / "_g.yaml").write_text("group: g\ntask: [mytask, [x]]\n")
    _one_line_error(_cli("tasks", "--task-path", str(tmp_path / "ug")), "_g.yaml", "group 'g'", "must be a task or group name")


@pytest.mark.slow
def test_a_broken_imported_suite_is_skipped_and_never_blocks_other_commands(tmp_path):
    home = tmp_path / "home"
    _user_task(home / "tasks" / "bad", data=b"{}\n")
    (home / "tasks" / "bad" / "_g.yaml").write_text("group: g\ntask: [mytask, [x]]\n")
    (home / "tasks" / "worse").mkdir()
    (home / "tasks" / "worse" / "x.yaml").write_text("task: [\n")
    listed = _cli("tasks", home=home)
    assert listed.returncode == 0 and "starter_category_mc" in listed.stdout and "mytask" not in listed.stdout
    assert "skipped task folder 'bad' of " in listed.stderr and "skipped task folder 'worse' of " in listed.stderr  # imported or hand-written
    board = _cli("leaderboard", "--submissions-dir", str(tmp_path / "none"), home=home)
    assert "skipped task folder 'bad' of " in board.stderr and "no submissions folder" in board.stderr  # its own error, not the suite's
    asked = _cli("run", "--model", "builtin:tiny", "--tasks", "mytask", home=home)
    _one_line_error(asked, "unknown task, group or track 'mytask'", "skipped task folders of ", ": 'bad'")


@pytest.mark.slow
def test_compare_with_a_missing_or_cut_items_file_is_one_line(tmp_path):
    from tests.helpers.boards import MC, items_by_task, make_submission, uniform

    a = make_submission("model-a", uniform(0.3, **{MC: 0.2}))
    b = make_submission("model-b", uniform(0.3, **{MC: 0.8}))
    submissions.save(tmp_path, a, items_by_task({MC: [1.0] * a.tasks[MC].n}))
    submissions.save(tmp_path, b, items_by_task({MC: [0.0] * b.tasks[MC].n}))
    items_b = tmp_path / b.items_file
    lines = items_b.read_text().splitlines(keepends=True)
    items_b.write_text("".join(lines[:-1]))  # cut at a line boundary
    _one_line_error(_cli("compare", "model-a", "model-b", "--submissions-dir", str(tmp_path)), b.items_file, "cut short")
    items_b.write_text("".join(lines)[:-20])  # cut inside a line
    _one_line_error(_cli("compare", "model-a", "model-b", "--submissions-dir", str(tmp_path)), b.items_file, "not valid JSON")
    items_b.unlink()
    _one_line_error(_cli("compare", "model-a", "model-b", "--submissions-dir", str(tmp_path)), "is missing")


@pytest.mark.slow
def test_model_folders_that_cannot_load_are_one_line_before_anything_loads(tmp_path):
    (tmp_path / "cfgonly").mkdir()
    (tmp_path / "cfgonly" / "config.json").write_text('{"model_type": "llama"}')
    _one_line_error(_cli("run", "--model", str(tmp_path / "cfgonly"), "--tasks", "starter_category_mc"), "has a config.json but no weights")
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "config.json").write_text('{"model_type": "mything", "auto_map": {"AutoModelForCausalLM": "m.M"}}')
    (custom / "model.safetensors").write_bytes(b"")
    (custom / "m.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    _one_line_error(_cli("run", "--model", str(custom), "--tasks", "starter_category_mc"), "auto_map", "--trust-remote-code")
    _one_line_error(_cli("train", "--model", str(custom), "--max-steps", "1", "--no-eval", "--output", str(tmp_path / "a")), "auto_map")
    assert not (tmp_path / "ran").exists()


@pytest.mark.slow
def test_device_this_torch_cannot_use_is_one_line():
    import torch

    _one_line_error(_cli("run", "--model", "builtin:tiny", "--device", "gpu7", "--tasks", "starter_category_mc"), "not a device name")
    if torch.version.cuda is None:
        _one_line_error(_cli("run", "--model", "builtin:tiny", "--device", "cuda", "--tasks", "starter_category_mc"), "built without CUDA")


# --- 3, 4, 5: imports written safely, collisions refused, --force swapped whole -----------------------


def _suite(rows: list[dict]) -> ImportedSuite:
    suite = ImportedSuite("shopbench", [])
    for row in rows:
        suite.tasks.setdefault(row["task_name"], []).append(row)
    return suite


def test_control_characters_in_names_import_to_yaml_that_reads_back(tmp_path):
    rows = [record("t\u0080x", "generation", "rougel", "a b", track="tr\u202e\x1b[2J\n: {", prompt=f"p{i}") for i in range(3)]
    dest = write_suite(_suite(rows), "s", tmp_path)
    index = build_index([dest])
    (task,) = index.tasks.values()
    assert task.name == "s_t_x" and task.track == "tr\u202e\x1b[2J\n: {" and task.item_count() == 3
    assert index.leaf_tasks("s") == ["s_t_x"]


@pytest.mark.parametrize(("a", "b", "what"), [("a-b", "a_b", "tasks"), ("A b", "a.b", "tasks")])
def test_task_names_that_collide_are_refused_naming_both(tmp_path, a, b, what):
    rows = [record(a, "generation", "rougel", "x", prompt="p1"), record(b, "generation", "rougel", "x", prompt="p2")]
    with pytest.raises(EcombenchError, match=f"{what} '{a}' and '{b}' both become|{what} '{b}' and '{a}' both become"):
        write_suite(_suite(rows), "coll", tmp_path)
    assert not any(tmp_path.iterdir())


def test_tracks_that_collide_are_refused_and_a_track_named_like_a_task_gets_its_own_group(tmp_path):
    rows = [record("q", "generation", "rougel", "x", track="a-b", prompt="p1"), record("r", "generation", "rougel", "x", track="a_b", prompt="p2")]
    with pytest.raises(EcombenchError, match="tracks 'a-b' and 'a_b' both become 'a_b'"):
        write_suite(_suite(rows), "coll", tmp_path)
    rows = [record("x", "generation", "rougel", "y", track="x", prompt="p1"), record("y", "generation", "rougel", "y", track="x", prompt="p2")]
    index = build_index([write_suite(_suite(rows), "s", tmp_path)])
    assert index.leaf_tasks("s") == ["s_x", "s_y"] and index.groups["s_x_track"].members == ("s_x", "s_y")


def test_an_import_may_not_reuse_a_name_of_another_suite(tmp_path):
    rows = [record("category_mc", "generation", "rougel", "y", prompt="p1")]
    with pytest.raises(EcombenchError, match="'starter_category_mc' is already defined in .*category_mc.yaml"):
        write_suite(_suite(rows), "starter", tmp_path)


def test_force_replaces_a_suite_so_one_whole_suite_is_always_in_place(tmp_path, monkeypatch):
    old = [record("old", "generation", "rougel", "y", prompt="p1")]
    new = [record("new", "generation", "rougel", "y", prompt="p1"), record("new", "generation", "rougel", "y", prompt="p2")]
    write_suite(_suite(old), "s", tmp_path)
    write_suite(_suite(new), "s", tmp_path, force=True)  # renameat2(RENAME_EXCHANGE) on Linux
    assert [t.name for t in build_index([tmp_path / "s"]).tasks.values()] == ["s_new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]

    # Where no exchange exists, the old suite is renamed aside first; a kill between the two renames ...
    monkeypatch.setattr(io, "exchange", lambda a, b: False)
    real_rename, calls = os.rename, []

    def killed_after_first(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies here
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        write_suite(_suite(old), "s", tmp_path, force=True)
    monkeypatch.setattr(os, "rename", real_rename)
    (backup,) = [p for p in tmp_path.iterdir() if p.name.startswith(".s-old-")]
    os.rename(backup, backup.with_name(backup.name.replace(f"-{os.getpid()}-", f"-{DEAD_PID}-")))  # its writer is gone
    # ... is undone by the next import of that name: the old suite is back whole, and then replaced.
    with pytest.raises(EcombenchError, match="already exists"):
        write_suite(_suite(old), "s", tmp_path)
    assert [t.name for t in build_index([tmp_path / "s"]).tasks.values()] == ["s_new"]
    write_suite(_suite(old), "s", tmp_path, force=True)
    assert [t.name for t in build_index([tmp_path / "s"]).tasks.values()] == ["s_old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


# --- 12: leftovers of killed writers ---------------------------------------------------------------------


def test_leftovers_of_killed_writers_are_swept_and_live_ones_kept(tmp_path):
    host = io.owner_tag().split("-")[0]
    dead = tmp_path / f".tiny-{host}-{DEAD_PID}-abc"
    live = tmp_path / f".tiny-{io.owner_tag()}def"
    unknown_old, unknown_new = tmp_path / ".tiny-zz1", tmp_path / ".tiny-zz2"
    for folder in (dead, live, unknown_old, unknown_new):
        (folder / "random").mkdir(parents=True)
    day_ago = time.time() - io.STALE_AFTER_S - 60
    os.utime(unknown_old, (day_ago, day_ago))
    made = io.staging_dir(".tiny-", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, unknown_new.name, made.name])

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / f".x.json.{host}-{DEAD_PID}-q1.tmp").write_text("{")
    (subs / f".x.json.{io.owner_tag()}q2.tmp").write_text("{")
    orphan, fresh = subs / "old-run.items.jsonl", subs / "new-run.items.jsonl"
    orphan.write_text("{}\n")
    fresh.write_text("{}\n")
    hour_ago = time.time() - submissions.ORPHAN_AFTER_S - 60
    os.utime(orphan, (hour_ago, hour_ago))
    removed = submissions.sweep_leftovers(subs)
    assert sorted(p.name for p in removed) == sorted([f".x.json.{host}-{DEAD_PID}-q1.tmp", "old-run.items.jsonl"])
    assert sorted(p.name for p in subs.iterdir()) == sorted([f".x.json.{io.owner_tag()}q2.tmp", "new-run.items.jsonl"])


# --- property: arbitrary names and rows never crash an import and never lose a row -----------------------

NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(NAMES, NAMES, NAMES), min_size=1, max_size=6))
def test_imports_of_arbitrary_names_keep_every_row_or_fail_in_one_clear_error(tmp_path_factory, rows):
    parent = tmp_path_factory.mktemp("prop")
    records = [record(task, "generation", "rougel", truth or "x", track=track, prompt=f"{i}:{truth}") for i, (task, track, truth) in enumerate(rows)]
    try:
        dest = write_suite(_suite(records), "p", parent)
    except EcombenchError as exc:
        assert "both become" in str(exc) and "\n" not in str(exc).replace(repr("\n")[1:-1], "")
        assert not any(parent.iterdir())  # nothing half-written
        return
    index = build_index([dest])
    assert sum(t.item_count() for t in index.tasks.values()) == len(records)
    # read as every reader does (iter_jsonl: lines end at \n only; U+0085 or U+2028 inside a string are not breaks)
    written = [obj for t in index.tasks.values() for _, obj in iter_jsonl(t.data_file)]
    assert sorted(r["input_field"] for r in written) == sorted(r["input_field"] for r in records)
    assert {r["task_name"] for r in written} == {r["task_name"] for r in records}
    assert set(index.leaf_tasks("p")) == set(index.tasks)


@settings(deadline=None)
@given(NAMES)
def test_submission_names_always_give_a_safe_file_name(name):
    slug = submissions.slug(name)
    assert slug and not slug.startswith((".", "-")) and len(slug) <= 60
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in slug)
    assert Path(slug).name == slug


@settings(deadline=None)
@given(NAMES)
def test_any_name_renders_inert_in_every_output_format(name):
    from ecombench.leaderboard.render import csv_cell, markdown_cell
    from ecombench.terminal import safe_text

    shown = safe_text(name)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in shown)
    cell = markdown_cell(name)
    assert "<" not in cell and ">" not in cell and "\n" not in cell
    assert all(cell[i - 1] == "\\" for i, c in enumerate(cell) if c == "|")  # never a bare column break
    guarded = csv_cell(name)
    assert not str(guarded).startswith(("=", "+", "-", "@", "\t", "\r"))


# --- issue 37, B11: max_gen_toks at or above the model's length -------------------------------------------


def test_a_task_asking_more_new_tokens_than_the_model_holds_is_one_line_before_generation(tmp_path):
    from ecombench.run import check_room

    yaml = long_answer_task(tmp_path / "long", 5000)
    task = build_index([tmp_path / "long"]).tasks["long_answers"]
    with pytest.raises(EcombenchError) as caught:
        check_room([task], "generate", 2048)
    assert str(caught.value) == (
        f"{yaml}: task long_answers asks for up to 5000 new tokens (max_gen_toks), but the model's maximum length is 2048 tokens, "
        "prompt and answer together; lower max_gen_toks, or pass --model-args max_length=N for a model that takes more"
    )
    check_room([task], "generate", 5001)  # room for a one-token prompt: lm-eval cuts prompts from the left


@pytest.mark.slow
def test_run_with_such_a_task_is_one_line_and_exit_2(tmp_path):
    long_answer_task(tmp_path / "long", 2048)  # builtin:tiny holds 2048 positions
    done = _cli(
        "run",
        "--model",
        "builtin:tiny",
        "--task-path",
        str(tmp_path / "long"),
        "--trust-tasks",
        "--tasks",
        "long_answers",
        "--submissions-dir",
        str(tmp_path / "subs"),
    )
    errors = [line for line in done.stderr.splitlines() if not line.startswith("ecombench: building builtin:tiny")]  # a fresh cache's notice
    assert done.returncode == 2 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert errors[0].startswith("ecombench: error: ") and "task long_answers asks for up to 2048 new tokens (max_gen_toks)" in errors[0]
    assert not (tmp_path / "subs").exists() or not list((tmp_path / "subs").glob("*.json"))


# --- issue 37, B12: /dev/zero, FIFOs and endless lines where a JSON Lines file is expected --------------------


def test_jsonl_readers_refuse_what_is_not_a_regular_file_before_reading(tmp_path):
    from ecombench.io import read_text

    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)  # opened for reading, it would wait for a writer forever
    for path in (Path("/dev/zero"), fifo, tmp_path):
        with pytest.raises(EcombenchError, match=rf"^{re.escape(str(path))}: not a regular file; it is not read$"):
            list(iter_jsonl(path))
        with pytest.raises(EcombenchError, match=rf"^{re.escape(str(path))}: not a regular file; it is not read$"):
            read_text(path)


def test_a_jsonl_line_over_the_cap_is_one_error_naming_the_line(tmp_path, monkeypatch):
    path = tmp_path / "preds.jsonl"
    path.write_text('{"index": 0, "prediction": "a"}\n{"index": 1, "prediction": "' + "b" * (2 << 20) + '"}\n')
    monkeypatch.setattr(io, "MAX_LINE_BYTES", 1 << 20)
    rows = iter_jsonl(path)
    assert next(rows) == (1, {"index": 0, "prediction": "a"})
    with pytest.raises(EcombenchError, match=rf"^{re.escape(str(path))}:2: a line over 1 MiB; it is not read$"):
        next(rows)


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["score", "--data", "/dev/zero", "--predictions", "{preds}"],
        ["score", "--data", "{data}", "--predictions", "/dev/zero"],
        ["import", "jsonl", "/dev/zero", "--name", "x", "--type", "retrieval"],
        ["import", "shopbench", "/dev/zero", "--name", "x"],
        ["import", "ecinstruct", "/dev/zero", "--name", "x"],
        ["import", "oamine", "/dev/zero", "--name", "x"],
    ],
    ids=["score-data", "score-predictions", "jsonl", "shopbench", "ecinstruct", "oamine"],
)
def test_dev_zero_as_an_input_file_is_one_line(tmp_path, args):
    data = write_jsonl(tmp_path / "data.jsonl", [record("t", "multiple-choice", "accuracy", 1, prompt="Q1")])
    preds = write_jsonl(tmp_path / "preds.jsonl", [{"index": 0, "prediction": "1"}])
    done = _cli(*[a.format(data=data, preds=preds) for a in args], home=tmp_path / "home")
    _one_line_error(done, "/dev/zero: not a regular file; it is not read")
    assert not (tmp_path / "home").exists()
