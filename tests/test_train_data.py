"""Training config, mixtures and the contamination check: no model needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecombench import contamination
from ecombench.errors import EcombenchError
from ecombench.train.config import DataConfig, load_config
from ecombench.train.data import TrainRecord, build_mixture, load_records


def _records() -> list[TrainRecord]:
    spec = [("a", "x", 10), ("b", "x", 10), ("c", "y", 10), ("d", "z", 6)]
    return [TrainRecord(f"prompt {t} {i}", f"answer {i}", t, tr) for t, tr, n in spec for i in range(n)]


@pytest.mark.parametrize(
    "config, expected",
    [
        # every task, all records
        ({}, {"a": 10, "b": 10, "c": 10, "d": 6}),
        # a cap per task
        ({"max_per_task": 4}, {"a": 4, "b": 4, "c": 4, "d": 4}),
        # total 12 over tracks x:y = 2:1 (z not chosen): x gets 8 (a 4, b 4), y gets 4
        ({"total": 12, "tracks": {"x": 2.0, "y": 1.0}}, {"a": 4, "b": 4, "c": 4}),
        # a count is taken as given; the weight of c shares its track's half of 9 (4.5 -> 4, the tie goes to x by name)
        ({"total": 9, "tasks": {"a": 3, "c": 0.5}}, {"a": 3, "c": 4}),
        # a track count: z's 6 records capped at what exists
        ({"tracks": {"z": 50}}, {"d": 6}),
        # weights 3:1 inside one track
        ({"total": 8, "tasks": {"a": 3.0, "b": 1.0}}, {"a": 6, "b": 2}),
    ],
)
def test_mixture_counts(config, expected):
    mixture = build_mixture(_records(), [], DataConfig(eval_fraction=0.0, **config), seed=0)
    assert mixture.counts == expected
    assert len(mixture.train) == sum(expected.values())


def test_mixture_is_seeded_and_holds_out_a_fraction():
    cfg = DataConfig(max_per_task=8, eval_fraction=0.25)
    one = build_mixture(_records(), [], cfg, seed=1)
    again = build_mixture(_records(), [], cfg, seed=1)
    other = build_mixture(_records(), [], cfg, seed=2)
    assert one.train == again.train and one.records_sha256 == again.records_sha256
    assert one.records_sha256 != other.records_sha256
    assert len(one.heldout) == 4 * 2  # a quarter of 8 per task
    assert not set(one.heldout) & set(one.train)


@pytest.mark.parametrize(
    "config, message",
    [
        ({"tasks": ["nope"]}, "no training records for nope"),
        ({"tracks": ["x"], "tasks": ["c"]}, "the mixture is empty"),
        ({"tasks": {"a": -1}}, "must be positive"),
    ],
)
def test_bad_mixtures(config, message):
    with pytest.raises(EcombenchError, match=message):
        build_mixture(_records(), [], DataConfig(**config), seed=0)


def test_core_records_load_with_tracks_and_tasks():
    records, sources = load_records(["core"])
    # both wordings: the paraphrased records.jsonl and benchmark.jsonl in the evaluation's own templates
    assert [Path(s["path"]).name for s in sources] == ["records.jsonl", "benchmark.jsonl"]
    assert len(records) == sources[0]["records"] + sources[1]["records"] and sources[0]["records"] > 6000 and sources[1]["records"] > 3000
    tracks = {r.track for r in records}
    assert tracks == {"concept_understanding", "knowledge_reasoning", "user_behavior_alignment", "multilingual"}


def test_sources_in_three_layouts(tmp_path):
    path = tmp_path / "mixed.jsonl"
    rows = [
        {"prompt": "Q1 ", "completion": "A1", "task": "t1"},
        {"input_field": "Which? 0. a 1. b\nAnswer: ", "output_field": 1, "task_type": "multiple-choice", "task_name": "t2", "track": "k"},
        {"input_field": "Rank", "output_field": [0.0, 1.0, 0.5], "task_type": "ranking", "task_name": "t3"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    records, _ = load_records([str(path)])
    assert [(r.completion, r.task, r.track) for r in records] == [("A1", "t1", "untagged"), ("1", "t2", "k"), ("2, 3, 1", "t3", "untagged")]


def test_chat_records_need_a_template(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}) + "\n")
    records, _ = load_records([str(path)], chat_template=lambda msgs: "<u>" + msgs[0]["content"] + "</u>")
    assert (records[0].prompt, records[0].completion) == ("<u>hi</u>", "hello")
    with pytest.raises(EcombenchError, match="chat template"):
        load_records([str(path)], chat_template=None)


def test_bad_source_line_is_skipped_counted_and_named(tmp_path):
    from ecombench.train.data import read_sources

    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"prompt": "x", "completion": "y"}) + "\n" + json.dumps({"question": "x"}) + "\n")
    loaded = read_sources([str(path)])
    assert [r.prompt for r in loaded.records] == ["x"]
    assert loaded.skipped.counts == {"unknown layout": 1}
    assert loaded.skipped.examples["unknown layout"][0].startswith(f"{path}:2: no known record layout (keys: question)")
    with pytest.raises(EcombenchError, match=r"bad.jsonl:2: no known record layout"):
        load_records([str(path)], strict=True)


def test_contamination_counts_exact_copies_and_leaks():
    eval_prompt = "Which of these products is the cheapest per unit when you buy the large family pack of coffee beans today?"
    records = [
        TrainRecord(eval_prompt.upper(), "1", "t"),  # exact (case and spacing folded)
        # 16 of the item's 20 tokens in a row: a leak (>= 60% of the item and of its content)
        TrainRecord("Tell me which one is the cheapest per unit when you buy the large family pack of coffee beans", "2", "t"),
        # 11 of the item's 20 tokens (55%): not a leak, only shared text
        TrainRecord("these products is the cheapest per unit when you buy the small pack", "3", "t"),
    ]
    report = contamination.check(records, [contamination.Item("task_a", 0, eval_prompt), contamination.Item("task_b", 0, "something else entirely")])
    assert (report.exact, len(report.leaking), report.records, len(report.items), report.shared) == (1, 2, 3, 2, 1)
    assert report.tasks == {"task_a": 1}
    assert report.fraction == pytest.approx(2 / 3)


def test_config_file_unknown_key_and_overrides(tmp_path):
    cfg = tmp_path / "train.yaml"
    cfg.write_text("model: builtin:tiny\nlora:\n  rank: 8\n  rnak: 4\n")
    with pytest.raises(EcombenchError, match=r"train.yaml: unknown key 'lora.rnak'"):
        load_config(cfg)
    cfg.write_text("model: builtin:tiny\nlora:\n  rank: 8\ntrain:\n  lr: 0.001\n")
    loaded = load_config(cfg, {"rank": 32, "lr": None, "data": ["core", "x.jsonl"]})
    assert (loaded.lora.rank, loaded.train.lr, loaded.data.sources) == (32, 0.001, ["core", "x.jsonl"])
    with pytest.raises(EcombenchError, match="rank must be a positive integer"):
        load_config(cfg, {"rank": 0})


def test_fingerprint_ignores_where_results_go():
    a = load_config(None, {"output": "one", "eval_limit": 3})
    b = load_config(None, {"output": "two"})
    c = load_config(None, {"rank": 4})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_the_documented_examples_load_and_train_yaml_lists_the_defaults():
    from pathlib import Path

    from ecombench.train.config import TrainConfig
    from ecombench.train.sweep import load_sweep

    examples = Path(__file__).resolve().parent.parent / "examples"
    documented = load_config(examples / "train.yaml")
    # examples/train.yaml says its values are the defaults: keep it true
    assert documented.model_dump() == TrainConfig().model_dump()
    tiny = load_config(examples / "train-tiny.yaml")
    assert tiny.data.tasks == ["core_praised_aspects_ner", "core_rating_mc", "core_review_aspect_retrieval"]
    sweep = load_sweep(examples / "sweep-tiny.yaml")
    # "6 cells", as its comment and docs/training.md say
    assert len(sweep.grid.num_capabilities) * len(sweep.grid.tasks_per_capability) * len(sweep.grid.ranks) == 6
