"""No lost or half-written results: SIGKILL mid-run, and concurrent writers with a reader."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecombench import submissions
from tests.helpers.cli import invoke_ecombench

CMD = [sys.executable, "-m", "ecombench", "run", "--model", "builtin:tiny", "--tasks", "ecombench_starter", "--batch-size", "4"]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "ECOMBENCH_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}


def _answers(cache: Path) -> int:
    from sqlitedict import SqliteDict

    dbs = list(cache.glob("answers/*/requests_rank0.db"))
    if not dbs:
        return 0
    with SqliteDict(str(dbs[0]), flag="r") as db:
        return len(db)


@pytest.mark.slow
def test_sigkill_leaves_no_submission_and_the_rerun_resumes_to_the_same_result(tmp_path, tiny_model):
    # a cache of its own (other tests' answer caches must not be counted), sharing the tiny model already built
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "builtin").symlink_to(Path(os.environ["ECOMBENCH_CACHE"]) / "builtin")
    subs = tmp_path / "subs"
    proc = subprocess.Popen([*CMD, "--submissions-dir", str(subs)], env=_env(cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _answers(cache) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    cached = _answers(cache)
    assert cached >= 20  # answers made before the kill were kept
    assert not subs.exists() or not [p for p in subs.iterdir() if not p.name.startswith(".")]  # nothing that looks like a submission

    resumed = invoke_ecombench(*CMD[3:], "--submissions-dir", str(subs), env={"ECOMBENCH_CACHE": str(cache)})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    fresh = invoke_ecombench(*CMD[3:], "--no-cache", "--submissions-dir", str(tmp_path / "fresh"), env={"ECOMBENCH_CACHE": str(cache)})
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    (a,) = [submissions.load(p) for p in subs.glob("*.json")]
    (b,) = [submissions.load(p) for p in (tmp_path / "fresh").glob("*.json")]
    assert {t: r.score for t, r in a.tasks.items()} == {t: r.score for t, r in b.tasks.items()}
    items_a = [(i.task, i.doc_id, i.prediction) for i in submissions.load_items(subs, a)]
    items_b = [(i.task, i.doc_id, i.prediction) for i in submissions.load_items(tmp_path / "fresh", b)]
    assert items_a == items_b


@pytest.mark.slow
def test_four_concurrent_runs_and_a_reader_never_see_a_broken_file(tmp_path, tiny_model):
    cache = Path(os.environ["ECOMBENCH_CACHE"])
    subs = tmp_path / "subs"
    writers = [
        subprocess.Popen(
            [*CMD[:-4], "--tasks", "starter_unit_price_mc", "--limit", "3", "--name", f"w{i}", "--submissions-dir", str(subs)],
            env=_env(cache),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    reads = []
    while any(w.poll() is None for w in writers):
        done = subprocess.run(
            [sys.executable, "-m", "ecombench", "leaderboard", "--board", "ecombench_starter", "--submissions-dir", str(subs), "--format", "json"],
            env=_env(cache),
            capture_output=True,
            text=True,
        )
        reads.append(done)
    errors = [w.stderr.read() for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0, 0], errors
    records = sorted(subs.glob("*.json"))
    assert len(records) == 4
    for path in records:
        sub = submissions.load(path)
        assert len(submissions.load_items(subs, sub)) == 3
    for done in reads:  # a reader sees whole files only: no warning about a broken record
        assert "skipped" not in done.stderr, done.stderr
        assert done.returncode == 0 or any(m in done.stderr for m in ("no submissions yet", "no submissions folder", "has a task of board"))
        if done.returncode == 0:
            json.loads(done.stdout)
