"""`ecombench sweep --executor ray` and `run_many` on a local 2-CPU Ray cluster, with builtin:tiny.

The claim tests need no Ray. The Ray tests skip when Ray is not installed (`pip install 'ecombench[ray]'`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from ecombench.errors import EcombenchError
from ecombench.executors import Claims, LocalExecutor, RayExecutor, make_executor, run_many
from ecombench.io import owner_tag


def _sweep(root: Path, name: str, **grid) -> dict:
    """A 4-cell sweep (1 or 2 capabilities x ranks 2 and 4), 3 steps per cell, 3 tasks x 4 items scored
    (tasks on which builtin:tiny scores above zero, two of them nDCG: a changed weight would show)."""
    return {
        "name": name,
        "output": str(root / name),
        "compare_to_base": False,  # these tests are about executors and claims; tests/test_train.py checks the base row
        "train": {
            "model": "builtin:tiny",
            "submissions_dir": str(root / f"{name}-subs"),
            "data": {"max_per_task": 10},
            "train": {"max_steps": 3, "batch_size": 1, "max_length": 512},
            "eval": {"tasks": ["core_query_ranking", "core_multilingual_ranking", "core_cheapest_mc"], "limit": 4},
        },
        "grid": {
            "tracks": ["user_behavior_alignment", "knowledge_reasoning"],
            "num_capabilities": [1, 2],
            "tasks_per_capability": [1],
            "ranks": [2, 4],
            **grid,
        },
    }


def _config(root: Path, name: str, **grid):
    from ecombench.train.sweep import SweepConfig

    return SweepConfig.model_validate(_sweep(root, name, **grid))


SCORES = ("all_around", "held_in", "held_out", "train_loss")


def _scores(rows: list[dict]) -> dict[str, tuple]:
    return {r["id"]: tuple(r.get(k) for k in SCORES) for r in rows}


def _like(expected: dict[str, tuple]) -> dict[str, tuple]:
    """Scores exactly; the training loss to 1e-6 (a worker with another torch thread count sums in another order)."""
    return {cell: (*values[:-1], pytest.approx(values[-1], rel=1e-6)) for cell, values in expected.items()}


# --- claims: no Ray, no model ---------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    "content, age_s, free",
    [
        ("{host}-{live}-ab12", 0, False),  # this host, live driver
        ("{host}-{live}-ab12", 3600, True),  # this host, a claim from before start times whose pid lives: no heartbeat for an hour
        ("{host}-{dead}-ab12", 0, True),  # this host, driver gone
        ("0f0f0f-1-ab12", 0, False),  # another host, refreshed just now
        ("0f0f0f-1-ab12", 3600, True),  # another host, no heartbeat for an hour
        ("", 0, False),  # being written this instant
        ("{host}-{live}-ab12 started {live_start}", 0, False),  # this host, the very process that claimed it
        ("{host}-{live}-ab12 started 1", 0, True),  # this host, the pid lives but is another process now (a restart)
        ("{host}-{me}-ab12 started 1", 0, True),  # ... even this driver's own pid, reused after a container restart
    ],
)
def test_a_claim_is_free_only_when_its_driver_is_gone(tmp_path, content, age_s, free):
    from ecombench.io import process_start

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        claims = Claims(tmp_path)
        path = claims.path("k1-t1-r2")
        fields = {"host": owner_tag().split("-")[0], "live": live.pid, "dead": _dead_pid(), "me": os.getpid(), "live_start": process_start(live.pid)}
        path.write_text(content.format(**fields))
        os.utime(path, (time.time() - age_s, time.time() - age_s))
        with claims:
            assert claims.take("k1-t1-r2") is free
            assert (claims.owner("k1-t1-r2") or "").startswith(owner_tag()) is free
        # released on close: only a claim this driver took is removed
        assert path.exists() is not free
    finally:
        live.kill()
        live.wait()


def test_two_claimers_one_winner_and_release(tmp_path):
    first, second = Claims(tmp_path), Claims(tmp_path)
    assert first.take("cell") and not second.take("cell")
    first.release("cell")
    assert second.take("cell") and not first.take("cell")
    second.close()
    assert not (tmp_path / "cell.claim").exists()


def test_ray_only_options_need_the_ray_executor():
    with pytest.raises(EcombenchError, match="--address, --max-parallel: only with --executor ray"):
        make_executor("local", address="auto", max_parallel=2)
    with pytest.raises(EcombenchError, match="choose local or ray"):
        make_executor("slurm")
    assert isinstance(make_executor("ray", max_parallel=2), RayExecutor)


# --- Ray: a local cluster of 2 worker CPUs --------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tiny_model):
    """A local Ray cluster with 2 CPUs (2 cells at once); yields its address for other drivers."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory, tiny_model):
    """The 4-cell sweep with the local executor: the scores every executor must reproduce."""
    from ecombench.train.sweep import run_sweep

    root = tmp_path_factory.mktemp("local")
    result = run_sweep(_config(root, "grid"), executor=LocalExecutor())
    assert len(result.rows) == 4
    return root, _scores(result.rows)


@pytest.mark.slow
def test_ray_sweep_matches_local_and_retries_a_killed_worker(tmp_path, cluster, local_rows):
    from ecombench.train.sweep import run_sweep

    worker_file = tmp_path / "grid" / "claims" / "k1-t1-r2.worker"
    killed: list[int] = []

    def kill_first_worker() -> None:  # SIGKILL the Ray worker that trains k1-t1-r2, as soon as it starts
        deadline = time.time() + 120
        while time.time() < deadline and not worker_file.is_file():
            time.sleep(0.05)
        pid = json.loads(worker_file.read_text())["pid"]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    statuses: dict[str, str] = {}
    result = run_sweep(_config(tmp_path, "grid"), executor=RayExecutor(retries=1), on_cell=lambda row, s: statuses.__setitem__(row["id"], s))
    killer.join()
    assert killed and json.loads(worker_file.read_text())["pid"] != killed[0]  # a new worker trained it again
    assert result.failed == {} and statuses == dict.fromkeys(local_rows[1], "trained")
    assert _scores(result.rows) == _like(local_rows[1])
    assert len(list((tmp_path / "grid-subs").glob("*.items.jsonl"))) == 4  # one submission per cell
    assert len((tmp_path / "grid" / "results.csv").read_text().splitlines()) == 5
    assert not list((tmp_path / "grid" / "claims").glob("*.claim"))  # all released


def _seed(root: Path, dest: Path, cells: list[str]) -> Path:
    """A sweep folder holding copies of some cells the local executor finished."""
    (dest / "grid" / "cells").mkdir(parents=True)
    for cell in cells:
        shutil.copytree(root / "grid" / "cells" / cell, dest / "grid" / "cells" / cell)
    return dest / "grid" / "cells"


@pytest.mark.slow
def test_ray_keeps_cells_of_the_local_executor_and_reports_a_failed_cell(tmp_path, cluster, local_rows):
    from ecombench.train.sweep import run_sweep

    root, expected = local_rows
    cells = _seed(root, tmp_path, ["k1-t1-r2", "k1-t1-r4"])
    (cells / "k2-t1-r4").mkdir()
    (cells / "k2-t1-r4" / "notes.txt").write_text("not a training folder")  # this cell fails at once
    statuses: dict[str, str] = {}
    result = run_sweep(_config(tmp_path, "grid"), executor=RayExecutor(), on_cell=lambda row, s: statuses.__setitem__(row["id"], s))
    assert statuses == {"k1-t1-r2": "kept", "k1-t1-r4": "kept", "k2-t1-r2": "trained", "k2-t1-r4": "failed"}
    assert "is not empty and is not an ecombench training folder" in result.failed["k2-t1-r4"]
    assert _scores(result.rows) == {k: v for k, v in expected.items() if k != "k2-t1-r4"}
    assert (tmp_path / "grid" / "results.csv").is_file() and not list((tmp_path / "grid" / "claims").glob("*.claim"))


@pytest.mark.slow
def test_ray_workers_without_the_drivers_disk_send_their_files_back(tmp_path, cluster, local_rows):
    from ecombench.train.sweep import run_sweep

    root, expected = local_rows
    cells = _seed(root, tmp_path, ["k1-t1-r2", "k1-t1-r4", "k2-t1-r2"])
    result = run_sweep(_config(tmp_path, "grid"), executor=RayExecutor(storage="gather"))
    assert _scores(result.rows) == expected
    assert not (tmp_path / "grid" / "claims" / "k2-t1-r4.worker").exists()  # trained in a scratch folder
    assert (cells / "k2-t1-r4" / "adapter_config.json").is_file() and (cells / "k2-t1-r4" / "training.json").is_file()
    [record] = (tmp_path / "grid-subs").glob("*.json")
    assert record.stem == result.rows[3]["submission"] and record.with_name(f"{record.stem}.items.jsonl").is_file()
    assert not list((tmp_path / "grid").glob(".ecombench-driver-*"))  # the driver's marker is removed


@pytest.mark.slow
def test_two_drivers_on_one_folder_train_each_cell_once(tmp_path, cluster, local_rows):
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(_sweep(tmp_path, "grid")))
    cmd = [sys.executable, "-m", "ecombench", "sweep", "--config", str(path), "--executor", "ray", "--address", cluster, "--max-parallel", "1"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    claims = tmp_path / "grid" / "claims"
    deadline = time.time() + 120
    while time.time() < deadline and not list(claims.glob("*.claim")):  # the first driver is under way
        time.sleep(0.1)
    second = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    outs = [p.communicate(timeout=300) for p in (first, second)]
    # A driver that left cells to the other, still running, exits 3 (issue 26: not 0); the one that finished them exits 0.
    codes = [p.returncode for p in (first, second)]
    assert set(codes) <= {0, 3} and 0 in codes, [err[-2000:] for _, err in outs]
    for code, (_, err) in zip(codes, outs, strict=True):
        assert (code == 3) == ("another live driver holds their claims" in err)

    def trained(stdout: str) -> set[str]:
        return {line.split()[1].rstrip(":") for line in stdout.splitlines() if line.startswith("cell ") and "All-Around" in line and "kept" not in line}

    a, b = trained(outs[0][0]), trained(outs[1][0])
    assert a and b and not a & b and a | b == set(local_rows[1])  # the work was shared, none done twice
    assert len(list((tmp_path / "grid-subs").glob("*.items.jsonl"))) == 4
    assert "claimed by another driver" in outs[1][0]
    rows = [json.loads((tmp_path / "grid" / "cells" / c / "result.json").read_text()) for c in local_rows[1]]
    assert _scores(rows) == _like(local_rows[1])


@pytest.mark.slow
def test_run_many_scores_each_model_once_over_ray(tmp_path, cluster):
    from ecombench.run import RunOptions
    from ecombench.submissions import load

    options = [RunOptions(model="builtin:tiny", name=name, tasks=["core_query_ranking"], limit=4, submissions_dir=tmp_path / "subs") for name in ("a", "b")]
    outcomes = run_many(options, RayExecutor(storage="gather"))
    assert [o.error for o in outcomes] == [None, None]
    subs = {load(o.value).name: load(o.value) for o in outcomes}
    assert sorted(subs) == ["a", "b"] and subs["a"].all_around == subs["b"].all_around > 0
    assert sorted(p.parent for p in (tmp_path / "subs").glob("*.json")) == [tmp_path / "subs"] * 2


@pytest.mark.slow
def test_a_sweep_that_leaves_cells_to_another_live_driver_does_not_exit_0(tmp_path):
    """Issue 26 (16): cells skipped because a live driver holds their claims are not done: exit 3, said on stderr."""
    import yaml

    from ecombench.io import process_start
    from tests.helpers.cli import run_ecombench

    sweep = {
        "name": "held",
        "output": str(tmp_path / "sweep"),
        "train": {"model": "builtin:tiny", "submissions_dir": str(tmp_path / "subs"), "data": {"max_per_task": 10}, "train": {"max_steps": 1}},
        "grid": {"tracks": ["user_behavior_alignment"], "num_capabilities": [1], "tasks_per_capability": [1], "ranks": [2]},
    }
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        claims = tmp_path / "sweep" / "claims"
        claims.mkdir(parents=True)
        (claims / "k1-t1-r2.claim").write_text(f"{owner_tag()[:6]}-{other.pid}-ab12 started {process_start(other.pid)}")
        done = run_ecombench("sweep", "--config", str(tmp_path / "sweep.yaml"), cwd=tmp_path)
    finally:
        other.kill()
        other.wait()
    assert done.returncode == 3, done.stderr[-2000:]
    assert "ecombench: 1 cell(s) not done by this run (k1-t1-r2): another live driver holds their claims" in done.stderr
