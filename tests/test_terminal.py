"""Issue 15.2/15.10: user text reaches the terminal as text, never markup, with controls visible."""

from __future__ import annotations

import pytest

from ecombench import submissions
from ecombench.terminal import safe_text
from tests.helpers.boards import make_submission, uniform
from tests.helpers.cli import invoke_ecombench

HOSTILE = "[/bold][link=https://evil.example]click[/link]\x1b]0;pwned\x07\x1b[2J\u202etxt.exe\x9b31m"


@pytest.mark.parametrize(
    ("raw", "keep_lines", "shown"),
    [
        ("a\x1b[31mb\x00", False, "a\\x1b[31mb\\x00"),
        ("a\nb\tc", False, "a\\x0ab\\x09c"),  # names: one line
        ("a\nb\tc\x1b", True, "a\nb\tc\\x1b"),  # prompts and outputs keep their lines
        ("abc\u202efdp.exe", False, "abc\\u202efdp.exe"),  # right-to-left override
        ("\u2066x\u2069\u200f", False, "\\u2066x\\u2069\\u200f"),
        ("\x9b31m C1 CSI", False, "\\x9b31m C1 CSI"),
        ("[/bold] é 日本", False, "[/bold] é 日本"),  # markup is not escaped here: it is shown as text by rich.Text
    ],
)
def test_safe_text(raw, keep_lines, shown):
    assert safe_text(raw, keep_lines) == shown


@pytest.mark.slow
def test_compare_prints_a_hostile_name_as_text(tmp_path):
    a = make_submission("plain", uniform(0.3))
    b = make_submission(HOSTILE, uniform(0.5))
    submissions.save(tmp_path, a, [])
    submissions.save(tmp_path, b, [])
    done = invoke_ecombench("compare", a.id, b.id, "--submissions-dir", str(tmp_path), "--iters", "100", env={"COLUMNS": "400"})
    assert done.returncode == 0, done.stderr  # `[/bold]` was a MarkupError, exit 1
    assert "[/bold][link=https://evil.example]click[/link]" in done.stdout  # shown, not interpreted
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout and "\x9b" not in done.stdout
    assert "\\x1b]0;pwned\\x07" in done.stdout


@pytest.mark.slow
def test_tasks_show_and_list_escape_prompts_and_names(tmp_path):
    from ecombench.taskcheck import scaffold

    home = tmp_path / "home"
    yaml_path = scaffold("evil_task", "generation", "tt", home / "tasks")
    yaml_path.write_text(yaml_path.read_text().replace("track: tt", 'track: "t\\e[2Jtrack"'))  # YAML's escape for ESC
    assert '"t\\e[2Jtrack"' in yaml_path.read_text()
    data = yaml_path.parent / "evil_task.jsonl"
    data.write_text(data.read_text().replace('"input_field": "', '"input_field": "line one\\n\\u001b]0;title\\u0007\\u001b[2J', 1))
    env = {"ECOMBENCH_HOME": str(home), "COLUMNS": "400"}
    show = invoke_ecombench("tasks", "show", "evil_task", env=env)
    assert show.returncode == 0, show.stderr
    assert "\x1b" not in show.stdout and "\\x1b]0;title\\x07\\x1b[2J" in show.stdout
    lines = show.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if "line one" in line)
    assert "\\x0a" not in lines[first] and "\\x1b]0;title" in lines[first + 1]  # line breaks stay line breaks
    listed = invoke_ecombench("tasks", env=env)
    assert listed.returncode == 0 and "\x1b" not in listed.stdout and "t\\x1b[2Jtrack" in listed.stdout
