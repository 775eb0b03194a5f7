"""The efficiency record: stage times, token counts, rates and peaks, as every `ecombench run` submission carries."""

from __future__ import annotations

import json

import pytest

from ecombench import efficiency, submissions
from ecombench.run.lm_eval_bridge import Sample


class _WordTokenizer:
    """One token per space-separated word: counts a reader can check by eye."""

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return [0] * len(text.split()) + ([1] if add_special_tokens else [])


class _TiktokenLike:
    def encode(self, text: str) -> list[int]:
        return [0] * len(text)


def test_stage_clock_adds_a_stage_timed_twice(monkeypatch):
    ticks = iter([0.0, 1.5, 10.0, 10.25, 20.0, 22.0])
    monkeypatch.setattr(efficiency.time, "perf_counter", lambda: next(ticks))
    clock = efficiency.StageClock()
    for name in ("load", "generate", "load"):
        with clock.stage(name):
            pass
    assert clock.seconds == {"load": 3.5, "generate": 0.25}


def test_a_snapshot_counts_the_running_stage_up_to_now(monkeypatch):
    ticks = iter([0.0, 2.0, 5.0, 7.5, 9.0])
    monkeypatch.setattr(efficiency.time, "perf_counter", lambda: next(ticks))
    clock = efficiency.StageClock()
    with clock.stage("score"):
        pass
    with clock.stage("record"):
        assert clock.snapshot() == {"score": 2.0, "record": 2.5}


def test_tokens_are_counted_without_special_tokens_and_by_tiktoken_style_encoders():
    assert efficiency.count_tokens(_WordTokenizer(), ["a b c", "d e"]) == 5  # no BOS per text
    assert efficiency.count_tokens(_TiktokenLike(), ["abc", "de"]) == 5
    assert efficiency.count_tokens(None, ["a"]) is None  # a served model without a tokenizer


def test_measure_gives_tokens_rate_and_stages():
    clock = efficiency.StageClock()
    clock.seconds = {"load": 2.0, "generate": 4.0, "score": 1.0, "record": 0.1}
    samples = [Sample("t", 0, {}, "one two three", "x y z w"), Sample("t", 1, {}, "four", "v w y z")]
    cost = efficiency.measure(clock, samples, _WordTokenizer(), "cpu")
    assert cost.prompt_tokens == 4 and cost.generated_tokens == 8 and cost.generated_tokens_per_s == 2.0  # 8 tokens / 4 s
    assert cost.stage_s == {"load": 2.0, "generate": 4.0, "score": 1.0, "record": 0.1}
    assert cost.device == "cpu" and cost.peak_device_mb is None and cost.threads >= 1 and cost.peak_host_mb and cost.peak_host_mb > 1


def test_loglikelihood_answers_generate_no_tokens():
    clock = efficiency.StageClock()
    clock.seconds = {"generate": 1.0}
    cost = efficiency.measure(clock, [Sample("t", 0, {}, "a b", [(-1.0, False)])], _WordTokenizer(), "cpu")
    assert cost.prompt_tokens == 2 and cost.generated_tokens is None and cost.generated_tokens_per_s is None


def test_a_record_from_before_efficiency_still_loads(tmp_path):
    record = {
        "id": "old",
        "name": "old",
        "created": "2026-01-01T00:00:00Z",
        "model": {"spec": "m", "kind": "local", "base_model": "m", "weights_sha256": None, "dtype": "float32"},
        "ecombench_version": "0.1",
        "lm_eval_version": "0.4",
        "generation": {"protocol": "generate", "system_prompt": None, "max_gen_toks": {}, "batch_size": "1", "device": "cpu", "limit": None},
        "tasks": {},
        "tracks": {},
        "all_around": 0.5,
        "overall_task_mean": 0.5,
        "duration_s": 1.0,
        "hardware": {"platform": "p", "python": "3.11", "torch": "2", "device": "cpu", "cpu_count": 2},
        "items_file": "old.items.jsonl",
    }
    (tmp_path / "old.json").write_text(json.dumps(record))
    assert submissions.load(tmp_path / "old.json").efficiency is None


def _costly(name: str, rate: float | None):
    from tests.helpers.boards import make_submission, uniform

    sub = make_submission(name, uniform(0.5))
    if rate is None:
        return sub  # a record from before efficiency was kept
    cost = submissions.Efficiency(
        stage_s={"load": 1.0, "generate": 8.0, "score": 2.0, "record": 0.05},
        prompt_tokens=1000,
        generated_tokens=int(rate * 8),
        generated_tokens_per_s=rate,
        peak_host_mb=812.34,
        device="cpu",
        threads=2,
    )
    return sub.model_copy(update={"efficiency": cost})


def test_the_board_shows_efficiency_columns_only_when_asked():
    from dataclasses import replace

    from ecombench.leaderboard.render import render
    from tests.helpers.boards import INDEX, board, build_table

    table = build_table(board(), INDEX, [_costly("fast", 50.0), _costly("old", None)])
    assert "efficiency" not in render(table, "csv")  # off by default
    rows = json.loads(render(replace(table, show_efficiency=True), "json"))["rows"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["fast"]["efficiency:tokens_per_s"] == 50.0 and by_name["fast"]["efficiency:generate_s"] == 8.0
    assert by_name["fast"]["efficiency:peak_host_mb"] == 812.34 and by_name["fast"]["efficiency:threads"] == 2
    assert by_name["old"]["efficiency:tokens_per_s"] is None  # no record: shown empty, not zero
    markdown = render(replace(table, show_efficiency=True), "markdown")
    header = (
        "| efficiency:generate_s | efficiency:tokens_per_s | efficiency:peak_host_mb | efficiency:peak_device_mb | efficiency:device | efficiency:threads |"
    )
    assert header in markdown and "| 8.0 | 50.0 | 812.3 | - | cpu | 2 |" in markdown  # generate s, tok/s, host MiB, no device, device, threads


def test_compare_line_of_what_a_run_cost():
    line = efficiency.efficiency_line(_costly("fast", 50.0).efficiency)
    assert line == "load 1.0 s, generate 8.0 s, score 2.0 s, record 0.1 s; 1000 prompt / 400 generated tokens, 50.0 tok/s; peak host 812 MiB; cpu, 2 threads"
    assert efficiency.efficiency_line(None).startswith("not recorded")


@pytest.mark.slow
def test_compare_and_leaderboard_print_what_each_run_cost(tmp_path):
    from tests.helpers.cli import invoke_ecombench

    submissions.save(tmp_path, _costly("fast", 50.0), [])
    submissions.save(tmp_path, _costly("old", None), [])
    done = invoke_ecombench("compare", "fast", "old", "--submissions-dir", tmp_path, "--iters", "100", env={"COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    assert "efficiency A: load 1.0 s, generate 8.0 s" in done.stdout and "50.0 tok/s" in done.stdout
    assert "efficiency B: not recorded" in done.stdout
    shown = invoke_ecombench("compare", "fast", "old", "--submissions-dir", tmp_path, "--iters", "100", "--format", "json")
    (payload,) = json.loads(shown.stdout)
    assert payload["efficiency"]["a"]["generated_tokens_per_s"] == 50.0 and payload["efficiency"]["b"] is None
    board = invoke_ecombench("leaderboard", "--board", "ecombench_starter", "--submissions-dir", tmp_path, "--format", "csv", "--efficiency")
    assert board.returncode == 0, board.stderr
    assert "efficiency:tokens_per_s" in board.stdout.splitlines()[0]
    site = invoke_ecombench("report", "--output", tmp_path / "site", "--board", "ecombench_starter", "--submissions-dir", tmp_path, "--efficiency")
    assert site.returncode == 0, site.stderr
    assert "efficiency:tokens_per_s" in (tmp_path / "site" / "data" / "board-0.js").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_tiny_reference_row_carries_no_efficiency_and_a_rebuild_leaves_it(tmp_path):
    """The builtin:tiny reference is a scale row whose answers come from the answer cache: its timings
    would differ on every rebuild, so it keeps none and an unchanged rebuild writes nothing."""
    from ecombench.references import build_references

    (first,) = build_references(tmp_path, suites=["ecombench_starter"], kinds=["tiny"])
    assert first.written and first.submission.efficiency is None
    (again,) = build_references(tmp_path, suites=["ecombench_starter"], kinds=["tiny"])
    assert not again.written
