"""The one channel library code reports through: a line on stderr, ``ecombench: note: ...``.

Library modules never ``print``; the CLI renders results, and everything said on the way (a note, a
warning, a skipped folder) goes through :func:`note` or :func:`warn`. Tests and embedding programs can
catch the lines with ``contextlib.redirect_stderr`` as before.
"""

from __future__ import annotations

import sys


def _say(kind: str, text: str) -> None:
    from ecombench.terminal import safe_text

    print(f"ecombench: {kind}{safe_text(text)}", file=sys.stderr, flush=True)


def note(text: str) -> None:
    """Something the user should know about this run that does not stop it."""
    _say("note: ", text)


def warn(text: str) -> None:
    """Something was skipped or may be wrong; the command goes on."""
    _say("warning: ", text)


def say(text: str) -> None:
    """Progress that is neither a note nor a warning (``building builtin:tiny once ...``)."""
    _say("", text)
