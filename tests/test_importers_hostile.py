"""Importers fed hostile files (issue 26, items 11, 12, 15): zip bombs and unused members, format specs,
non-UTF-8 bytes, huge fields, odd JSON shapes. Each is one error line, read in bounded memory."""

from __future__ import annotations

import json
import zipfile

import pytest

from ecombench.errors import EcombenchError
from ecombench.importers import IMPORTERS, shopping_mmlu
from tests.helpers.sources import shopping_mmlu_zip


def test_only_the_members_used_are_unpacked(tmp_path, monkeypatch):
    path = shopping_mmlu_zip(tmp_path, with_skills=True)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("data/multiple_choice/unused_dataset.csv", "x" * 1000)
    opened: list[str] = []
    real = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(getattr(name, "filename", name)) or real(self, name, *a, **k))
    suite = IMPORTERS["shopping-mmlu"](path)
    assert set(suite.tasks) == {"title_extraction", "query_ranking"}
    assert sorted(opened) == ["data/skills/skill_behavior.json", "data/skills/skill_concepts.json"]  # with skills/, the type folders are unused


def test_a_zip_bomb_member_is_refused_unread(tmp_path):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/skills/skill_concepts.json", b"\n" * (64 << 20))  # 64 MiB of newlines in about 64 KiB
    with pytest.raises(EcombenchError, match=r"data/skills/skill_concepts.json unpacks to 67108864 bytes from \d+; not unpacked \(a zip bomb\?\)"):
        IMPORTERS["shopping-mmlu"](path)


def test_a_member_over_the_size_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(shopping_mmlu, "MAX_MEMBER_BYTES", 10)
    with pytest.raises(EcombenchError, match=r"skill_\w+\.json unpacks to \d+ bytes"):
        IMPORTERS["shopping-mmlu"](shopping_mmlu_zip(tmp_path, with_skills=True))


def _mc_zip(tmp_path, body: bytes):
    path = tmp_path / "mc.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/multiple_choice/x_dataset.csv", b"question,choices,answer\n" + body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\"caf\xe9?\",\"['a', 'b']\",0\n", r"x_dataset.csv: not UTF-8 text \(byte \d+\)"),
        (b'"' + b"q" * (200 << 10) + b'","[\'a\']",0\n', r"x_dataset.csv: not a readable CSV \(field larger than field limit"),
        (b'"q","5",0\n', r"x_dataset.csv:2: expected columns question, choices \(a list\), answer \(an int\)"),
        (b'"q","' + b"[" * 5000 + b"]" * 5000 + b'",0\n', r"x_dataset.csv:2: expected columns question, choices"),
    ],
)
def test_shopping_mmlu_csv_problems_are_one_line(tmp_path, body, message):
    with pytest.raises(EcombenchError, match=message):
        IMPORTERS["shopping-mmlu"](_mc_zip(tmp_path, body))


BASE = {"task": "t", "setting": "IND_Diverse_Instruction", "split": "test", "instruction": "i", "input": "x", "output": "a"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not utf-8", r"not UTF-8 text"),
        (b"[1, 2, 3]", r"record 1: expected a JSON object, got int"),
        (json.dumps([{**BASE}]).encode().replace(b'"a"}', b"1" * 5000 + b"}"), r"JSON value not readable"),
        (b"[" * 100_000 + b"]" * 100_000, r"JSON nested too deeply to read"),
        (
            json.dumps([{**BASE, "options": 5}]).encode(),
            r":1: options: expected text \(options: a list of texts, or one written as JSON or as Python's str\(list\)\)",
        ),
        (json.dumps([{**BASE, "input": [[[["deep"]]]]}]).encode(), r":1: input: expected text"),
    ],
)
def test_ecinstruct_problems_are_one_line(tmp_path, content, message):
    path = tmp_path / "ecinstruct.json"
    path.write_bytes(content)
    with pytest.raises(EcombenchError, match=message):
        IMPORTERS["ecinstruct"](path)


def test_fill_puts_in_named_fields_only_and_reads_double_braces_as_str_format_does():
    from ecombench.importers.ecominstruct import fill

    template = 'Text: {sentences}\nLabels: {label_set}\nAs JSON: {{"a": 1}}'
    assert fill(template, sentences="s {ex}", label_set="l", ex="") == template.format(sentences="s {ex}", label_set="l", ex="")


# Issue 37, zip totals (round 3, #11): the caps were per member; three 250 MiB members ran to 5.6 GB.


def test_the_members_used_are_capped_in_total_before_any_is_unpacked(tmp_path, monkeypatch):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for skill in ("a", "b", "c"):
            archive.writestr(f"data/skills/skill_{skill}.json", b" " * 400)  # 400 bytes each: under every cap per member
    monkeypatch.setattr(shopping_mmlu, "MAX_TOTAL_BYTES", 1000)
    opened: list[str] = []
    real = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(getattr(name, "filename", name)) or real(self, name, *a, **k))
    with pytest.raises(EcombenchError, match=rf"^{path}: the 3 files used unpack to 1200 bytes in all, over the 0 MiB limit; not unpacked \(a zip bomb\?\)$"):
        IMPORTERS["shopping-mmlu"](path)
    assert opened == []


def test_a_member_is_read_as_a_stream_not_held_whole_three_times(tmp_path):
    import random
    import tracemalloc

    from tests.helpers.sources import record

    rng = random.Random(0)
    rows = [record("t", "generation", "rougel", "a", "s", prompt="".join(rng.choices("abcdefghij klmnop", k=100_000))) for _ in range(80)]
    body = "".join(json.dumps(row) + "\n" for row in rows)  # 8 MB that deflates about 2x: no bomb
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/skills/skill_concepts.json", body)
    tracemalloc.start()
    try:
        suite = IMPORTERS["shopping-mmlu"](path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r["input_field"] for r in suite.tasks["t"]] == [r["input_field"] for r in rows]
    assert peak < 1.5 * len(body)  # the rows themselves are 1x; bytes, text and split lines held at once made 3.3x


def test_a_member_that_is_not_utf8_names_the_byte_of_the_member(tmp_path):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data/skills/skill_a.json", b"\n\n  \xff\n")
    with pytest.raises(EcombenchError, match=r"^skills/skill_a.json: not UTF-8 text \(byte 4\)$"):
        IMPORTERS["shopping-mmlu"](path)


# Issue 37, format repetition (round 3, #12): "{sentences}" 20,000 times with a 100 KB sentence ran to 3.9 GB.


def test_a_template_that_repeats_a_field_is_refused_before_the_prompt_is_built(tmp_path):
    from ecombench.importers import ecominstruct
    from tests.helpers.sources import ecomgpt_task_folder

    sentence = "s" * 100_000
    meta = {"defi": "d", "test_prompt": {"instruction": "Text: {sentences}\n" * 20_000 + "{{literal}}"}}  # 220 KB of template
    rows = [{"sentences": "short", "spans": [{"term": "x"}]}, {"sentences": sentence, "spans": [{"term": "x"}]}]
    folder = ecomgpt_task_folder(tmp_path / "d", "X", "EN-X-Extract-t", meta, rows)
    with pytest.raises(EcombenchError) as caught:
        IMPORTERS["ecominstruct"](tmp_path / "d")
    size = 20_000 * (len("Text: \n") + 100_000) + len("{literal}")  # what str.format would have built: 2 GB
    assert f"{folder}: test.json:2: the filled prompt would be {size} characters ({{sentences}} 20000 times), over the 1048576 limit" in str(caught.value)
    assert ecominstruct.fill("a {sentences} {{b}}", sentences="x") == "a x {b}"  # a prompt under the limit is filled as ever


# Issue 37, B8: a label.json entry holding a list or an object was a TypeError traceback (unhashable type).


@pytest.mark.parametrize("entry", [[["E"], "S"], [{"E": 1}, "S"], ["E", None]])
def test_a_ranking_label_that_is_not_a_label_is_one_line(tmp_path, entry):
    from tests.helpers.sources import ecinstruct_ranking_source

    src = ecinstruct_ranking_source(tmp_path, None, ["A,B"])
    labels = tmp_path / "lab.json"
    labels.write_text(json.dumps([entry]))
    with pytest.raises(EcombenchError, match=r"lab.json: entry 1: expected a list of distinct ESCI labels \(E, S, C, I\), got \["):
        IMPORTERS["ecinstruct"](src, ranking_labels=labels)
