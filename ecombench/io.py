"""Atomic file writes: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import BufferedReader
from pathlib import Path
from typing import IO, Any, AnyStr

from ecombench.errors import EcombenchError

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


# Staging folders and temporary files carry their writer (host and pid) in their names, so the leftovers of a
# killed writer can be told from the work of a live one and removed by the next writer of the same kind.
_HOST = hashlib.blake2s(socket.gethostname().encode(), digest_size=3).hexdigest()
_TAG = re.compile(r"([0-9a-f]{6})-(\d+)-")
STALE_AFTER_S = 24 * 3600  # leftovers of another host (or of an unknown writer) are stale after a day


def owner_tag() -> str:
    return f"{_HOST}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks after boot, from ``/proc``), or None where that cannot be read: with
    the pid it names one process, so a pid reused after a restart (a container's, even this process's) is told apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def is_stale(entry: Path, prefix: str) -> bool:
    """Whether ``entry`` (named ``prefix`` + owner tag + random) was left by a writer that is gone."""
    found = _TAG.search(entry.name[len(prefix) :])
    if found and found.group(1) == _HOST:
        return not _alive(int(found.group(2)))
    try:
        return time.time() - entry.lstat().st_mtime > STALE_AFTER_S
    except FileNotFoundError:
        return False


def sweep_stale(parent: Path, prefix: str, suffix: str = "") -> list[Path]:
    """Remove the leftovers (files or folders named ``prefix...suffix``) of killed writers in ``parent``."""
    removed: list[Path] = []
    try:
        entries = [e for e in parent.iterdir() if e.name.startswith(prefix) and e.name.endswith(suffix)]
    except OSError:
        return removed
    for entry in entries:
        if is_stale(entry, prefix):
            remove_entry(entry)
            removed.append(entry)
    return removed


def remove_entry(entry: Path) -> None:
    """Remove a leftover file or folder (a link is removed, never followed)."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``): a reader sees one or the other,
    never neither. False where the system or filesystem cannot (the caller then renames twice)."""
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def replace_dir(staging: Path, dest: Path) -> None:
    """Put the folder ``staging`` at ``dest``, replacing any folder there, so that at every instant one
    whole folder is at ``dest``. Without an atomic exchange the old folder is first renamed to
    ``.<name>-old-<owner>`` (put back by :func:`restore_dir` if the writer dies between the renames)."""
    if not dest.exists():
        os.rename(staging, dest)
        return
    if exchange(staging, dest):
        shutil.rmtree(staging)  # now holds the old folder
        return
    backup = dest.parent / f".{dest.name}-old-{owner_tag()}{os.urandom(3).hex()}"
    os.rename(dest, backup)
    os.rename(staging, dest)
    shutil.rmtree(backup, ignore_errors=True)


def restore_dir(dest: Path) -> None:
    """Undo a :func:`replace_dir` killed between its two renames: put the old folder back at ``dest``."""
    if dest.exists():
        return
    for backup in sorted(dest.parent.glob(f".{dest.name}-old-*")):
        if is_stale(backup, f".{dest.name}-old-"):
            os.rename(backup, dest)
            return


def staging_dir(prefix: str, parent: Path) -> Path:
    """A hidden staging folder beside its final place, with the user's folder mode; the stale staging
    folders of earlier, killed writers with the same prefix are removed first."""
    sweep_stale(parent, prefix)
    return shareable(Path(tempfile.mkdtemp(prefix=prefix + owner_tag(), dir=parent)), folder=True)


def read_text(path: Path) -> str:
    """A regular file's UTF-8 text; an undecodable or unreadable file, a FIFO or a device is one EcombenchError naming it."""
    try:
        with open_regular(path) as handle:
            return handle.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EcombenchError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise EcombenchError(f"{path}: cannot read ({exc.strerror})") from exc


MAX_LINE_BYTES = 64 << 20  # one JSON Lines line (a question, a prediction, an item): real ones are far less


def _refusal(path: str | Path, what: str) -> str:
    return f"{path}: {what} is " if what else f"{path}: "


class _Link(Exception):
    """The file opened without following links is a link."""


def _open_fd(path: str | Path, what: str, cap: int | None, follow: bool) -> tuple[int, int]:
    """A descriptor of ``path`` and its size, if it is a regular file of at most ``cap`` bytes (``open_regular``)."""
    import errno
    import stat

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise _Link from exc
        raise EcombenchError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise EcombenchError(f"{_refusal(path, what)}not a regular file; it is not read")
        if cap is not None and info.st_size > cap:
            raise EcombenchError(f"{_refusal(path, what)}{info.st_size >> 20} MiB, over the {cap >> 20} MiB limit")
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size  # O_NONBLOCK changes nothing in a regular file's reads


def open_regular(path: Path, what: str = "", cap: int | None = None, follow: bool = True) -> BufferedReader:
    """``path`` opened for reading, if it is a regular file (of at most ``cap`` bytes). A FIFO, a device such as
    ``/dev/zero`` or a folder is one EcombenchError naming it (as ``what``), never read: the file is opened without
    blocking (a FIFO with no writer would hang) and checked on the open descriptor, so nothing is swapped in between;
    with ``follow=False`` a link there is refused too. FileNotFoundError is left to the caller to word."""
    try:
        fd, _ = _open_fd(path, what, cap, follow)
    except _Link as exc:
        raise EcombenchError(f"{_refusal(path, what)}a link; it is not read") from exc
    return os.fdopen(fd, "rb")


def _open_inside(directory: Path, name: str, what: str, cap: int) -> tuple[str | Path, int, int]:
    path = os.path.join(directory, name)
    if not (os.sep in name or (os.altsep and os.altsep in name) or name in (".", "..")):
        try:
            return (path, *_open_fd(path, what, cap, follow=False))  # not a link: no other check needed
        except _Link:
            pass
    # a link (or a name with a separator) may lead out of the folder: resolved, and followed only to a file in it
    try:
        resolved = Path(path).resolve(strict=True)
        if resolved.parent != directory.resolve():
            raise EcombenchError(f"{_refusal(path, what)}a link out of {directory}; it is not read")
        return (resolved, *_open_fd(resolved, what, cap, follow=False))
    except _Link as exc:  # made a link meanwhile
        raise EcombenchError(f"{_refusal(path, what)}a link; it is not read") from exc
    except (FileNotFoundError, EcombenchError):
        raise
    except (OSError, RuntimeError) as exc:
        raise EcombenchError(f"{path}: cannot read ({exc})") from exc


def open_inside(directory: Path, name: str, what: str, cap: int) -> tuple[Path, BufferedReader]:
    """``open_regular`` of the file ``name`` in ``directory``, which must be a regular file inside it (a link is
    followed only to a file in ``directory`` itself: a link to ``/dev/zero`` or a file elsewhere is one error, never
    read); returns where it lies and the open file. FileNotFoundError (a dangling link too) is left to the caller."""
    path, fd, _ = _open_inside(directory, name, what, cap)
    return Path(path), os.fdopen(fd, "rb")


def read_inside(directory: Path, name: str, what: str, cap: int) -> bytes:
    """The bytes of ``open_inside``'s file, at most ``cap`` of them even when it grows while being read."""
    path, fd, size = _open_inside(directory, name, what, cap)
    parts, total = [], 0
    try:
        while chunk := os.read(fd, max(size + 1 - total, 1 << 16)):  # one byte more than its size tells a file still growing
            parts.append(chunk)
            total += len(chunk)
            if total > cap:
                raise EcombenchError(f"{_refusal(path, what)}over the {cap >> 20} MiB limit (it grew while being read)")
    finally:
        os.close(fd)
    return b"".join(parts)


def bounded_lines(handle: IO[AnyStr], where: str, cap: int | None = None) -> Iterator[tuple[int, AnyStr]]:
    """(line number, line) of a file read a line at a time, each line at most ``cap`` (``MAX_LINE_BYTES``) bytes
    (characters, for text): a longer one is one EcombenchError at ``where:line``, never read whole."""
    cap = MAX_LINE_BYTES if cap is None else cap
    number = 0
    while True:
        line = handle.readline(cap + 1)
        if not line:
            return
        number += 1
        if len(line) > cap and line[-1:] not in ("\n", b"\n"):
            raise EcombenchError(f"{where}:{number}: a line over {cap >> 20} MiB; it is not read")
        yield number, line


def parse_json(text: str | bytes, where: str) -> Any:
    """``json.loads`` whose every failure is one EcombenchError naming ``where``: broken JSON, nesting too
    deep for the parser (RecursionError) and integers longer than Python converts (ValueError)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EcombenchError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    except RecursionError as exc:
        raise EcombenchError(f"{where}: JSON nested too deeply to read") from exc
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise EcombenchError(f"{where}: JSON value not readable ({str(exc).split(';')[0]})") from exc


@contextmanager
def atomic_writer(path: Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it over ``path`` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{owner_tag()}", suffix=".tmp", dir=path.parent)
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


# The globals a cached DataFrame or detail table needs, and nothing else: a cache file that names any other
# (a planted pickle that would run code) is not read; the cache is then rebuilt, which costs only time.
PICKLE_GLOBALS = frozenset(
    {
        ("builtins", "slice"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("pandas", "Categorical"),
        ("pandas", "CategoricalDtype"),
        ("pandas", "DataFrame"),
        ("pandas", "Series"),
        ("pandas", "Index"),
        ("pandas", "RangeIndex"),
        ("pandas", "DatetimeIndex"),
        ("pandas", "MultiIndex"),
        ("pandas", "StringDtype"),
        ("pandas", "Int64Dtype"),
        ("pandas", "Float64Dtype"),
        ("pandas", "BooleanDtype"),
        ("pandas", "DatetimeTZDtype"),
        ("pandas", "Timestamp"),
        ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
        ("pandas.arrays", "ArrowStringArray"),
        ("pandas.arrays", "StringArray"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.internals.managers", "BlockManager"),
        ("pyarrow.lib", "_restore_array"),
        ("pyarrow.lib", "py_buffer"),
        ("pyarrow.lib", "type_for_alias"),
    }
)


def write_cache_pickle(path: Path, value: Any) -> None:
    """Write a cache file atomically for :func:`read_cache_pickle`; a folder that cannot be written only costs
    speed (the cache is rebuilt next time), so that is no error."""
    import pickle

    try:
        with atomic_writer(path, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        pass


def read_cache_pickle(path: Path) -> Any:
    """A cache file written by ecombench, or None: a file that is missing, not this user's, writable by anyone,
    broken, or that names any global outside ``PICKLE_GLOBALS`` is not read (never a traceback, never its code run)."""
    import pickle
    import stat

    class _Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in PICKLE_GLOBALS:
                raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache file")
            return super().find_class(module, name)

    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o002:
                return None
            return _Restricted(handle).load()
    except Exception:  # whatever a broken or planted file raises, the cache is only rebuilt
        return None
