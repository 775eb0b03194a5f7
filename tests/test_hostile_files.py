"""Records and items files that are not what they say: links to devices, FIFOs, files elsewhere, huge files
(issue 26, item 9; issue 37, B2), impossible numbers (issue 37, B1)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest

from ecombench import submissions
from ecombench.errors import EcombenchError
from tests.helpers.boards import item_records, make_submission, uniform


@pytest.fixture
def saved(tmp_path):
    sub = make_submission("linked", uniform(0.5))
    submissions.save(tmp_path, sub, item_records([1.0] * 3, "1"))
    path = tmp_path / sub.items_file
    path.unlink()
    return tmp_path, sub, path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda p, d: p.symlink_to("/dev/zero"), "is a link out of", id="dev-zero"),
        pytest.param(lambda p, d: os.mkfifo(p), "is not a regular file", id="fifo"),
        pytest.param(
            lambda p, d: (d.parent / "elsewhere.jsonl").write_text("") or p.symlink_to(d.parent / "elsewhere.jsonl"), "is a link out of", id="elsewhere"
        ),
    ],
)
def test_items_files_that_are_no_regular_file_inside_the_folder_are_never_read(saved, make, message):
    folder, sub, path = saved
    make(path, folder)
    with pytest.raises(EcombenchError, match=message):
        submissions.load_items(folder, sub)


def test_an_items_file_over_the_cap_is_one_error(saved, monkeypatch):
    folder, sub, path = saved
    path.write_text("x" * 100)
    monkeypatch.setattr(submissions, "MAX_ITEMS_BYTES", 50)
    with pytest.raises(EcombenchError, match=r"over the 0 MiB limit"):
        submissions.load_items(folder, sub)


@pytest.mark.slow
def test_report_skips_a_fifo_items_file_with_a_warning(saved):
    folder, sub, path = saved
    os.mkfifo(path)
    done = subprocess.run(
        [sys.executable, "-m", "ecombench", "report", "--output", str(folder / "site"), "--board", "ecombench_starter", "--submissions-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"no items in the report for {sub.id}" in done.stderr and "is not a regular file" in done.stderr


# 13. The orphan sweep never removes an items file a record names.


def test_the_sweep_keeps_an_items_file_that_a_renamed_record_names(tmp_path):
    import time

    sub = make_submission("renamed", uniform(0.5))
    submissions.save(tmp_path, sub, item_records([1.0] * 10, "1"))
    (tmp_path / f"{sub.id}.json").rename(tmp_path / "my-best-run.json")  # renamed by hand
    orphan = tmp_path / "killed-writer.items.jsonl"
    orphan.write_text("{}\n")
    hour_ago = time.time() - submissions.ORPHAN_AFTER_S - 60
    for path in (orphan, tmp_path / sub.items_file):
        os.utime(path, (hour_ago, hour_ago))
    removed = submissions.sweep_leftovers(tmp_path)
    assert [p.name for p in removed] == ["killed-writer.items.jsonl"]
    assert len(submissions.load_items(tmp_path, submissions.load(tmp_path / "my-best-run.json"))) == 10


# 14. import --force replaces only what an import wrote.


def test_import_force_never_replaces_a_folder_an_import_did_not_write(tmp_path):
    from ecombench.importers import IMPORTERS
    from ecombench.importers.writer import MARKER, write_suite
    from tests.helpers.sources import shopbench_file

    suite = IMPORTERS["shopbench"](shopbench_file(tmp_path))
    home = tmp_path / "home"
    (home / "thesis").mkdir(parents=True)
    (home / "thesis" / "chapter1.tex").write_text("years of work")
    with pytest.raises(EcombenchError, match=rf"thesis holds no suite written by ecombench import \(no {MARKER}\); --force replaces only those"):
        write_suite(suite, "thesis", home, force=True)
    assert (home / "thesis" / "chapter1.tex").read_text() == "years of work"
    dest = write_suite(suite, "kdd", home)
    assert (dest / MARKER).is_file()
    (dest / MARKER).unlink()  # a suite written before markers: only task files and _group_all.yaml
    assert write_suite(suite, "kdd", home, force=True) == dest and (dest / MARKER).is_file()


# 15. A planted cache pickle is never run, and never a traceback.


def test_a_planted_cache_pickle_is_not_run_and_the_cache_still_works(tmp_path):
    import pickle

    from ecombench.io import read_cache_pickle
    from ecombench.leaderboard.store import _index_path, load_folder

    folder = tmp_path / "subs"
    submissions.save(folder, make_submission("a", uniform(0.5)), [])
    first = load_folder(folder)
    assert read_cache_pickle(_index_path(folder))["files"]  # a real index is read back (the cache still saves time)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    _index_path(folder).write_bytes(pickle.dumps({"version": 1, "x": Evil()}))
    again = load_folder(folder)
    assert not marker.exists()
    assert list(again.meta["name"]) == list(first.meta["name"]) == ["a"]
    _index_path(folder).write_bytes(pickle.dumps(os.system))  # a global of a module that is not allowed
    assert read_cache_pickle(_index_path(folder)) is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "linked"], "--output linked: a link; the report replaces the folder whole"),
        (["--output", "site", "--serve", "--port", "70000"], "--port 70000: use 1 to 65535, or 0 for any free one"),
    ],
)
def test_report_output_link_and_bad_port_are_one_line(tmp_path, args, message):
    from tests.helpers.cli import invoke_ecombench

    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    submissions.save(tmp_path / "subs", make_submission("a", uniform(0.5)), [])
    done = invoke_ecombench("report", "--board", "ecombench_starter", "--submissions-dir", "subs", *args, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"ecombench: error: {message}")


# Issue 37, B1: non-finite or absurd numbers in the efficiency record.


def _efficient(folder, name, score):
    sub = make_submission(name, uniform(score))
    sub.efficiency = submissions.Efficiency(
        stage_s={"generate": 2.0}, generated_tokens=100, generated_tokens_per_s=50.0, peak_host_mb=900.0, device="cpu", threads=2
    )
    return submissions.save(folder, sub, [])


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        pytest.param(("peak_host_mb",), float("inf"), "efficiency.peak_host_mb", id="inf-host"),
        pytest.param(("peak_device_mb",), 1e300, "efficiency.peak_device_mb", id="huge-device"),
        pytest.param(("generated_tokens_per_s",), float("nan"), "efficiency.generated_tokens_per_s", id="nan-rate"),
        pytest.param(("stage_s", "generate"), -1.0, "efficiency.stage_s.generate", id="negative-seconds"),
        pytest.param(("prompt_tokens",), 10**400, "efficiency.prompt_tokens", id="400-digit-count"),
    ],
)
def test_an_efficiency_number_that_is_not_finite_and_bounded_skips_the_record_naming_its_field(tmp_path, field, value, named):
    import json

    from ecombench.leaderboard.store import load_folder

    _efficient(tmp_path, "good", 0.5)
    bad = _efficient(tmp_path, "bad", 0.9)
    data = json.loads(bad.read_text())
    target = data["efficiency"]
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = value
    bad.write_text(json.dumps(data))  # Python writes Infinity and NaN, as a hand edit might
    loaded = load_folder(tmp_path, use_index=False)
    assert list(loaded.meta["name"]) == ["good"]
    assert len(loaded.warnings) == 1 and loaded.warnings[0].startswith(f"skipped {bad}: field '{named}': ")


def test_leaderboard_and_report_with_efficiency_keep_to_json_and_show_the_good_runs(tmp_path):
    import json

    from typer.testing import CliRunner

    from ecombench.cli import app

    _efficient(tmp_path, "good", 0.5)
    bad = _efficient(tmp_path, "bad", 0.9)
    data = json.loads(bad.read_text())
    data["efficiency"]["peak_host_mb"] = float("inf")
    data["efficiency"]["peak_device_mb"] = 1e300
    bad.write_text(json.dumps(data))

    def strict(token):
        raise AssertionError(f"{token} is not JSON")

    board = CliRunner().invoke(app, ["leaderboard", "--submissions-dir", str(tmp_path), "--board", "ecombench_starter", "--efficiency", "--format", "json"])
    assert board.exit_code == 0, board.output
    rows = json.loads(board.stdout, parse_constant=strict)["rows"]
    assert [(r["name"], r["efficiency:peak_host_mb"]) for r in rows] == [("good", 900.0)]
    assert f"skipped {bad}: field 'efficiency.peak_host_mb'" in board.stderr
    report = CliRunner().invoke(
        app, ["report", "--output", str(tmp_path / "site"), "--submissions-dir", str(tmp_path), "--board", "ecombench_starter", "--efficiency"]
    )
    assert report.exit_code == 0, report.output
    assert (tmp_path / "site" / "index.html").is_file() and f"skipped {bad}" in report.stderr


# Issue 37, B2: record files get the items files' guard (a regular file inside the folder, under a cap).


class _Hung(Exception):  # not an OSError, which the code under test might catch
    pass


@contextmanager
def _within(seconds: int):
    """Fails the test instead of hanging it (a FIFO opened for reading waits for a writer)."""

    def hung(signum, frame):
        raise _Hung(f"still reading after {seconds} s")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _linked_elsewhere(path, elsewhere):
    elsewhere.write_text("{}")
    path.symlink_to(elsewhere)


_RECORDS = [
    pytest.param(lambda p, d: p.symlink_to("/dev/zero"), "record is a link out of", id="dev-zero"),
    pytest.param(lambda p, d: os.mkfifo(p), "record is not a regular file", id="fifo"),
    pytest.param(lambda p, d: _linked_elsewhere(p, d.parent / "elsewhere.json"), "record is a link out of", id="elsewhere"),
    pytest.param(lambda p, d: p.write_text(" " * (1 << 20) + "{}"), "record is 1 MiB, over the 0 MiB limit", id="over-cap"),
]


def _planted_beside_a_good_one(tmp_path, monkeypatch, make):
    """A submissions folder with one good submission (10 items) and a planted record ``make`` makes; records capped at 100 kB."""
    folder = tmp_path / "subs"
    good = make_submission("good", uniform(0.5))
    submissions.save(folder, good, item_records([1.0] * 10, "1"))
    planted = folder / "20990101-000000-x-aaaaaa.json"
    make(planted, folder)
    monkeypatch.setattr(submissions, "MAX_RECORD_BYTES", 100_000)
    return folder, good, planted


@pytest.mark.parametrize(("make", "message"), _RECORDS)
def test_record_files_that_are_no_regular_file_inside_the_folder_are_never_read(tmp_path, monkeypatch, make, message):
    from ecombench.leaderboard.store import load_folder, load_submissions

    folder, good, planted = _planted_beside_a_good_one(tmp_path, monkeypatch, make)
    with _within(20):
        with pytest.raises(EcombenchError, match=message):
            submissions.load(planted)
        assert [s.id for s in load_submissions(folder)] == [good.id]  # submissions list, show, rm; compare
        loaded = load_folder(folder, use_index=False)
        assert list(loaded.meta["submission"]) == [good.id]
        assert len(loaded.warnings) == 1 and loaded.warnings[0].startswith(f"skipped {planted}: ") and message in loaded.warnings[0]


@pytest.mark.parametrize(("make", "message"), _RECORDS)
def test_the_orphan_sweep_never_reads_a_record_that_is_no_regular_file_and_loses_nothing(tmp_path, monkeypatch, make, message):
    import time

    folder, good, _ = _planted_beside_a_good_one(tmp_path, monkeypatch, make)
    orphan = folder / "killed-writer.items.jsonl"
    orphan.write_text("{}\n")
    hour_ago = time.time() - submissions.ORPHAN_AFTER_S - 60
    os.utime(orphan, (hour_ago, hour_ago))
    with _within(20):
        assert submissions.sweep_leftovers(folder) == []  # the unread record might name the orphan: kept
        submissions.save(folder, make_submission("next", uniform(0.6)), [])  # score --save and run sweep first
    assert orphan.exists() and len(submissions.load_items(folder, good)) == 10


def test_submissions_list_and_compare_skip_a_record_linked_to_dev_zero(tmp_path):
    from typer.testing import CliRunner

    from ecombench.cli import app

    a, b = make_submission("a", uniform(0.5)), make_submission("b", uniform(0.6))
    for sub in (a, b):
        submissions.save(tmp_path, sub, item_records([1.0] * 10, "1"))
    (tmp_path / "20990101-000000-x-aaaaaa.json").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "x.json")
    with _within(60):
        listed = CliRunner().invoke(app, ["submissions", "list", "--json", "--submissions-dir", str(tmp_path)])
        compared = CliRunner().invoke(app, ["compare", "a", "b", "--submissions-dir", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    assert sorted(json.loads(line)["name"] for line in listed.stdout.splitlines()) == ["a", "b"]
    assert compared.exit_code == 0, compared.output


# Issue 37, items file cost (round 3, #9): an items file under the cap cost about 4x its size to read.


def test_reading_an_items_file_costs_its_items_not_the_file_four_times_over(tmp_path):
    import tracemalloc

    sub = make_submission("big", uniform(0.5))
    prompt, answer = "q" * 200_000, "a" * 50_000
    submissions.save(tmp_path, sub, [it.model_copy(update={"prompt": prompt, "prediction": answer}) for it in item_records([1.0] * 40, "1")])
    size = (tmp_path / sub.items_file).stat().st_size  # 10 MB: 40 items of 250,000 characters
    tracemalloc.start()
    try:
        got = submissions.load_items(tmp_path, sub)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(len(i.prompt), len(i.prediction)) for i in got] == [(200_000, 50_000)] * 40
    assert peak < 1.5 * size  # the items themselves are 1x; whole-file reading peaked at 4.0x


def test_an_items_line_over_the_cap_is_one_error_naming_the_line(tmp_path, monkeypatch):
    from ecombench import io

    sub = make_submission("long", uniform(0.5))
    submissions.save(
        tmp_path, sub, [it.model_copy(update={"prompt": "q" * (3 << 20) if i == 1 else "q"}) for i, it in enumerate(item_records([1.0] * 10, "1"))]
    )
    monkeypatch.setattr(io, "MAX_LINE_BYTES", 2 << 20)
    with pytest.raises(EcombenchError, match=f"^{re.escape(str(tmp_path / sub.items_file))}:2: a line over 2 MiB; it is not read$"):
        submissions.load_items(tmp_path, sub)


# Issue 37, B9: removing a submission never deletes an items file that another record still names.


def test_rm_keeps_an_items_file_that_a_copy_of_the_record_names_and_the_last_one_takes_it(tmp_path):
    from typer.testing import CliRunner

    from ecombench.cli import app

    orig = make_submission("orig", uniform(0.5))
    submissions.save(tmp_path, orig, item_records([1.0] * 10, "1"))
    copy = orig.model_copy(update={"id": "20261102-000000-copy-bbbbbb", "name": "copy"})  # a copy under a new id
    (tmp_path / f"{copy.id}.json").write_text(copy.model_dump_json())
    done = CliRunner().invoke(app, ["submissions", "rm", orig.id, "--submissions-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"removed {orig.id} (orig): {tmp_path / (orig.id + '.json')}; kept {tmp_path / orig.items_file}: another record names it"
    assert len(submissions.load_items(tmp_path, copy)) == 10  # compare copy ... reads them
    assert submissions.remove(tmp_path, copy).removed == [tmp_path / f"{copy.id}.json", tmp_path / orig.items_file]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# Issue 37, renamed records (round 3, #13): a record renamed by hand is known by what is in it.


def test_a_renamed_record_is_removed_by_the_id_list_shows_and_its_errors_name_no_missing_file(tmp_path):
    from typer.testing import CliRunner

    from ecombench.cli import app

    sub = make_submission("renamed", uniform(0.5))
    submissions.save(tmp_path, sub, item_records([1.0] * 10, "1"))
    renamed = tmp_path / "my-best-run.json"
    (tmp_path / f"{sub.id}.json").rename(renamed)  # renamed by hand
    (tmp_path / sub.items_file).rename(tmp_path / "aside.jsonl")
    with pytest.raises(EcombenchError) as caught:
        submissions.load_items(tmp_path, submissions.load(renamed))
    assert str(caught.value) == (
        f"{tmp_path / sub.items_file}: items file of submission '{sub.id}' is missing; re-run it, or remove it: "
        f"ecombench submissions rm {sub.id} --submissions-dir {tmp_path}"
    )
    (tmp_path / "aside.jsonl").rename(tmp_path / sub.items_file)
    listed = CliRunner().invoke(app, ["submissions", "list", "--json", "--submissions-dir", str(tmp_path)])
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [sub.id]
    done = CliRunner().invoke(app, ["submissions", "rm", sub.id, "--submissions-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"removed {sub.id} (renamed): {renamed}, {tmp_path / sub.items_file}"
    assert list(tmp_path.iterdir()) == []


def test_a_link_to_a_file_inside_the_folder_is_still_read(tmp_path):
    sub = make_submission("linked-inside", uniform(0.5))
    submissions.save(tmp_path, sub, item_records([1.0] * 10, "1"))
    (tmp_path / f"{sub.id}.json").rename(tmp_path / "real.json")
    (tmp_path / f"{sub.id}.json").symlink_to("real.json")
    (tmp_path / sub.items_file).rename(tmp_path / "real.items")
    (tmp_path / sub.items_file).symlink_to(tmp_path / "real.items")
    loaded = submissions.load(tmp_path / f"{sub.id}.json")
    assert loaded.id == sub.id and len(submissions.load_items(tmp_path, loaded)) == 10
