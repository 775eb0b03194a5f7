"""Atomic file writes: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


_UMASK: int | None = None


def umask() -> int:
    """The process's umask (read once: ``os.umask`` can only be read by setting it)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


def shareable(path: Path, folder: bool = False) -> Path:
    """Give a file from ``mkstemp`` (0600) or a folder from ``mkdtemp`` (0700) the modes the user's umask
    gives ordinary files and folders, so that reports, submissions and suites can be served and shared."""
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())
    return path


def staging_dir(prefix: str, parent: Path) -> Path:
    """A hidden staging folder beside its final place, with the user's folder mode."""
    return shareable(Path(tempfile.mkdtemp(prefix=prefix, dir=parent)), folder=True)


@contextmanager
def atomic_writer(path: Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it over ``path`` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        shareable(Path(tmp))
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_writer(path) as handle:
        handle.write(text)
