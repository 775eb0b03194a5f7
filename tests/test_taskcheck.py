"""`ecombench tasks new / validate / show`: a user's own task, checked and run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ecombench import submissions
from ecombench.errors import EcombenchError
from ecombench.run import RunOptions, run
from ecombench.taskcheck import scaffold, validate
from tests.helpers.cli import invoke_ecombench


def _cli(*args):
    return invoke_ecombench(*args, env={"COLUMNS": "200"})


@pytest.mark.parametrize("task_type", ["multiple-choice", "retrieval", "ranking", "named_entity_recognition", "generation"])
@pytest.mark.slow
def test_scaffolded_task_validates_and_runs(tmp_path, task_type):
    yaml_path = scaffold(f"my_{task_type.replace('-', '_')}", task_type, "my_track", tmp_path)
    yaml_path.write_text(yaml_path.read_text().replace("TODO one line saying what the task asks", "Pick the right product."))
    assert validate(yaml_path.parent) == []
    result = run(RunOptions(model="builtin:tiny", tasks=["my_track"], task_paths=[tmp_path], trust_tasks=True, submissions_dir=tmp_path / "subs"))
    (task,) = result.submission.tasks.values()
    assert task.task_type == task_type and task.n == 1 and task.track == "my_track"


@pytest.mark.slow
def test_new_task_in_the_home_folder_is_listed_and_run_without_task_path(tmp_path):
    done = _cli("tasks", "new", "home_task", "--type", "multiple-choice", "--track", "home_track")
    assert done.returncode == 0, done.stderr
    listed = _cli("tasks")
    assert "home_task" in listed.stdout
    result = run(RunOptions(model="builtin:tiny", tasks=["home_task"], submissions_dir=tmp_path))
    assert list(result.submission.tasks) == ["home_task"]
    assert len(submissions.load_items(tmp_path, result.submission)) == 1


def test_validate_reports_every_problem_with_file_and_line(tmp_path):
    yaml_path = scaffold("broken", "ranking", "t", tmp_path)
    text = yaml_path.read_text().replace("metric: ndcg", "metric: ndgc").replace("ecombench.hooks.doc_to_target", "ecombench.hooks.no_such_hook")
    yaml_path.write_text(text)
    data = yaml_path.parent / "broken.jsonl"
    good = json.loads(data.read_text())
    bad_type = {**good, "task_type": "sorting"}
    data.write_text(json.dumps(good) + "\n" + json.dumps(bad_type) + "\n{oops\n")
    problems = [str(p) for p in validate(yaml_path.parent)]
    metric_line = next(i for i, line in enumerate(text.splitlines(), start=1) if "metric: ndgc" in line)
    assert f"{yaml_path}:{metric_line}: metric 'ndgc' is not one of" in "\n".join(problems)
    assert any("!function ecombench.hooks.no_such_hook: ecombench.hooks has no function no_such_hook" in p for p in problems)
    assert any(p.startswith(f"{data}:2: task_type 'sorting'") for p in problems)
    assert any(p.startswith(f"{data}") and "3: not valid JSON" in p for p in problems)
    done = _cli("tasks", "validate", str(yaml_path.parent))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == len(problems)


def test_validate_warns_on_an_untouched_scaffold(tmp_path):
    yaml_path = scaffold("fresh", "generation", "t", tmp_path)
    line = next(i for i, text in enumerate(yaml_path.read_text().splitlines(), start=1) if "description:" in text)
    (problem,) = validate(yaml_path.parent)
    assert problem.warning and str(problem) == (
        f"{yaml_path}:{line}: warning: metadata.description is still the scaffold's TODO; say in one line what the task asks"
    )


def test_validate_reports_yaml_that_does_not_parse(tmp_path):
    (tmp_path / "x.yaml").write_text("task: x\nmetadata: [\n")
    (problem,) = validate(tmp_path)
    assert str(problem).startswith(f"{tmp_path / 'x.yaml'}") and "YAML does not parse" in str(problem)


@pytest.mark.slow
def test_show_prints_metadata_and_three_examples():
    done = _cli("tasks", "show", "starter_unit_price_mc")
    assert done.returncode == 0, done.stderr
    assert "metric: accuracy" in done.stdout and done.stdout.count("A pack of") == 3
    assert "example 3" in done.stdout and "example 4" not in done.stdout
    unknown = _cli("tasks", "show", "starter_unit_price")
    assert unknown.returncode == 2 and "did you mean 'starter_unit_price_mc'" in unknown.stderr


def test_scaffold_refuses_bad_names_types_and_existing_folders(tmp_path):
    with pytest.raises(EcombenchError, match="--type sorting"):
        scaffold("ok_name", "sorting", "t", tmp_path)
    with pytest.raises(EcombenchError, match="task name '../evil'"):
        scaffold("../evil", "generation", "t", tmp_path)
    scaffold("twice", "generation", "t", tmp_path)
    with pytest.raises(EcombenchError, match="already exists"):
        scaffold("twice", "generation", "t", tmp_path)


def test_validate_never_imports_user_code(tmp_path):
    """Issue 15.1: a module a task names with !function is read as text, never imported (importing runs it)."""
    checkout = tmp_path / "checkout"
    (checkout / "tasks").mkdir(parents=True)
    marker = tmp_path / "pwned"
    (checkout / "tasks" / "helpers.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n\ndef f(*a, **k):\n    return None\n")
    yaml_path = scaffold("x", "ranking", "t", checkout / "tasks")
    yaml_path.write_text(yaml_path.read_text().replace("!function ecombench.hooks.doc_to_target", "!function tasks.helpers.f"))
    (checkout / "tasks" / "y.yaml").write_text(yaml_path.read_text().replace("tasks.helpers.f", "tasks.helpers.missing").replace("task: x", "task: y"))
    # a new process started in the checkout, where `python -m` puts the checkout on the import path
    done = subprocess.run([sys.executable, "-m", "ecombench", "tasks", "validate", "tasks/"], capture_output=True, text=True, cwd=checkout)
    assert not marker.exists()
    assert "!function tasks.helpers.missing: tasks.helpers has no function missing" in done.stderr
    assert "tasks.helpers.f" not in done.stderr  # found on disk, defined: no problem
    nowhere = [str(p) for p in validate(yaml_path.parent)]  # from here `tasks` is not on the import path
    assert any("!function tasks.helpers.f: no module file for tasks.helpers" in p for p in nowhere)


def test_a_repeated_prompt_is_a_warning_naming_both_lines(tmp_path):
    yaml_path = scaffold("dup", "generation", "t", tmp_path)
    yaml_path.write_text(yaml_path.read_text().replace("TODO one line saying what the task asks", "Write a title."))
    data = yaml_path.with_suffix(".jsonl")
    row = json.loads(data.read_text())
    other = {**row, "input_field": "another prompt"}
    data.write_text("".join(json.dumps(r) + "\n" for r in (row, other, row)))
    (problem,) = validate(yaml_path)
    assert problem.warning and str(problem) == f"{data}:3: warning: the same prompt as line 1: a repeated item inflates n and narrows the standard error"
    done = _cli("tasks", "validate", str(yaml_path))
    assert done.returncode == 0 and "(1 warning)" in done.stdout and "the same prompt as line 1" in done.stderr
