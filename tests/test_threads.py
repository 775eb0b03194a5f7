"""The thread rule: explicit requests win, else usable CPUs (affinity, cgroup quota, busy CPUs) per process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ecombench import threads
from ecombench.errors import EcombenchError


@pytest.mark.parametrize(
    ("requested", "affinity", "quota", "busy", "processes", "expected"),
    [
        (None, 2, None, 0, 1, 2),  # a quiet 2-core machine: both cores
        (None, 2, None, 1, 1, 1),  # another job keeps one core busy: one thread, not two fighting over one core
        (None, 64, 2.0, 0, 1, 2),  # a Kubernetes pod with cpus: 2 on a 64-core host
        (None, 64, 1.5, 0, 1, 1),  # a fractional quota rounds down
        (None, 64, 0.2, 0, 1, 1),  # ... but never below one
        (None, 8, None, 0, 4, 2),  # accelerate launch with 4 CPU processes: the cores are shared out
        (None, 2, None, 5, 1, 1),  # more busy processes than cores: still one
        (3, 2, None, 1, 1, 3),  # --threads / ECOMBENCH_THREADS win, whatever the machine says
    ],
)
def test_choose(requested, affinity, quota, busy, processes, expected):
    assert threads.choose(requested=requested, affinity=affinity, quota=quota, busy=busy, processes=processes) == expected


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("max 100000", None), ("200000 100000", 2.0), ("150000 100000", 1.5), ("50000 100000", 0.5)],
)
def test_cgroup_v2_quota(text, cpus):
    assert threads.parse_cgroup_v2(text) == cpus


def test_cgroup_v1_quota():
    assert threads.parse_cgroup_v1("-1\n", "100000\n") is None
    assert threads.parse_cgroup_v1("400000\n", "100000\n") == 4.0


def test_cgroup_quota_read_from_a_v2_tree(tmp_path):
    (tmp_path / "cpu.max").write_text("300000 100000\n")
    assert threads.cgroup_quota(tmp_path) == 3.0


def test_bad_requests_are_one_line_errors(monkeypatch):
    with pytest.raises(EcombenchError, match="--threads 0: must be at least 1"):
        threads.requested_threads(0)
    monkeypatch.setenv(threads.ENV_VAR, "two")
    with pytest.raises(EcombenchError, match="ECOMBENCH_THREADS='two': must be a positive integer"):
        threads.requested_threads()
    monkeypatch.setenv(threads.ENV_VAR, "3")
    assert threads.thread_count() == 3


@pytest.mark.slow
def test_cli_threads_option_sets_torch_threads(tmp_path):
    code = (
        "import sys; from ecombench.cli import app; from ecombench import threads; import torch\n"
        "sys.argv=['ecombench','--threads','1','tasks']\n"
        "try: app()\nexcept SystemExit: pass\n"
        "print('applied', threads.apply(), torch.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "applied 1 1"
    bad = subprocess.run([sys.executable, "-m", "ecombench", "--threads", "0", "tasks"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip() == "ecombench: error: --threads 0: must be at least 1"
