"""The ``ecombench`` command: the app, its global options, the order of its commands, and how it exits.

Each command lives in its own module (options shared by several are declared once in ``options``); a
command parses its options, calls one library function and renders the result. Heavy libraries (torch,
transformers, lm-eval) are imported inside the commands that need them, so ``--help``, ``score`` and
``tasks`` start fast.
"""

from __future__ import annotations

import sys

import typer

from ecombench.cli import compare, data, import_, judge, leaderboard, references, run, score, submissions, tasks, train
from ecombench.cli.options import DebugOption, GlobalOptions, ThreadsOption, VersionOption
from ecombench.errors import EcombenchError

app = typer.Typer(
    name="ecombench",
    help="Score e-commerce LLMs on ShopBench-style tasks with KDD Cup 2024-exact metrics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(ctx: typer.Context, debug: DebugOption = False, threads: ThreadsOption = None, version: VersionOption = False) -> None:
    """Global options."""
    if not isinstance(ctx.obj, GlobalOptions):  # main() passes its own; a test's CliRunner none
        ctx.obj = GlobalOptions()
    ctx.obj.debug = debug
    if threads is not None:
        from ecombench.threads import request

        request(threads)


for command_module in (score, tasks, data, import_, leaderboard, references, compare, run, train, submissions, judge):
    command_module.register(app)  # the groups (tasks, data, submissions) are listed after the commands, in this order
# `ecombench --help` lists the commands a newcomer needs first: run, then reading results, then training, then the rest
_FIRST = ["run", "leaderboard", "compare", "report", "score", "train", "sweep", "merge", "import", "references"]


def _place(command: typer.models.CommandInfo) -> int:
    name = command.name or getattr(command.callback, "__name__", "")
    return _FIRST.index(name) if name in _FIRST else len(_FIRST)


app.registered_commands.sort(key=_place)


def _argument_type(self, ctx):
    """An argument with a metavar (``RUN...``) shows it alone: typer adds the Python type (``<list[str]>``)."""
    return None if self.metavar else _typer_argument_type(self, ctx)


_typer_argument_type = typer.core.TyperArgument.display_type_rich
typer.core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]


def main() -> None:
    """Console entry point (and ``python -m ecombench``): run the command, then leave with its exit code."""
    _leave(run_main())


def run_main(argv: list[str] | None = None, prog_name: str | None = None) -> int:
    """Run one command (``argv``, else the process's arguments) and return its exit code: bad input is one
    line on stderr and exit code 2, unless ``--debug`` (then the error propagates with its traceback).

    The body of :func:`main` without leaving the process, so tests can run a command in-process.
    """
    settings = GlobalOptions()  # the root options fill it in
    try:
        app(obj=settings, args=argv, prog_name=prog_name)
    except SystemExit as exc:
        return _exit_code(exc.code)
    except EcombenchError as exc:
        if settings.debug:
            raise
        print(f"ecombench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ecombench: interrupted; nothing partial was written", file=sys.stderr)
        return 130
    return 0


def _exit_code(code: int | str | None) -> int:
    """``sys.exit``'s rule: None is 0; a message goes to stderr and is exit code 1."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        return 1
    return code or 0


def _leave(code: int | str | None) -> None:
    """Exit with ``code``; once torch is loaded, without the interpreter's teardown.

    Tearing down torch, transformers and lm-eval module by module took 1.2 s after every run on 2 CPU
    cores (a sixth of a one-question run; docs/speed.md). The exit handlers still run (log handlers,
    ``weakref.finalize`` and temporary folders, Ray's shutdown) and both streams are flushed; every file
    ecombench writes is closed (and renamed into place) before the command returns.
    """
    code = _exit_code(code)
    if "torch" not in sys.modules:
        sys.exit(code)
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)
