"""The report's item data at scale (issue 24, item 11): where it lies (bundles of small indexes, no folder or file
per submission), what a rebuild keeps, and items files read by pydantic's JSON parser with the plain reader's
answers and errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ecombench.errors import EcombenchError
from ecombench.leaderboard.boards import get_board
from ecombench.leaderboard.report import write_report
from ecombench.leaderboard.siteitems import bundle_members
from ecombench.leaderboard.store import load_folder
from ecombench.leaderboard.table import build_table
from ecombench.submissions import ItemRecord, parse_items
from tests.helpers.boards import INDEX, MC, STARTER, copies_of_a_real_run
from tests.helpers.browser import CHROMIUM, open_page, url

ITEM = {"task": MC, "doc_id": 0, "item_hash": "h", "prompt": "p", "target": "1", "prediction": "1", "parsed": 1, "score": 1.0}


def _build(out: Path, subs: Path):
    table = build_table(get_board("ecombench_starter", {}), INDEX, load_folder(subs, use_index=False))
    return write_report(out, [table], subs, INDEX)


@pytest.mark.slow
def test_many_submissions_take_a_few_files_whose_explorer_finds_prompts_and_targets(tmp_path, monkeypatch, browser):
    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    subs = tmp_path / "subs"
    ids = copies_of_a_real_run(subs, 100)
    out = tmp_path / "site"
    site = _build(out, subs)
    assert (site.items_written, site.items_kept) == (100, 0)
    assert sorted(p.name for p in (out / "items").iterdir()) == ["bundles", "chunks", "texts"]  # no folder or file per submission
    bundles = sorted((out / "items" / "bundles").iterdir())
    assert 1 <= len(bundles) <= 3  # 100 submissions, 40 a bundle
    assert len(list((out / "items").rglob("*.js"))) == len(bundles) + len(STARTER)  # and one texts file per task
    members = {sid: text for b in bundles for sid, text in bundle_members(b.read_text()).items()}
    assert sorted(members) == sorted(ids)
    size = sum(b.stat().st_size for b in bundles) / len(ids)
    items_file = (subs / f"{ids[0]}.items.jsonl").stat().st_size  # 199 items, 76 KB
    assert size < 0.35 * items_file  # what is the run's own (answers, scores, keys); no prompt or target
    prompt = json.loads(INDEX.tasks[MC].data_file.read_text().splitlines()[0])["input_field"]
    assert all(prompt.split("\n")[0][:30] not in b.read_text() for b in bundles)
    if CHROMIUM is not None:
        with browser.page() as page:
            open_page(page, url(out, f"sub.html#id={ids[7]}&item=0"))
            fields = page.locator("#item-fields dd").all_inner_texts()
            target = json.loads((subs / f"{ids[7]}.items.jsonl").read_text().splitlines()[0])["target"]
            assert fields[0] == MC and fields[4] == prompt and fields[7] == target  # from the task's texts file
            open_page(page, url(out, f"sub.html#id={ids[8]}"))
            n = len((subs / f"{ids[8]}.items.jsonl").read_text().splitlines())
            assert page.inner_text("#items-status") == f"{n} of {n} items"
            assert page.errors == []


@pytest.mark.slow
def test_a_rebuild_reads_only_the_items_file_that_changed_and_keeps_the_rest(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    subs = tmp_path / "subs"
    ids = copies_of_a_real_run(subs, 50)
    out = tmp_path / "site"
    _build(out, subs)
    before = {sid: t for b in (out / "items" / "bundles").iterdir() for sid, t in bundle_members(b.read_text()).items()}
    changed = subs / f"{ids[3]}.items.jsonl"
    lines = changed.read_text().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "prediction": "changed answer"})
    changed.write_text("\n".join(lines) + "\n")
    site = _build(out, subs)
    assert (site.items_written, site.items_kept) == (1, 49)
    after = {sid: t for b in (out / "items" / "bundles").iterdir() for sid, t in bundle_members(b.read_text()).items()}
    assert after.keys() == before.keys()
    assert [sid for sid in ids if after[sid] != before[sid]] == [ids[3]]
    assert json.loads(after[ids[3]])["rows"][0][3] == "changed answer"
    assert len(list((out / "items" / "texts").iterdir())) == len(STARTER)  # a kept submission's texts files stay


@pytest.mark.slow
def test_a_report_into_a_new_folder_reads_only_the_items_files_it_has_not_made_before(tmp_path, monkeypatch):
    """The payload cache (by each items file's bytes): 10,000 x 48 items took 18 s, two thirds of it parsing."""
    import ecombench.leaderboard.siteitems as siteitems

    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    subs = tmp_path / "subs"
    ids = copies_of_a_real_run(subs, 20)
    _build(tmp_path / "site-1", subs)
    members = lambda out: {sid: t for b in (out / "items" / "bundles").iterdir() for sid, t in bundle_members(b.read_text()).items()}  # noqa: E731
    before = members(tmp_path / "site-1")
    changed = subs / f"{ids[5]}.items.jsonl"
    lines = changed.read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), "prediction": "changed answer"})
    changed.write_text("\n".join(lines) + "\n")
    parsed: list[str] = []
    real_parse = siteitems.parse_items
    monkeypatch.setattr(siteitems, "parse_items", lambda data, path, sid, scored: parsed.append(sid) or real_parse(data, path, sid, scored))
    site = _build(tmp_path / "site-2", subs)  # a new folder: nothing to keep, every submission written
    assert (site.items_written, site.items_kept, parsed) == (20, 0, [ids[5]])
    after = members(tmp_path / "site-2")
    assert [sid for sid in ids if after[sid] != before[sid]] == [ids[5]]
    assert json.loads(after[ids[5]])["rows"][0][3] == "changed answer"
    assert len(list((tmp_path / "site-2" / "items" / "texts").iterdir())) == len(STARTER)  # the texts files the cached items name


@pytest.mark.slow
def test_a_report_hashes_each_record_file_once_and_still_sees_a_changed_one(tmp_path, monkeypatch):
    import ecombench.leaderboard.sitedata as sitedata

    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    subs = tmp_path / "subs"
    ids = copies_of_a_real_run(subs, 5)

    def build(out: Path):
        loaded = load_folder(subs)
        table = build_table(get_board("ecombench_starter", {}), INDEX, loaded)
        return write_report(out, [table], subs, INDEX, loaded.digests)

    build(tmp_path / "site-1")
    hashed: list[str] = []
    real_read = sitedata.read_entry
    monkeypatch.setattr(sitedata, "read_entry", lambda path: hashed.append(path) or real_read(path))
    build(tmp_path / "site-2")
    assert hashed == []  # load_folder's hashes were used: no record file read a second time
    record = subs / f"{ids[2]}.json"
    data = json.loads(record.read_text())
    record.write_text(json.dumps({**data, "name": "renamed run"}))
    build(tmp_path / "site-3")
    names = dict(json.loads((tmp_path / "site-3" / "data" / "names.js").read_text().split(",", 1)[1].rsplit(")", 1)[0]))
    assert names[ids[2]] == "renamed run"


def test_items_read_by_the_fast_parser_are_what_the_plain_reader_gives(tmp_path):
    lines = [
        json.dumps(ITEM),
        json.dumps({**ITEM, "doc_id": 1, "parsed": {"a": [1, 2.5, None]}, "target": ["x", "y"], "prompt": "line\u2028sep <b>"}, ensure_ascii=False),
        json.dumps(ITEM)[:-1] + ', "parsed": ' + "[" * 300 + "]" * 300 + "}",  # deeper than pydantic's parser goes: read the plain way
        json.dumps(ITEM)[:-1] + ', "parsed": "\\ud800"}',  # a lone surrogate: the same
        "   ",
    ]
    data = ("\r\n".join(lines) + "\n").encode()
    got = parse_items(io.BytesIO(data), tmp_path / "x.items.jsonl", "sid", {MC: 4})
    assert got == [ItemRecord.model_validate(json.loads(line)) for line in lines[:4]]
    assert got[2].parsed == json.loads("[" * 300 + "]" * 300) and got[3].parsed == "\ud800"


def test_a_broken_or_cut_items_file_is_one_error_naming_the_line(tmp_path):
    path = tmp_path / "x.items.jsonl"
    good = json.dumps(ITEM)
    with pytest.raises(EcombenchError, match=r"x.items.jsonl:2: not valid JSON"):
        parse_items(io.BytesIO(f"{good}\n{good[:-5]}\n".encode()), path, "sid", {MC: 2})
    with pytest.raises(EcombenchError, match=r"x.items.jsonl:1: .*score"):
        parse_items(io.BytesIO(json.dumps({**ITEM, "score": 7}).encode()), path, "sid", {MC: 1})
    with pytest.raises(EcombenchError, match=r"1 items of task 'starter_category_mc', but submission 'sid' scored 2; the file is cut short"):
        parse_items(io.BytesIO(good.encode()), path, "sid", {MC: 2})
