"""Issue 34 (5): a published training folder as published, read whole: empty files, hidden names above the folder,
text after an array, byte-order marks, chat rows a template refuses, chat rows in `data inspect`, and multiple-choice
answers that are not among their options. Each dirty part is counted with its file:line, never a reason to refuse the rest."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from ecombench.errors import EcombenchError
from ecombench.train.data import read_sources, source_path
from tests.helpers.published import write_as_published

# In MCQ/PRP.json (indent 4, 4 fields a record) record k opens on line 2 + 6k: rows 2, 5 and 8 answer 2.
PRP_FLAGGED_LINES = (14, 32, 50)
NOT_AMONG = "the answer 2 is not among the options the prompt lists (0, 1, 3)"


@pytest.fixture(scope="module")
def as_published(tmp_path_factory):
    folder = tmp_path_factory.mktemp("as-published")
    return folder, write_as_published(folder)


def test_empty_files_are_skipped_and_counted_and_the_rest_is_read(as_published):
    folder, paths = as_published
    loaded = read_sources([str(folder)])
    assert len(loaded.records) == 178 + 9  # write_published's 178 and PRP's 9 (flagged rows are trained on)
    assert loaded.skipped.files == [f"{paths['QPR']}: empty (no rows)", f"{paths['CR']}: empty (no rows)"]
    assert loaded.skipped.as_dict()["empty_files"] == loaded.skipped.files  # what the lineage's data.skipped records
    assert loaded.skipped.counts == {"empty answer": 2}
    assert f"skipped 2 empty file(s): {paths['QPR']}, {paths['CR']}" in loaded.skipped.line()
    with pytest.raises(EcombenchError, match=r"RANK/QPR.json: empty \(no rows\) \(--strict refuses an empty file"):
        read_sources([str(paths["QPR"])], strict=True)


def test_a_file_of_blank_lines_or_an_empty_array_is_empty_too(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text('{"prompt": "P", "completion": "C"}\n')
    (tmp_path / "blank.jsonl").write_text("\n  \n")
    (tmp_path / "none.json").write_text("[ ]\n")
    loaded = read_sources([str(tmp_path)])
    assert len(loaded.records) == 1 and len(loaded.skipped.files) == 2
    with pytest.raises(EcombenchError, match=r"no records \(1 empty file\(s\) skipped\)"):
        read_sources([str(tmp_path / "blank.jsonl")])


def test_data_inspect_of_the_folder_as_published(as_published):
    from ecombench.cli import app

    folder, paths = as_published
    result = CliRunner().invoke(app, ["data", "inspect", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["records"] == 187 and summary["skipped"]["rows"] == 2
    assert summary["skipped"]["empty_files"] == [f"{paths['QPR']}: empty (no rows)", f"{paths['CR']}: empty (no rows)"]
    assert summary["flagged"]["by_kind"] == {"answer not among the options": 3}
    assert summary["flagged"]["places"] == [f"{paths['PRP']}:{n}" for n in PRP_FLAGGED_LINES]
    assert summary["flagged"]["examples"]["answer not among the options"][0] == f"{paths['PRP']}:14: {NOT_AMONG}"
    assert summary["tasks"]["mcq_prp"]["records"] == 9
    table = CliRunner().invoke(app, ["data", "inspect", str(folder)])
    assert table.exit_code == 0, table.output
    flat = " ".join(table.output.split())  # rich wraps long lines
    assert f"{paths['QPR']}: empty (no rows), skipped" in flat and f"{paths['PRP']}: JSON array, 9 shopbench, 3 flagged" in flat
    assert f"flagged 3 row(s), trained on (answer not among the options): {paths['PRP']}:14: {NOT_AMONG}" in flat


def test_strict_refuses_a_flagged_row_with_its_place(as_published):
    _, paths = as_published
    with pytest.raises(EcombenchError, match=re.escape(f"PRP.json:14: {NOT_AMONG} (--strict refuses a flagged row; without it the row is trained on")):
        read_sources([str(paths["PRP"])], strict=True)


@pytest.mark.parametrize(
    ("prompt", "options"),
    [
        ("Which?\n0. a\n1. b\n3. c\nAnswer: ", [0, 1, 3]),  # EC-Guide MCQ/PRP.json
        ("Which?\n 0. a\n1. b\n2. c\n3. d\n\nAnswer: ", [0, 1, 2, 3]),  # MCQ/MDM.json: a space before the first option
        ("Rate it.\n1. one star\n2. two stars\n3. three\n4. four\n5. five stars\nAnswer: ", [1, 2, 3, 4, 5]),  # core_rating_mc
        ("Score 1 to 5.\nInput: 1. nice\n\n2. but small\n\n3. too tight\nAnswer:", []),  # MCQ/SA.json:1901, numbered paragraphs
        ("Steps:\n1. open\n2. pour\nWhich?\n0. tea\n1. coffee\nAnswer: ", [0, 1]),  # the last list is the options
        ("Which? 0. a 1. b\nAnswer: ", []),  # options inline, not ShopBench's list
        ("It weighs 0.5 kg.\n1.5 l\nAnswer: ", []),
    ],
)
def test_the_options_a_prompt_lists(prompt, options):
    from ecombench.train.sources import listed_options

    assert listed_options(prompt) == options


@pytest.mark.parametrize(
    ("truth", "flagged"),
    [(2, True), (3, False), ("2", True), (" 0 ", False), ("no", False), ([0], False)],
)
def test_an_answer_is_flagged_only_when_it_is_an_index_the_prompt_does_not_list(truth, flagged):
    from ecombench.train.sources import answer_not_among_options

    row = {"input_field": "Which?\n0. a\n1. b\n3. c\nAnswer: ", "output_field": truth, "task_type": "multiple-choice"}
    assert (answer_not_among_options(row) is not None) == flagged
    assert answer_not_among_options({**row, "task_type": "generation"}) is None


def test_hidden_names_are_skipped_only_below_the_folder_given(tmp_path):
    for home in (".ecombench", ".venv/lib"):
        data = tmp_path / home / "data"
        (data / ".git").mkdir(parents=True)
        (data / "MCQ").mkdir()
        (data / "MCQ" / "A.jsonl").write_text('{"prompt": "P", "completion": "C"}\n')
        (data / ".git" / "B.jsonl").write_text('{"prompt": "hidden", "completion": "C"}\n')
        (data / "MCQ" / ".C.jsonl").write_text('{"prompt": "hidden", "completion": "C"}\n')
        loaded = read_sources([str(data)])
        assert [r.prompt for r in loaded.records] == ["P"]
    via_dots = tmp_path / ".ecombench" / "data" / "MCQ" / ".." / ".." / "data"
    assert [r.prompt for r in read_sources([str(via_dots)]).records] == ["P"]


def test_a_suite_under_a_dotted_home_reads_its_records(tmp_path, monkeypatch):
    home = tmp_path / ".ecombench"
    train = home / "tasks" / "mysuite" / "train"
    train.mkdir(parents=True)
    (train / "records.jsonl").write_text('{"prompt": "P1", "completion": "C1", "task": "t"}\n{"prompt": "P2", "completion": "C2", "task": "t"}\n')
    monkeypatch.setenv("ECOMBENCH_HOME", str(home))
    assert source_path("suite:mysuite") == train / "records.jsonl"  # train looks up each source's first file (an IndexError before)
    assert [r.completion for r in read_sources(["suite:mysuite"]).records] == ["C1", "C2"]
    (train / "records.jsonl").unlink()
    with pytest.raises(EcombenchError, match=r"data source suite:mysuite: its train/ folder .* holds no .json or .jsonl file"):
        source_path("suite:mysuite")


@pytest.mark.parametrize(
    ("after", "shown"),
    [
        ('[{"prompt": "P3", "completion": "C3"}]\n', '\'[{"prompt": "P3", "completion": "C3"}]\''),  # a second array
        ('{"prompt": "P3", "completion": "C3"}\n{"prompt": "P4", "completion": "C4"}\n', '\'{"prompt": "P3", "completion": "C3"}\''),  # JSON Lines
        ("garbage", "'garbage'"),
    ],
)
def test_text_after_a_json_array_is_counted_never_dropped(tmp_path, after, shown):
    path = tmp_path / "two.json"
    path.write_text('[\n{"prompt": "P1", "completion": "C1"},\n{"prompt": "P2", "completion": "C2"}\n]\n\n' + after)
    loaded = read_sources([str(path)])
    assert [r.prompt for r in loaded.records] == ["P1", "P2"]
    assert loaded.skipped.counts == {"text after the array": 1} and loaded.files[0].skipped == 1
    assert loaded.skipped.examples["text after the array"] == [f"{path}:6: the file goes on after its JSON array's closing ']' (with {shown}); not read"]
    with pytest.raises(EcombenchError, match=r"two.json:6: the file goes on after its JSON array's closing"):
        read_sources([str(path)], strict=True)


@pytest.mark.parametrize("name", ["bom.json", "bom.jsonl"])
def test_a_utf8_byte_order_mark_is_read_past(tmp_path, name):
    rows = [{"prompt": "P1", "completion": "C1"}, {"prompt": "P2", "completion": "C2"}]
    text = json.dumps(rows, indent=1) if name.endswith(".json") else "".join(json.dumps(r) + "\n" for r in rows)
    path = tmp_path / name
    path.write_text("\ufeff" + text, encoding="utf-8")
    loaded = read_sources([str(path)])
    assert [(r.prompt, r.completion) for r in loaded.records] == [("P1", "C1"), ("P2", "C2")] and loaded.skipped.total == 0
    assert loaded.files[0].container == ("JSON array" if name.endswith(".json") else "JSON Lines")


CHAT_ROWS = [
    {"messages": [{"role": "user", "content": "Is the mug red?"}, {"role": "assistant", "content": "yes"}]},
    {"conversations": [{"from": "human", "value": "Is the lamp bright?"}, {"from": "gpt", "value": "very bright"}]},
    {"messages": [{"role": "user", "content": "Q1"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A"}]},
]


def test_data_inspect_reads_chat_rows_without_a_model(tmp_path):
    from ecombench.cli import app

    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in CHAT_ROWS))
    result = CliRunner().invoke(app, ["data", "inspect", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["records"] == 3 and summary["files"][0]["formats"] == {"messages": 2, "sharegpt": 1}
    # words of "user: Is the mug red?\nassistant: " + " yes": 7; the lamp row's 8; "user: Q1\nuser: Q2\nassistant: " + " A": 6
    assert summary["length_unit"] == "words" and summary["length"] == {"p50": 7, "p90": 8, "p99": 8, "max": 8}


ALTERNATING = (
    "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}"
)


@pytest.fixture(scope="module")
def strict_chat_model(tmp_path_factory):
    """A model folder whose tokenizer (whitespace words) has a chat template that refuses turns that do not alternate."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("strict-chat")
    words = ["<unk>", "</s>", "Is", "the", "mug", "red", "?", "yes", "[", "]", "user", "assistant"]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="</s>")
    tokenizer.chat_template = ALTERNATING
    tokenizer.save_pretrained(folder)
    (folder / "config.json").write_text('{"model_type": "llama"}')  # a model folder as --model resolves it (weights not read)
    (folder / "model.safetensors").write_bytes(b"")
    return folder


@pytest.mark.slow  # loads a tokenizer through transformers
def test_a_chat_row_the_template_refuses_is_a_counted_bad_row(tmp_path, strict_chat_model):
    from ecombench.cli import app
    from ecombench.train.sources import model_chat_template

    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in CHAT_ROWS))
    loaded = read_sources([str(path)], model_chat_template(strict_chat_model))
    assert [r.prompt for r in loaded.records] == ["[user] Is the mug red?\n[assistant] ", "[user] Is the lamp bright?\n[assistant] "]
    assert loaded.skipped.counts == {"chat template refuses": 1}
    assert loaded.skipped.examples["chat template refuses"] == [
        f"{path}:3: the model's chat template refuses these turns (Conversation roles must alternate user/assistant/user/assistant/...)"
    ]
    result = CliRunner().invoke(app, ["data", "inspect", str(path), "--model", str(strict_chat_model), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    # tokens by the model's tokenizer (words and punctuation): "[ user ] Is the mug red ? [ assistant ]" 11 + "yes" 1 + EOS 1 = 13;
    # "[ user ] Is the lamp bright ? [ assistant ]" 11 (an unknown word is one token) + "very bright" 2 + EOS 1 = 14
    assert summary["records"] == 2 and summary["skipped"]["by_kind"] == {"chat template refuses": 1} and summary["length_unit"] == "tokens"
    assert summary["length"] == {"p50": 14, "p90": 14, "p99": 14, "max": 14}
