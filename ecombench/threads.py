"""How many CPU threads torch may use: the CPUs this process can really have, not the host's count.

torch sizes its intra-op pool from the host's cores. Under a CPU affinity mask (SLURM, ``taskset``),
a cgroup quota (Kubernetes, Docker ``--cpus``) or other busy processes, that pool has more threads
than CPUs, and OpenMP's spinning threads then wait on each other for whole scheduler slices: on a
shared 2-core machine a training run once took 15x longer with torch's default than with one
thread (``benchmarks/bench_contention.py`` measures it). The rule here, in order:

1. ``--threads N`` (the global option) or ``ECOMBENCH_THREADS=N``: exactly N;
2. otherwise the CPUs in the affinity mask, capped by the cgroup quota (rounded down, at least 1),
   minus the CPUs other processes keep busy at start-up (``procs_running`` in ``/proc/stat``,
   sampled a few times), divided among the processes of an ``accelerate launch``.

Everything here is pure or reads ``/proc`` and ``/sys``; torch is imported only by ``apply``.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

ENV_VAR = "ECOMBENCH_THREADS"


def affinity_cpus() -> int:
    """CPUs this process may run on (its affinity mask), or the host's count where the mask is unknown."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parse_cgroup_v2(text: str) -> float | None:
    """``cpu.max`` ("quota period", or "max period"): the quota in CPUs, None when unlimited."""
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    quota, period = float(parts[0]), float(parts[1])
    return quota / period if quota > 0 and period > 0 else None


def parse_cgroup_v1(quota_text: str, period_text: str) -> float | None:
    """``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``: the quota in CPUs, None when unlimited (-1)."""
    quota, period = float(quota_text.strip()), float(period_text.strip())
    return quota / period if quota > 0 and period > 0 else None


def cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """This process's CPU quota in CPUs (cgroup v2, then v1), None when there is none."""
    try:
        rel = ""
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            hierarchy, _, path = line.partition(":")[2].partition(":")
            if hierarchy == "" or "cpu" in hierarchy.split(","):
                rel = path.lstrip("/")
                break
    except OSError:
        rel = ""
    for folder in (root / rel, root) if rel else (root,):
        try:
            return parse_cgroup_v2((folder / "cpu.max").read_text())
        except (OSError, ValueError):
            pass
    for folder in (root / "cpu" / rel, root / "cpu", root / "cpu,cpuacct"):
        try:
            return parse_cgroup_v1((folder / "cpu.cfs_quota_us").read_text(), (folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            pass
    return None


def busy_cpus(samples: int = 5, interval_s: float = 0.01) -> int:
    """CPUs other processes keep busy now: the median of ``procs_running`` minus this process, at least 0."""
    counts = []
    for i in range(samples):
        try:
            for line in Path("/proc/stat").read_text().splitlines():
                if line.startswith("procs_running"):
                    counts.append(int(line.split()[1]) - 1)  # this process is running while it reads
                    break
        except (OSError, ValueError):
            return 0
        if i + 1 < samples:
            time.sleep(interval_s)
    return max(0, sorted(counts)[len(counts) // 2]) if counts else 0


def choose(*, requested: int | None, affinity: int, quota: float | None, busy: int, processes: int = 1) -> int:
    """The rule, as a pure function: an explicit request wins; else usable CPUs split over processes."""
    if requested is not None:
        return max(1, requested)
    usable = affinity if quota is None else min(affinity, max(1, math.floor(quota)))
    usable = max(1, usable - busy)
    return max(1, usable // max(1, processes))


def requested_threads(flag: int | None = None) -> int | None:
    """``--threads`` if given, else ``ECOMBENCH_THREADS``; a bad value is an error naming where it came from."""
    from ecombench.errors import EcombenchError

    if flag is not None:
        if flag < 1:
            raise EcombenchError(f"--threads {flag}: must be at least 1")
        return flag
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise EcombenchError(f"{ENV_VAR}={text!r}: must be a positive integer")
    return int(text)


def request(n: int) -> None:
    """``--threads N``: validated, then kept in ``ECOMBENCH_THREADS`` so child processes use it too."""
    os.environ[ENV_VAR] = str(requested_threads(n))


def thread_count(flag: int | None = None) -> int:
    from ecombench.distributed import launched_processes

    requested = requested_threads(flag)
    if requested is not None:
        return requested
    return choose(requested=None, affinity=affinity_cpus(), quota=cgroup_quota(), busy=busy_cpus(), processes=launched_processes())


_applied: int | None = None


def apply() -> int:
    """Set torch's intra-op threads to the chosen count, once per process (later calls return it)."""
    global _applied
    if _applied is None:
        import torch

        _applied = thread_count()
        if torch.get_num_threads() != _applied:
            torch.set_num_threads(_applied)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "true" if _applied > 1 else "false")
    return _applied
