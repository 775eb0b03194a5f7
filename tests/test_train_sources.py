"""Training sources in published layouts, dirty rows, capability mixtures, template-aware contamination and
``data inspect``: no model needed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ecombench import contamination
from ecombench.errors import EcombenchError
from ecombench.taskindex import build_index, default_roots
from ecombench.train.config import DataConfig, load_config
from ecombench.train.data import apply_capabilities, build_mixture, read_sources
from tests.helpers.published import leak_rows, write_published


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return write_published(tmp_path_factory.mktemp("published"))


@pytest.fixture(scope="module")
def core_prompts():
    return contamination.eval_items(build_index(default_roots()).select(["ecombench_core"]))


def _record_start_line(path, k: int) -> int:
    """The line on which the k-th record of a pretty-printed JSON array opens (records hold no nested object)."""
    opens = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.strip() == "{"]
    return opens[k]


def test_a_published_folder_reads_as_it_is(published):
    loaded = read_sources([str(published)])
    by_file = {f.path.removeprefix(str(published) + "/"): (f.container, dict(f.formats), f.records, f.skipped) for f in loaded.files}
    assert by_file == {
        "GEN/TG.json": ("JSON array", {"shopbench": 30}, 30, 0),
        "MCQ/RP.json": ("JSON array", {"shopbench": 60}, 60, 0),
        "MCQ/SAP.json": ("JSON array", {"shopbench": 29}, 29, 1),
        "NER/AE.json": ("JSON array", {"shopbench": 29}, 29, 1),
        "RANK/QR.json": ("JSON array", {"shopbench": 30}, 30, 0),
    }
    tasks = {}
    for r in loaded.records:
        tasks[r.task] = tasks.get(r.task, 0) + 1
    assert tasks == {"gen_tg": 30, "mcq_rp": 60, "mcq_sap": 29, "ner_ae": 29, "rank_qr": 30}  # names from the paths
    # The two empty answers: counted, by kind, each with the line its record opens on.
    assert loaded.skipped.counts == {"empty answer": 2}
    sap, ae = published / "MCQ" / "SAP.json", published / "NER" / "AE.json"
    assert loaded.skipped.examples["empty answer"] == [
        f"{sap}:{_record_start_line(sap, 5)}: 'output_field' is empty",
        f"{ae}:{_record_start_line(ae, 11)}: 'output_field' is []",
    ]
    ranked = next(r for r in loaded.records if r.task == "rank_qr")
    assert ranked.completion == "1, 2, 3, 4" and ranked.task_type == "ranking"  # gains written as the answer a model should give


def test_one_published_file_takes_its_task_from_its_path(published):
    loaded = read_sources([str(published / "MCQ" / "SAP.json")])
    assert {r.task for r in loaded.records} == {"mcq_sap"} and len(loaded.records) == 29


def test_strict_refuses_the_first_bad_row_with_its_place(published):
    with pytest.raises(EcombenchError, match=r"MCQ/SAP.json:\d+: 'output_field' is empty \(--strict refuses"):
        read_sources([str(published)], strict=True)


def test_glob_sources(published):
    loaded = read_sources([str(published / "MCQ" / "*.json")])
    assert {r.task for r in loaded.records} == {"mcq_rp", "mcq_sap"}
    with pytest.raises(EcombenchError, match="matches no file"):
        read_sources([str(published / "NOPE" / "*.json")])


def test_every_layout_is_detected_and_counted(tmp_path):
    rows = [
        {"prompt": "P1", "completion": "C1", "task": "t"},
        {"instruction": "Name the color.", "input": "A red mug", "output": "red"},
        {"instruction": "Say hi.", "output": "hi"},
        {"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]},
        {"messages": [{"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]},
        {"input_field": "Which? 0. a 1. b\nAnswer: ", "output_field": 1, "task_type": "multiple-choice", "task_name": "mc"},
        {"question": "no known layout"},
        {"prompt": "P2", "completion": 3},
        [1, 2],
    ]
    array = tmp_path / "mixed.json"
    array.write_text(json.dumps(rows, indent=1))
    lines = tmp_path / "mixed.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    template = lambda msgs: "<u>" + msgs[-1]["content"] + "</u>"  # noqa: E731
    for path, extra in ((array, {}), (lines, {"malformed JSON": 1})):
        loaded = read_sources([str(path)], template)
        assert dict(loaded.files[0].formats) == {"prompt-completion": 1, "alpaca": 2, "sharegpt": 1, "messages": 1, "shopbench": 1}
        assert [(r.prompt, r.completion) for r in loaded.records] == [
            ("P1", "C1"),
            ("Name the color.\nA red mug", "red"),  # LLaMA-Factory's instruction + "\n" + input
            ("Say hi.", "hi"),
            ("<u>Q</u>", "A"),
            ("<u>Q2</u>", "A2"),
            ("Which? 0. a 1. b\nAnswer: ", "1"),
        ]
        assert dict(loaded.skipped.counts) == {"unknown layout": 1, "non-string field": 1, "not an object": 1, **extra}
    assert loaded.skipped.examples["malformed JSON"][0].startswith(f"{lines}:10: not valid JSON")


def test_a_broken_array_is_one_error_naming_the_line(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text('[\n  {"prompt": "a", "completion": "b"},\n  {"prompt": "c", "compl')
    with pytest.raises(EcombenchError, match=r"cut.json:3: not valid JSON in the array"):
        read_sources([str(path)])


def test_a_file_of_only_bad_rows_says_so(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps([{"prompt": "a", "completion": ""}]))
    with pytest.raises(EcombenchError, match=r"no records; all 1 row\(s\) are bad, e.g. .*empty.json:1: 'completion' is empty"):
        read_sources([str(path)])


def test_templates_are_not_contamination_and_copies_are(published, tmp_path, core_prompts):
    clean = read_sources([str(published)]).records
    report = contamination.check(clean, core_prompts)
    # 60 rating records repeat the benchmark's own instruction and options: template, not a leak.
    assert (len(report.leaking), report.items_overlapped, report.exact) == (0, 0, 0)
    leak = tmp_path / "LEAK" / "COPY.json"
    leak.parent.mkdir()
    leak.write_text(json.dumps(leak_rows(30), indent=2))
    report = contamination.check(read_sources([str(published), str(leak.parent)]).records, core_prompts)
    flagged = sorted(report.leaking)
    assert len(flagged) == 30 and flagged[0] == len(clean)  # exactly the 30 copies, none of the rest
    assert report.exact == 20  # case and spacing edits fold to the same prompt; a changed number is a leak by coverage
    assert report.tasks["core_title_generation"] >= 15 and report.tasks["core_category_mc"] >= 15  # a copy can leak a near twin item too
    first = report.as_dict()["findings"][0]
    assert (first["kind"], first["task"], first["item"], first["record"]) == ("exact", "core_title_generation", 0, f"{leak}:2")


def test_capability_mapping_by_patterns(published):
    records = read_sources([str(published)]).records
    mapped, left_out = apply_capabilities(
        records, {"user_behavior_alignment": ["mcq_rp", "rank_*"], "concept_understanding": ["ner_*", "mcq_*"], "multilingual": ["gen_tg"]}
    )
    tracks = {r.task: r.track for r in mapped}
    # the first capability that matches a task wins: mcq_rp stays user behaviour though mcq_* matches it too
    assert tracks == {
        "mcq_rp": "user_behavior_alignment",
        "rank_qr": "user_behavior_alignment",
        "ner_ae": "concept_understanding",
        "mcq_sap": "concept_understanding",
        "gen_tg": "multilingual",
    }
    assert left_out == []
    mapped, left_out = apply_capabilities(records, {"concept_understanding": ["ner_*"]})
    assert {r.task for r in mapped} == {"ner_ae"} and left_out == ["gen_tg", "mcq_rp", "mcq_sap", "rank_qr"]
    with pytest.raises(EcombenchError, match=r"data.capabilities.knowledge_reasoning: 'kr_\*' matches no task"):
        apply_capabilities(records, {"knowledge_reasoning": ["kr_*"]})


def test_a_mixture_file_sets_capabilities_and_counts(published, tmp_path):
    mixture = tmp_path / "mixture.yaml"
    mixture.write_text(
        "capabilities:\n  user_behavior_alignment: [mcq_rp, 'rank_*']\n  concept_understanding: ['ner_*', 'mcq_*', gen_tg]\n"
        "weights:\n  user_behavior_alignment: 20\n  concept_understanding: 30\n"
    )
    config = tmp_path / "train.yaml"
    config.write_text(f"data:\n  sources: [{published}]\n  mixture: mixture.yaml\n  eval_fraction: 0.0\n")
    loaded = load_config(config)
    assert loaded.data.capabilities["user_behavior_alignment"] == ["mcq_rp", "rank_*"]
    records, _ = apply_capabilities(read_sources(loaded.data.sources).records, loaded.data.capabilities)
    mix = build_mixture(records, [], loaded.data, seed=0)
    assert mix.capability_counts() == {"concept_understanding": 30, "user_behavior_alignment": 20}  # counts per capability, as the file says
    assert sum(n for t, n in mix.counts.items() if t in ("mcq_rp", "rank_qr")) == 20
    # the file's content, not where it lies, shapes the weights
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "mixture.yaml").write_text(mixture.read_text())
    (moved / "train.yaml").write_text(config.read_text())
    assert load_config(moved / "train.yaml").fingerprint() == loaded.fingerprint()
    mixture.write_text("capabilities:\n  a: [x]\nweights:\n  b: 1\n")
    with pytest.raises(EcombenchError, match="weights name capabilities that are not listed: b"):
        load_config(config)


def test_old_configs_keep_their_fingerprint():
    # New data settings left unset hash as before they existed, so finished adapters and sweep cells are still found.
    import hashlib

    config = load_config(None, {"rank": 8})
    shaping = config.model_dump(mode="json", include={"model", "data", "lora", "train"})
    for key in ("strict", "mixture", "capabilities"):
        shaping["data"].pop(key)
    shaping["train"].pop("eval_records")  # newer than these configs, and it shapes no weight (the held-out sample)
    assert config.fingerprint() == hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:16]


def test_data_inspect_describes_a_published_folder(published, tmp_path):
    from ecombench.cli import app

    leak = tmp_path / "LEAK"
    leak.mkdir()
    (leak / "COPY.json").write_text(json.dumps(leak_rows(30), indent=2))
    result = CliRunner().invoke(app, ["data", "inspect", str(published), str(leak), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["records"] == 208 and summary["skipped"]["by_kind"] == {"empty answer": 2}
    assert set(summary["tasks"]) == {"gen_tg", "mcq_rp", "mcq_sap", "ner_ae", "rank_qr", "leak_copy"}
    assert summary["tasks"]["mcq_rp"]["types"] == {"multiple-choice": 60}
    assert summary["types"]["ranking"] == 30
    contamination = summary["contamination"]
    assert (contamination["leaking_records"], contamination["exact"]) == (30, 20)
    # every finding, exact copies first, each with its file:line and the item's own content marked apart from its template
    assert len(contamination["findings"]) == contamination["findings_total"] >= 30
    kinds = [f["kind"] for f in contamination["findings"]]
    assert kinds == sorted(kinds, key=["exact", "leak", "shared"].index) and kinds.count("exact") == 20
    assert {f["record"] for f in contamination["findings"]} == {f"{leak / 'COPY.json'}:{_record_start_line(leak / 'COPY.json', k)}" for k in range(30)}
    assert contamination["findings"][0]["text"].startswith("{{Write a product title") and any("[[" in f["text"] for f in contamination["findings"])
    length = summary["tasks"]["mcq_rp"]["length"]
    assert summary["length_unit"] == "words" and 0 < length["p50"] <= length["p90"] <= length["max"]
    table = CliRunner().invoke(app, ["data", "inspect", str(published)])
    assert table.exit_code == 0 and "mcq_rp" in table.output and "3862 evaluation items: no leak" in table.output
    table = CliRunner().invoke(app, ["data", "inspect", str(published), str(leak)], env={"COLUMNS": "200"})
    assert f"{leak / 'COPY.json'}:2: exact copy of core_title_generation item 0" in table.output


def test_mixture_config_rejects_unknown_keys(tmp_path):
    mixture = tmp_path / "m.yaml"
    mixture.write_text("capabilities:\n  a: [x]\nweight:\n  a: 1\n")
    config = tmp_path / "t.yaml"
    config.write_text("data:\n  mixture: m.yaml\n")
    with pytest.raises(EcombenchError, match=r"m.yaml: unknown key 'weight'"):
        load_config(config)
    assert DataConfig().capabilities == {}


@pytest.mark.slow
def test_token_dataset_streams_in_chunks_and_stops_at_the_step_budget(tiny_model, monkeypatch):
    """The trainer's dataset holds exactly tokenize()'s ids (as compact Arrow columns, built chunk by chunk),
    and with a step budget only the records in the mixture's order that fill it."""
    from transformers import AutoTokenizer

    from ecombench.train.sources import TrainRecord
    from ecombench.train.trainer import token_dataset, tokenize

    tok = AutoTokenizer.from_pretrained(tiny_model)
    records = [TrainRecord(f"Question {i}: which mug holds {i} ml?\nAnswer: ", f"{i % 4}") for i in range(50)]
    whole = tokenize(tok, records)
    ds, total = token_dataset(tok, records, chunk=7)
    assert ds["input_ids"] == whole["input_ids"] and ds["completion_mask"] == whole["completion_mask"]
    assert total == sum(map(len, whole["input_ids"]))
    lengths = [len(ids) for ids in whole["input_ids"]]
    budget = sum(lengths[:10]) - 1  # reached within the 10th record
    cut, cut_total = token_dataset(tok, records, max_tokens=budget, chunk=7)
    assert len(cut) == 10 and cut["input_ids"] == whole["input_ids"][:10] and cut_total == sum(lengths[:10])
    # a record longer than the packed row counts only up to the row (training truncates it there)
    capped, _ = token_dataset(tok, records, max_tokens=3 * 4, row_length=4, chunk=7)
    assert len(capped) == 3
    # under a budget the chunks start small and double (2, 4, 7, 7, ...): the same records, the same ids
    monkeypatch.setattr("ecombench.train.trainer.FIRST_CHUNK", 2)
    grown, grown_total = token_dataset(tok, records, max_tokens=budget, chunk=7)
    assert grown["input_ids"] == whole["input_ids"][:10] and grown_total == sum(lengths[:10])
    assert token_dataset(tok, records, max_tokens=10**9, chunk=7)[0]["input_ids"] == whole["input_ids"]
