"""`ecombench submissions list|show|rm` (issue 24, item 7): what is there, one record, and removal that
takes the items file along and leaves no half of a submission."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ecombench import submissions
from ecombench.errors import EcombenchError
from tests.helpers.boards import make_submission, uniform
from tests.helpers.cli import invoke_ecombench


def _saved(folder, name, day, score=0.5):
    sub = make_submission(name, uniform(score), created=datetime(2026, 11, day, tzinfo=UTC))
    submissions.save(folder, sub, [])
    return sub


def test_remove_takes_the_record_and_its_items_and_leaves_nothing_behind(tmp_path):
    sub = _saved(tmp_path, "a", 1)
    other = _saved(tmp_path, "b", 2)
    removed = submissions.remove(tmp_path, sub).removed
    assert sorted(p.name for p in removed) == [f"{sub.id}.items.jsonl", f"{sub.id}.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{other.id}.json", f"{other.id}.items.jsonl"])
    with pytest.raises(EcombenchError, match="no such submission"):
        submissions.remove(tmp_path, sub)


@pytest.mark.slow
def test_list_show_and_rm_on_the_command_line(tmp_path):
    old = _saved(tmp_path, "tiny", 1, 0.3)
    new = _saved(tmp_path, "tiny", 2, 0.6)
    keep = _saved(tmp_path, "other", 3, 0.4)
    listed = invoke_ecombench("submissions", "list", "--json", "--submissions-dir", tmp_path)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["id"], r["name"], r["tasks"]) for r in rows] == [(keep.id, "other", 9), (new.id, "tiny", 9), (old.id, "tiny", 9)]
    shown = invoke_ecombench("submissions", "show", keep.id[:20], "--submissions-dir", tmp_path)
    assert json.loads(shown.stdout)["id"] == keep.id
    ambiguous = invoke_ecombench("submissions", "rm", "other", "tiny", "--submissions-dir", tmp_path)
    assert ambiguous.returncode == 2 and ambiguous.stderr.strip().splitlines() == [
        f"ecombench: error: 'tiny' names 2 submissions ({new.id}, {old.id}); give an id"
    ]
    assert (tmp_path / f"{keep.id}.json").exists()  # nothing is removed unless every name resolves
    done = invoke_ecombench("submissions", "rm", old.id, "--submissions-dir", tmp_path)
    assert done.returncode == 0 and not (tmp_path / f"{old.id}.json").exists() and not (tmp_path / f"{old.id}.items.jsonl").exists()
    board = invoke_ecombench("leaderboard", "--board", "ecombench_starter", "--format", "json", "--submissions-dir", tmp_path)
    assert sorted(r["submission"] for r in json.loads(board.stdout)["rows"]) == sorted([new.id, keep.id])
