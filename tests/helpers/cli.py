"""The CLI in a subprocess or in this process, the repository's paths and the ``accelerate launch`` prefix."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def run_ecombench(*args: object, env: dict[str, str | None] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m ecombench ARGS`` in a subprocess, output captured; ``env`` adds variables to this process's
    environment (a value of None removes one)."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ecombench", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={k: v for k, v in merged.items() if v is not None},
    )


# Read once when a process starts (by huggingface_hub, torch, tokenizers, ecombench.threads): a new value
# only means something to a new process, so `invoke_ecombench` refuses one (use `run_ecombench`).
READ_AT_START = (
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "ECOMBENCH_THREADS",
    "OMP_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
)


def invoke_ecombench(*args: object, env: dict[str, str | None] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``ecombench ARGS`` in this process, as ``run_ecombench`` runs it in a new one (same arguments, same result).

    What the command writes to file descriptors 1 and 2 is captured (Python's streams, log handlers, warnings
    and child processes alike); an exception that escapes ``run_main`` prints its traceback and gives exit
    code 1, as the interpreter would. Environment, working folder, warning filters, logger levels, torch's
    thread count and ecombench's once-per-process memos start fresh and are put back afterwards. Not put back:
    lm-eval's bars and git call, quieted once per process by the first run. For what only a new process shows
    (import times, exit and teardown, signals, settings read at start-up, that a run is quiet) use
    ``run_ecombench``.
    """
    from ecombench.cli import run_main

    argv = [str(a) for a in args]
    for name, value in (env or {}).items():
        if name in READ_AT_START and value != os.environ.get(name):
            raise ValueError(f"{name} is read when a process starts: run this command with run_ecombench")
    with _environment(env or {}, cwd), _fresh_warnings(), _fresh_memos(), _captured() as streams:
        try:
            code = run_main(argv, prog_name="python -m ecombench")
        except Exception:  # what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
    out, err = (s.decode() for s in streams)
    return subprocess.CompletedProcess([sys.executable, "-m", "ecombench", *argv], code, out, err)


@contextlib.contextmanager
def _environment(env: dict[str, str | None], cwd: Path | None) -> Iterator[None]:
    """``env`` over os.environ (None removes a variable) and ``cwd``, both put back afterwards with whatever
    the command set (``--threads`` sets ECOMBENCH_THREADS)."""
    saved, folder = dict(os.environ), os.getcwd()
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(folder)
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


@contextlib.contextmanager
def _fresh_memos() -> Iterator[None]:
    """What ecombench does once per process is done again by each command, as by each new process: a skipped
    task folder of the home is warned about, torch's threads are chosen by the rule of the moment (other
    work on the machine included); the test's own memos, torch's threads and the levels of the loggers that
    existed (commands quiet lm-eval's and transformers') come back afterwards."""
    from ecombench import taskindex, threads

    kept, applied = set(taskindex._WARNED), threads._applied
    torch = sys.modules.get("torch")
    pool = torch.get_num_threads() if torch else None
    levels = [(lg, lg.level) for lg in _loggers()]
    taskindex._WARNED.clear()
    threads._applied = None
    try:
        yield
    finally:
        taskindex._WARNED.clear()
        taskindex._WARNED.update(kept)
        threads._applied = applied
        if torch and pool != torch.get_num_threads():
            torch.set_num_threads(pool)
        for lg, level in levels:
            lg.setLevel(level)


@contextlib.contextmanager
def _fresh_warnings() -> Iterator[None]:
    """Python's default warning filters, each warning printed to stderr once per place (as in a new
    process), rather than pytest's recording of them; the test's filters come back afterwards."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category, append=True)
        warnings.showwarning = _print_warning
        yield


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


@contextlib.contextmanager
def _captured() -> Iterator[list[bytes]]:
    """File descriptors 1 and 2, sys.stdout and sys.stderr, and the log handlers that wrote to them, into two
    temporary files; yields a list that holds (stdout, stderr) as bytes once the block ends."""
    result: list[bytes] = []
    streams = (sys.stdout, sys.stderr)
    for stream in streams:
        stream.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        kept = [os.dup(1), os.dup(2)]
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115 (closed below)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
        mine = (sys.stdout, sys.stderr)
        moved = _move_log_handlers({id(streams[0]): mine[0], id(streams[1]): mine[1], id(sys.__stdout__): mine[0], id(sys.__stderr__): mine[1]})
        try:
            yield result
        finally:
            for handler, stream in moved:
                _point(handler, stream)
            _move_log_handlers({id(mine[0]): streams[0], id(mine[1]): streams[1]})  # handlers the command made on them
            for stream in mine:
                stream.close()  # flushes; the descriptor stays open
            sys.stdout, sys.stderr = streams
            for fd, copy in zip((1, 2), kept, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
            for file in (out, err):
                file.seek(0)
                result.append(file.read())


def _move_log_handlers(targets: dict[int, IO[str]]) -> list[tuple[logging.StreamHandler, IO[str]]]:
    """Point every log handler that writes to one of ``targets``' streams (by id) at its new stream; returns
    (handler, old stream) pairs to put back. A new process would create those handlers on its own streams."""
    moved = []
    for handler in {h for lg in _loggers() for h in lg.handlers}:
        stream = vars(handler).get("stream")  # not logging's last-resort handler, whose stream is sys.stderr's now
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) and id(stream) in targets:
            moved.append((handler, stream))
            _point(handler, targets[id(stream)])
    return moved


def _point(handler: logging.StreamHandler, stream: IO[str]) -> None:
    if "flush" in vars(handler):  # transformers binds its handler's flush to the stream the handler was made on
        handler.flush = stream.flush  # type: ignore[method-assign]
    handler.setStream(stream)


def _loggers() -> list[logging.Logger]:
    return [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger))]


# `accelerate launch` with two CPU processes (gloo), the prefix of the data-parallel tests
ACCELERATE_TWO_CPU = [
    sys.executable,
    "-m",
    "accelerate.commands.launch",
    "--multi_gpu",
    "--num_processes",
    "2",
    "--num_machines",
    "1",
    "--mixed_precision",
    "no",
    "--dynamo_backend",
    "no",
]
