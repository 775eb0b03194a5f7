"""The one error type users see: a clear, single-line message and exit code 2."""

from __future__ import annotations


class EcombenchError(Exception):
    """Bad input or a missing resource, reported as one line on stderr with exit code 2.

    The message says what was wrong and where (file, line, field).
    """

    exit_code = 2
