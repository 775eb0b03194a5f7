"""Where independent jobs (the cells of a sweep, the models of a batch of runs) execute.

``LocalExecutor`` runs them here, one after another, as ``ecombench sweep`` always has: an error
stops the batch. ``RayExecutor`` runs each as a Ray task on a cluster (a local one, or one started
with ``ray start`` or Ray's SLURM recipe) and reports a failed job with its error while the others
go on; a worker killed mid-job is retried (``retries``), then reported.

Files reach the driver one of two ways (``storage``): workers that see the driver's folders (a
shared filesystem) write in place; workers that do not write into a temporary folder and return
the files, which the driver writes. ``auto`` tells them apart by a marker file the driver writes.

``Claims`` keeps two drivers on one folder from doing the same job twice: one atomically created
claim file per job, naming its driver (host and pid); a claim whose driver is dead is free again.
Ray is imported only when a Ray executor starts.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.io import atomic_writer, is_stale, owner_tag, process_start, sweep_stale, umask

STORAGE = ("auto", "shared", "gather")
MARKER_PREFIX = ".ecombench-driver-"


@dataclass(frozen=True)
class Outcome:
    """One finished job: its value, or (Ray only) the one-line error that ended it."""

    job: Any
    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """How a job's files reach the driver: written in place (shared disk) or returned (gathered)."""

    storage: str = "shared"
    marker: str | None = None  # a file the driver wrote; a worker that can read it shares its disk
    cwd: str = "."  # the driver's working folder, where relative paths in the job point

    def shared(self) -> bool:
        if self.storage != "auto":
            return self.storage == "shared"
        return self.marker is not None and Path(self.marker).is_file()

    @contextmanager
    def workdir(self) -> Iterator[Path | None]:
        """Run in the driver's working folder where this machine has it (relative paths then mean what
        they mean to the driver); yield None on a shared disk, else a scratch folder for the job's files."""
        before = os.getcwd()
        scratch = None if self.shared() else Path(tempfile.mkdtemp(prefix="ecombench-job-"))
        os.chdir(self.cwd if Path(self.cwd).is_dir() else scratch or before)
        try:
            yield scratch
        finally:
            os.chdir(before)
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)


class LocalExecutor:
    """Jobs in this process, in order; the first error stops the batch (``ecombench sweep``'s way)."""

    name = "local"

    @contextmanager
    def delivery(self, folder: Path) -> Iterator[Delivery]:
        yield Delivery("shared", None, os.getcwd())

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Outcome]:
        for job in jobs:
            yield Outcome(job, fn(job))


class RayExecutor:
    """Each job a Ray task with its own CPUs and GPUs; at most ``max_parallel`` in flight.

    ``max_parallel`` defaults to the jobs the cluster can run at once, so that jobs are claimed only
    as they start and a second driver on the same folder takes the rest.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        gpus_per_job: float = 0,
        cpus_per_job: float = 1,
        max_parallel: int | None = None,
        retries: int = 1,
        storage: str = "auto",
    ) -> None:
        if storage not in STORAGE:
            raise EcombenchError(f"--storage {storage}: choose one of {', '.join(STORAGE)}")
        if gpus_per_job < 0 or cpus_per_job <= 0 or (max_parallel is not None and max_parallel < 1) or retries < 0:
            raise EcombenchError("--gpus-per-cell must be at least 0, --cpus-per-cell above 0, --max-parallel at least 1")
        self.address, self.gpus, self.cpus = address, gpus_per_job, cpus_per_job
        self.max_parallel, self.retries, self.storage = max_parallel, retries, storage

    @contextmanager
    def delivery(self, folder: Path) -> Iterator[Delivery]:
        """The driver's marker in ``folder`` for the job's lifetime (``auto``), with this driver's working folder."""
        if self.storage != "auto":
            yield Delivery(self.storage, None, os.getcwd())
            return
        folder.mkdir(parents=True, exist_ok=True)
        sweep_stale(folder, MARKER_PREFIX)  # markers of killed drivers
        marker = folder / f"{MARKER_PREFIX}{owner_tag()}{secrets.token_hex(8)}"
        marker.write_text("workers that read this file share the driver's disk\n", encoding="utf-8")
        try:
            yield Delivery("auto", str(marker.resolve()), os.getcwd())
        finally:
            marker.unlink(missing_ok=True)

    def _connect(self) -> tuple[Any, bool]:
        try:
            import ray
        except ImportError as exc:
            raise EcombenchError("--executor ray needs Ray: pip install 'ecombench[ray]'") from exc
        if ray.is_initialized():
            return ray, False
        _check_reachable(self.address)
        try:
            ray.init(address=self.address, log_to_driver=True)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise EcombenchError(f"--address {self.address}: cannot connect to a Ray cluster ({str(exc).splitlines()[0]})") from exc
        return ray, True

    def _slots(self, ray: Any) -> int:
        if self.max_parallel is not None:
            return self.max_parallel
        resources = ray.cluster_resources()
        slots = int(resources.get("CPU", 1) // self.cpus)
        if self.gpus:
            slots = min(slots, int(resources.get("GPU", 0) // self.gpus))
        return max(1, slots)

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> Iterator[Outcome]:
        from ecombench.distributed import launched_processes

        if launched_processes() > 1:
            raise EcombenchError("--executor ray runs its own workers; start it with plain `ecombench`, not `accelerate launch`")
        ray, started = self._connect()
        remote = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=self.retries)(_call)
        threads = max(1, int(self.cpus))
        waiting = iter(jobs)
        pending: dict[Any, Any] = {}  # Ray object ref -> job
        slots = self._slots(ray)
        try:
            while True:
                while len(pending) < slots:  # jobs are drawn (and claimed) only as slots free up
                    job = next(waiting, _END)
                    if job is _END:
                        break
                    pending[remote.options(name=getattr(job, "label", "ecombench")).remote(fn, threads, job)] = job
                if not pending:
                    return
                [ready], _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(ready)
                try:
                    outcome = Outcome(job, ray.get(ready))
                except Exception as exc:
                    outcome = Outcome(job, error=describe_error(exc))
                yield outcome
        finally:
            for ref in pending:  # an interrupted driver leaves nothing running
                with suppress(Exception):
                    ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


_END = object()


def _check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """A HOST:PORT that nothing answers on is one clear line now, not Ray's minutes of connection retries."""
    if not address or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return
    import socket

    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise EcombenchError(f"--address {address}: no Ray cluster answers there ({exc.strerror or exc}); start one with `ray start --head`") from exc


def _call(fn: Callable[[Any], Any], threads: int, job: Any) -> Any:
    """A job inside a Ray worker: torch gets the task's CPUs (unless ECOMBENCH_THREADS says otherwise)."""
    from ecombench.threads import ENV_VAR

    os.environ.setdefault(ENV_VAR, str(threads))
    return fn(job)


def describe_error(exc: BaseException) -> str:
    """One line for a failed task: the job's own EcombenchError message, else the exception's type and first line."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, EcombenchError):
        return str(cause)
    first = next((line for line in str(cause).splitlines() if line.strip()), "")
    return f"{type(cause).__name__}: {first}".rstrip(": ")


def make_executor(
    name: str, *, address: str | None = None, gpus_per_job: float = 0, cpus_per_job: float = 1, max_parallel: int | None = None, storage: str = "auto"
) -> LocalExecutor | RayExecutor:
    """The executor ``--executor NAME`` asks for; Ray-only options with ``local`` are an error."""
    if name == "local":
        given = [
            flag
            for flag, value in (
                ("--address", address),
                ("--gpus-per-cell", gpus_per_job or None),
                ("--cpus-per-cell", cpus_per_job != 1),
                ("--max-parallel", max_parallel),
                ("--storage", storage != "auto"),
            )
            if value
        ]
        if given:
            raise EcombenchError(f"{', '.join(given)}: only with --executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address, gpus_per_job=gpus_per_job, cpus_per_job=cpus_per_job, max_parallel=max_parallel, storage=storage)
    raise EcombenchError(f"--executor {name}: choose local or ray")


# Files that travel back to the driver: {relative path: bytes}, in the order they must land.
def pack(root: Path, names: Iterable[str]) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in names}


def unpack(files: dict[str, bytes], dest: Path) -> None:
    """Write gathered files under ``dest``, each atomically, in order (names cannot leave ``dest``)."""
    for name, data in files.items():
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or not parts:
            raise EcombenchError(f"gathered file name {name!r} leaves its folder")
        with atomic_writer(dest / name, "wb") as handle:
            handle.write(data)


def submission_files(record: Path) -> list[str]:
    """A submission's item file, then its record (the order readers rely on)."""
    items = record.with_name(record.name.removesuffix(".json") + ".items.jsonl")
    return [p.name for p in (items, record) if p.is_file()]


class Claims:
    """Per-job claim files ``KEY.claim`` in ``folder``, created with O_CREAT|O_EXCL.

    A claim holds its driver's owner tag (host hash and pid), a nonce and the process's start time. It is
    free again when that driver is dead: on this host its pid is gone or is another process now (a claim
    from before start times were recorded: when it was not refreshed for ``STALE_S``); from another host it
    was not refreshed for ``STALE_S`` (a live driver touches its claims every ``HEARTBEAT_S``).
    """

    HEARTBEAT_S = 60.0
    STALE_S = 600.0

    def __init__(self, folder: Path, enabled: bool = True) -> None:
        self.folder, self.enabled = folder, enabled
        self.held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.claim"

    def owner(self, key: str) -> str | None:
        try:
            return self.path(key).read_text(encoding="utf-8")[:40] or None
        except OSError:
            return None

    def take(self, key: str) -> bool:
        """Claim ``key`` for this driver; False while a live driver holds it."""
        if not self.enabled:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        path, mine = self.path(key), f"{owner_tag()}{secrets.token_hex(4)} started {process_start(os.getpid())}"
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~umask())
            except FileExistsError:
                if not self._clear_if_stale(path):
                    return False
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(mine)
            with self._lock:
                self.held[key] = mine
            self._start_heartbeat()
            return True
        return False

    def release(self, key: str) -> None:
        with self._lock:
            mine = self.held.pop(key, None)
        if mine is not None and self.owner(key) == mine:
            self.path(key).unlink(missing_ok=True)

    def close(self) -> None:
        self._stop.set()
        for key in list(self.held):
            self.release(key)

    def __enter__(self) -> Claims:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stale(self, path: Path) -> bool:
        try:
            text, age = path.read_text(encoding="utf-8"), time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return True
        if _TAG.match(text) and text.startswith(owner_tag().split("-")[0]):
            # same host: the claim is stale when its pid is gone, or is now another process (a pid reused after a
            # restart, this driver's own included), told by the start time the claim recorded
            pid, started = int(_TAG.match(text).group(2)), text.partition(" started ")[2].strip()  # type: ignore[union-attr]
            now = process_start(pid)
            if is_stale(Path(text.split(" ")[0]), "") or bool(started and now and started != now):
                return True
            # a claim from before claims recorded a start time cannot tell its driver from a process that reused the
            # pid: it is stale once its heartbeat stops (every driver, of any version, refreshes its claims)
            return not started and age > self.STALE_S
        return age > self.STALE_S  # another host (or a claim still being written): by its heartbeat

    def _clear_if_stale(self, path: Path) -> bool:
        """Remove a dead driver's claim. Moved aside first and checked, so that of two drivers that
        both judged it stale, the second cannot remove the fresh claim of the first."""
        try:
            seen = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return True
        if not self._stale(path):
            return False
        aside = path.with_name(f".{path.name}-{owner_tag()}{secrets.token_hex(3)}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return True
        if aside.read_text(encoding="utf-8") != seen:  # a fresh claim was moved: put it back
            try:
                os.link(aside, path)
            except FileExistsError:
                pass
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def _start_heartbeat(self) -> None:
        if self._beat is not None:
            return

        def beat() -> None:
            while not self._stop.wait(self.HEARTBEAT_S):
                with self._lock:
                    held = dict(self.held)
                for key, mine in held.items():
                    if self.owner(key) == mine:
                        try:
                            os.utime(self.path(key))
                        except OSError:
                            pass

        self._beat = threading.Thread(target=beat, name="ecombench-claims", daemon=True)
        self._beat.start()


_TAG = re.compile(r"([0-9a-f]{6})-(\d+)-")


@dataclass(frozen=True)
class RunJob:
    options: Any  # ecombench.run.RunOptions
    delivery: Delivery

    @property
    def label(self) -> str:  # the Ray task's name
        return f"ecombench run {self.options.name or self.options.model}"


def run_one(job: RunJob) -> tuple[str, dict[str, bytes]]:
    """Score one model (in a worker); its submission's file name, and the files when the driver gathers them."""
    from ecombench.run import run

    with job.delivery.workdir() as scratch:
        options = job.options if scratch is None else replace(job.options, submissions_dir=scratch / "submissions")
        result = run(options)
        if result.path is None:
            raise EcombenchError(f"{options.model}: the run wrote no submission (a test set without answers?)")
        files = {} if scratch is None else pack(result.path.parent, submission_files(result.path))
        return result.path.name, files


def run_many(options: list[Any], executor: LocalExecutor | RayExecutor | None = None, on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Score several models (``RunOptions`` each), one submission per model, over ``executor``.

    Each outcome's value is the path of the submission record on this machine; with Ray a failed
    model is an outcome with its error, and the others go on.
    """
    executor = executor or LocalExecutor()
    options = [replace(o, submissions_dir=o.submissions_dir.expanduser().resolve()) for o in options]
    if isinstance(executor, LocalExecutor):
        return _run_here(options, on_done)
    outcomes = []
    folder = options[0].submissions_dir if options else Path.cwd()
    with executor.delivery(folder) as delivery:
        for outcome in executor.map(run_one, [RunJob(o, delivery) for o in options]):
            if outcome.error is None:
                name, files = outcome.value
                dest = outcome.job.options.submissions_dir
                unpack(files, dest)
                outcome = Outcome(outcome.job.options, dest / name)
            else:
                outcome = Outcome(outcome.job.options, error=outcome.error)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return outcomes


def _run_here(options: list[Any], on_done: Callable[[Outcome], None] | None) -> list[Outcome]:
    """``run_many`` in this process: adapters of one base with the same settings are scored together, the base
    loaded once and their answers generated in shared batches (``ecombench.adapter_runs``); others one by one."""
    from ecombench.adapter_runs import groups, run_adapters
    from ecombench.run import run

    done: dict[int, Outcome] = {}

    def finished(i: int, result: Any) -> None:
        if result.path is None:
            raise EcombenchError(f"{options[i].model}: the run wrote no submission (a test set without answers?)")
        done[i] = Outcome(options[i], result.path)
        if on_done is not None:
            on_done(done[i])

    for group in groups(options):
        if len(group) == 1:
            finished(group[0], run(options[group[0]]))
            continue

        def each(k: int, result: Any, group: list[int] = group) -> None:
            finished(group[k], result)

        run_adapters([options[i] for i in group], on_result=each)
    return list(done.values())  # in the order they finished
