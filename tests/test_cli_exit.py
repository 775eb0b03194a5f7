"""The console entry point leaves without the interpreter's teardown once torch is loaded, losing nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import atexit, sys, tempfile, weakref
{imports}
from ecombench.cli import _leave
folder = tempfile.TemporaryDirectory()  # cleaned up by a weakref.finalize exit hook
print("folder", folder.name)
atexit.register(lambda: print("handler ran"))
print("buffered, no newline", end="")
sys.stderr.write("err line\\n")
_leave({code!r})
print("never printed")
"""


@pytest.mark.parametrize("imports", ["import torch", ""])
@pytest.mark.parametrize(("code", "rc"), [(0, 0), (None, 0), (2, 2), (130, 130)])
def test_leaving_runs_exit_handlers_flushes_output_and_keeps_the_code(tmp_path, imports, code, rc):
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(imports=imports, code=code)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == rc
    lines = done.stdout.splitlines()
    assert lines[0].startswith("folder ")
    assert lines[1:] == ["buffered, no newlinehandler ran"]
    assert done.stderr == "err line\n"
    from pathlib import Path

    assert not Path(lines[0].removeprefix("folder ")).exists()  # the temporary folder's finalizer ran


def test_a_message_as_exit_code_goes_to_stderr_with_code_1(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(imports="import torch", code="bad things")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == "err line\nbad things\n"


PREFLIGHT = """
import sys
from ecombench.cli import main
sys.argv = ["ecombench", "run", *{args!r}]
try:
    main()
except SystemExit as exc:
    heavy = sorted(m for m in ("torch", "transformers", "lm_eval") if m in sys.modules)
    print("exit", exc.code, "heavy", heavy)
"""


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--tasks", "core_ratng_mc"], "unknown task, group or track 'core_ratng_mc'; did you mean 'core_rating_mc'"),
        (["--model", "./no-such-model", "--tasks", "core_rating_mc"], "--model ./no-such-model: model folder ./no-such-model does not exist"),
    ],
)
def test_a_typo_in_a_task_name_or_model_folder_is_refused_before_the_heavy_imports(tmp_path, args, said):
    """Issue 38: these errors came after 16-19 s of importing torch, transformers and lm-eval."""
    done = subprocess.run([sys.executable, "-c", PREFLIGHT.format(args=args)], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.strip() == "exit 2 heavy []"
    assert done.stderr.startswith(f"ecombench: error: {said}") and len(done.stderr.splitlines()) == 1
