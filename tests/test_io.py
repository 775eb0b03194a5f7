"""Atomic writes leave files and folders with the modes the user's umask gives (issue 15.9)."""

from __future__ import annotations

import os
import stat

from ecombench.io import atomic_write_text, staging_dir


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_and_staging_folders_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        import ecombench.io as io

        io._UMASK = None  # read again under this umask
        atomic_write_text(tmp_path / "sub.json", "{}")
        assert _mode(tmp_path / "sub.json") == 0o644  # mkstemp alone gives 0600: unreadable to a web server
        assert _mode(staging_dir(".suite-", tmp_path)) == 0o755  # mkdtemp alone gives 0700
        os.umask(0o077)
        io._UMASK = None
        atomic_write_text(tmp_path / "private.json", "{}")
        assert _mode(tmp_path / "private.json") == 0o600  # a user who asks for privacy keeps it
    finally:
        os.umask(old)
        io._UMASK = None


def test_an_imported_suite_is_readable_by_others(tmp_path):
    from ecombench.importers import IMPORTERS
    from ecombench.importers.writer import write_suite
    from tests.helpers.sources import shopbench_file

    old = os.umask(0o022)
    try:
        import ecombench.io as io

        io._UMASK = None
        suite = write_suite(IMPORTERS["shopbench"](shopbench_file(tmp_path)), "kdd", tmp_path / "home")
        assert _mode(suite) == 0o755
        assert {_mode(p) for p in suite.iterdir()} == {0o644}
    finally:
        os.umask(old)
        io._UMASK = None
