"""``invoke_ecombench`` (a command in the test process) gives what ``python -m ecombench`` gives in a new one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import pytest

import ecombench.cli
from ecombench.errors import EcombenchError
from tests.helpers.cli import invoke_ecombench, run_ecombench


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["score"],  # click's usage error: exit 2, the usage line names `python -m ecombench`
        ["score", "--data", "{missing}", "--predictions", "{missing}"],  # ours: one line, exit 2
        ["tasks", "show", "starter_category_mc"],
        ["--threads", "0", "tasks"],
    ],
    ids=["version", "usage", "missing-file", "table", "bad-threads"],
)
def test_in_process_and_a_new_process_print_and_exit_alike(tmp_path, args):
    args = [a.format(missing=tmp_path / "missing.jsonl") for a in args]
    inside, outside = invoke_ecombench(*args, env={"COLUMNS": "120"}), run_ecombench(*args, env={"COLUMNS": "120"})
    assert (inside.returncode, inside.stdout, inside.stderr) == (outside.returncode, outside.stdout, outside.stderr)


_earlier = logging.getLogger("tests.someone-else")  # its handler holds the stream stderr was when it was made
_earlier.addHandler(logging.StreamHandler())
_earlier.propagate = False
_during = logging.getLogger("tests.made-during-a-command")
_during.propagate = False


def _made(logger: logging.Logger) -> list[logging.StreamHandler]:
    """The logger's own handlers (pytest adds its capturing handlers to loggers that do not propagate)."""
    return [h for h in logger.handlers if type(h) is logging.StreamHandler]


def _noisy(obj, args, prog_name):  # stands in for the app: writes every way a command's output can go
    print("to stdout")
    print("to sys.stderr", file=sys.stderr)
    _earlier.warning("through a log handler made before the command")
    if not _made(_during):  # as transformers configures its logging on first use
        handler = logging.StreamHandler()
        handler.flush = sys.stderr.flush  # type: ignore[method-assign]
        _during.addHandler(handler)
    _during.warning("through a log handler made by the command")
    subprocess.run(["sh", "-c", "echo child stderr >&2; echo child stdout"], check=True)
    warnings.warn("a warning", UserWarning, stacklevel=1)
    os.environ["ECOMBENCH_THREADS"] = "7"  # as --threads does
    os.chdir("/")
    if args == ["crash"]:
        raise RuntimeError("a bug")
    if args == ["bad"]:
        raise EcombenchError("bad input")
    sys.exit(3)


def test_output_written_any_way_is_captured_and_nothing_stays_behind(monkeypatch, tmp_path):
    monkeypatch.setattr(ecombench.cli, "app", _noisy)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the warning is printed each time, as each new process would
        done = invoke_ecombench("x")
        assert (done.returncode, done.stdout) == (3, "to stdout\nchild stdout\n")
        assert done.stderr.startswith("to sys.stderr\nthrough a log handler made before the command\nthrough a log handler made by the command\nchild stderr\n")
        assert "UserWarning: a warning" in done.stderr
        assert "ECOMBENCH_THREADS" not in os.environ and os.getcwd() == str(tmp_path)
        assert [(h.stream, h.flush) for h in _made(_during)] == [(sys.stderr, sys.stderr.flush)]  # not the command's closed stream
    crashed = invoke_ecombench("crash")  # the interpreter's way: the traceback on stderr, exit code 1
    assert crashed.returncode == 1 and "Traceback (most recent call last)" in crashed.stderr and crashed.stderr.endswith("RuntimeError: a bug\n")
    refused = invoke_ecombench("bad")
    assert refused.returncode == 2 and refused.stderr.splitlines()[-1] == "ecombench: error: bad input"


def test_a_variable_read_when_a_process_starts_is_refused():
    with pytest.raises(ValueError, match="HF_HOME is read when a process starts: run this command with run_ecombench"):
        invoke_ecombench("tasks", env={"HF_HOME": "/elsewhere"})
