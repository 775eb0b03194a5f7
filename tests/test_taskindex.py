"""Task YAMLs: read without lm-eval, broken files reported, names resolved with suggestions."""

from __future__ import annotations

import pytest

from ecombench.errors import EcombenchError
from ecombench.paths import builtin_tasks_dir
from ecombench.taskindex import build_index, default_roots


def test_bundled_tasks_cover_every_task_type_and_carry_metadata():
    index = build_index(default_roots())
    starter = index.select(None)
    assert {t.task_type for t in starter} == {"multiple-choice", "retrieval", "ranking", "named_entity_recognition", "generation"}
    assert {t.track for t in starter} == {"concept_understanding", "knowledge_reasoning", "user_behavior_alignment", "multilingual"}
    for t in starter:
        assert t.data_file is not None and t.data_file.is_file(), t.name
        assert t.description and t.version
        assert len(t.data_hash()) == 64


def test_groups_and_tracks_expand_to_their_tasks():
    index = build_index(default_roots())
    # a track selects its tasks across suites; a group only its own members
    assert [t.name for t in index.select(["ecombench_starter_multilingual"])] == ["starter_title_translation_de", "starter_title_translation_ja"]
    track = [t.name for t in index.select(["multilingual"])]
    assert {"starter_title_translation_de", "starter_title_translation_ja", "core_title_translation_ja"} <= set(track)
    assert all(index.tasks[t].track == "multilingual" for t in track)
    # duplicates collapse, order kept
    names = [t.name for t in index.select(["starter_query_ranking", "ecombench_starter_user_behavior_alignment"])]
    assert names == ["starter_query_ranking", "starter_complement_retrieval"]


def test_unknown_name_suggests_the_closest():
    index = build_index(default_roots())
    with pytest.raises(EcombenchError, match="unknown task, group or track 'starter_query_rankin'; did you mean 'starter_query_ranking'"):
        index.select(["starter_query_rankin"])


def test_yaml_that_does_not_parse_is_reported_with_file_and_line(tmp_path):
    (tmp_path / "good.yaml").write_text(
        (builtin_tasks_dir() / "starter" / "category_mc.yaml").read_text().replace("include: _base.yaml\n", "").replace("starter_category_mc", "mine")
    )
    (tmp_path / "bad.yaml").write_text("task: broken\nmetadata: {track: x\n  metric: [\n")
    with pytest.raises(EcombenchError, match=r"bad.yaml:\d+: YAML does not parse"):
        build_index([tmp_path])


def test_missing_metadata_and_duplicate_names_are_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("task: t\nmetadata: {track: x}\n")
    with pytest.raises(EcombenchError, match="a.yaml: metadata lacks task_type, metric, version, description"):
        build_index([tmp_path])
    meta = "metadata: {track: x, task_type: generation, metric: rougel, version: 1, description: d}\n"
    (tmp_path / "a.yaml").write_text("task: t\n" + meta)
    (tmp_path / "b.yaml").write_text("task: t\n" + meta)
    with pytest.raises(EcombenchError, match="b.yaml: task 't' is also defined in .*a.yaml"):
        build_index([tmp_path])


def test_tasks_command_lists_items_per_task():
    from tests.helpers.cli import invoke_ecombench

    done = invoke_ecombench("tasks", env={"COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "starter_complement_retrieval" in line)
    index = build_index(default_roots())
    n = len(index.tasks["starter_complement_retrieval"].data_file.read_text().splitlines())
    assert f" {n} " in lines[at] and "hit rate@3" in lines[at]
    # tasks are listed under their track's header row
    header = next(line for line in reversed(lines[:at]) if "track: " in line)
    assert "track: user_behavior_alignment" in header
