"""`ecombench report` driven in a real headless browser (Debian's chromium through Playwright): the board
page (sorting, search, hidden rows, columns, boards, paging, picking rows), untrusted text shown as text,
nothing fetched from elsewhere, file modes, reference rows, `ecombench references` and `--serve`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecombench import submissions
from ecombench.leaderboard.siteitems import bundle_members
from tests.helpers.boards import INDEX, MC, STARTER, as_reference, copies_of_a_real_run, core_submission, item_records, make_submission, uniform
from tests.helpers.browser import CHROMIUM, names, needs_chromium, open_page, report, url
from tests.helpers.cli import invoke_ecombench

EVIL_NAME = "<script>window.__pwned = 1</script>javascript:alert(1)"
EVIL_OUTPUT = '<img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    subs = tmp / "subs"
    a = make_submission(EVIL_NAME, uniform(0.9, **{MC: 0.8}))
    b = make_submission("plain", uniform(0.1, **{MC: 0.2}))
    submissions.save(subs, a, item_records([1.0] * 8 + [0.0] * 2, EVIL_OUTPUT))
    submissions.save(subs, b, item_records([1.0] * 2 + [0.0] * 8, "1"))
    submissions.save(subs, make_submission("last", uniform(0.05)), [])
    submissions.save(subs, as_reference(make_submission("oracle (reference)", uniform(1.0))), [])
    submissions.save(subs, as_reference(make_submission("random (reference)", uniform(0.3))), [])
    submissions.save(subs, make_submission("limited", uniform(0.95), limit=3), [])
    for i in range(120):  # enough rows for a second page
        submissions.save(subs, make_submission(f"filler-{i:03d}", uniform(0.2 + i / 1000)), [])
    submissions.save(subs, core_submission("core-only", 0.5), [])
    out = tmp / "site"
    report(out, subs)
    return out, subs, a, b


@needs_chromium
@pytest.mark.slow
def test_board_sorts_pages_and_shows_untrusted_text_as_text(site, browser):
    out, _, evil, _ = site
    with browser.page() as page:
        open_page(page, (out / "index.html").as_uri())
        # ranked by All-Around; reference rows are listed where their score falls, marked "ref" and not ranked
        top, ranks = names(page), page.locator("#board tbody tr td:nth-child(2)").all_inner_texts()
        assert top[:2] == ["oracle (reference)", EVIL_NAME] and ranks[:2] == ["ref", "1"]
        fillers_above = 19  # filler-101 ... filler-119 score above 0.3, filler-100 ties it and is listed first
        assert top[2 + fillers_above + 1] == "random (reference)" and ranks[2 + fillers_above + 1] == "ref"
        assert page.inner_text("#board-info") == "1\u2013100 of 126 (page 1 of 2)"
        page.click("#board-next")
        assert page.inner_text("#board-info") == "101\u2013126 of 126 (page 2 of 2)"
        assert names(page)[-1] == "limited"  # flagged rows last, after the references
        page.click("#board-prev")
        page.locator("#board th[data-col=all_around]").click()  # ascending
        assert names(page)[0] == "last"
        page.locator("#board th[data-col=all_around]").click()  # descending
        assert names(page)[:2] == ["oracle (reference)", "limited"]
        page.locator("#board th[data-col=name]").click()  # text columns sort as text
        assert names(page)[:3] == [EVIL_NAME, "filler-000", "filler-001"]  # "<" sorts before letters
        for target in ("index.html", "compare.html", f"sub.html#id={evil.id}", "charts.html"):
            open_page(page, url(out, target))
            assert page.evaluate("window.__pwned === undefined")
        assert EVIL_NAME[:28] in page.inner_text("#heatmap")  # column labels are cut to 28 characters
        open_page(page, url(out, f"sub.html#id={evil.id}"))
        assert page.inner_text("#sub-name") == EVIL_NAME and EVIL_OUTPUT in page.inner_text("#items")
        assert "<b>question 2</b>" in page.inner_text("#items")
        assert page.evaluate("window.__pwned === undefined")
        assert page.errors == []
        assert all(url.startswith("file://") for url in page.requests)  # works offline: no CDN, no external request


@needs_chromium
@pytest.mark.slow
def test_board_filters_columns_boards_and_picking_rows(site, browser):
    out, _, evil, plain = site
    with browser.page() as page:
        open_page(page, (out / "index.html").as_uri())
        page.fill("#search", "PLA")
        page.wait_for_function("document.querySelectorAll('#board tbody tr').length === 1")
        assert names(page) == ["plain"]
        page.fill("#search", "")
        page.wait_for_function("document.querySelectorAll('#board tbody tr').length === 100")
        page.check("#hide-flagged")
        assert page.inner_text("#board-info").endswith("of 125 (page 1 of 2)")
        page.check("#hide-reference")
        assert page.inner_text("#board-info").endswith("of 123 (page 1 of 2)")
        assert "oracle (reference)" not in names(page)
        # columns: drop the interval, add the model and one task's scores (headed by its name, full name on hover)
        headers = lambda: page.locator("#board thead th").all_inner_texts()  # noqa: E731
        assert "\u00b1 95%" in headers() and "model" not in headers() and MC not in headers()
        page.click("#columns summary")
        page.uncheck("#column-list input[data-col=ci95]")
        page.check("#column-list input[data-col=model]")
        page.check(f"#column-list input[data-col='task:{MC}']")
        assert "\u00b1 95%" not in headers() and "model" in headers() and MC in headers()
        assert page.get_attribute(f"#board th[data-col='task:{MC}']", "title").startswith(f"task: {MC}")
        # the state is in the address: a reload keeps it
        page.reload()
        page.wait_for_selector("body[data-ready]", state="attached")
        assert page.is_checked("#hide-reference") and MC in headers()
        # pick two rows, then open them side by side
        for query, sid in (("plain", plain.id), ("script", evil.id)):  # picks are kept while the filter changes
            page.fill("#search", query)
            page.check(f"#board input[data-sid='{sid}']")
        assert page.inner_text("#compare-picked") == "side by side (2 picked)"
        page.click("#compare-picked")
        page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
        assert [page.input_value(f"#pickers select[data-slot='{k}']") for k in (0, 1)] == [plain.id, evil.id]
        assert page.inner_text("#deltas h3") == f"A: plain vs B: {EVIL_NAME}"  # the letters the terminal's compare uses
        # another board: the core boards cover one submission
        open_page(page, (out / "index.html").as_uri())
        options = page.locator("#board-pick option").all_inner_texts()
        assert options[0].startswith("ecombench_starter") and any(o.startswith("ecombench_core ") for o in options)
        page.select_option("#board-pick", label=next(o for o in options if o.startswith("ecombench_core ")))
        page.wait_for_function("document.getElementById('board-title').textContent === 'ecombench_core'")
        assert names(page) == ["core-only"]
        assert page.errors == []


@pytest.mark.slow
def test_site_files_are_readable_by_others_and_rebuilds_keep_unchanged_items(site, tmp_path):
    out, subs, evil, _ = site
    for path in [out, *out.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode & (0o055 if path.is_dir() else 0o044) == (0o055 if path.is_dir() else 0o044), (path, oct(mode))
    again = tmp_path / "again"
    shutil.copytree(out, again)
    (evil_file,) = [p for p in (again / "items" / "bundles").iterdir() if evil.id in bundle_members(p.read_text())]
    before = bundle_members(evil_file.read_text())[evil.id]
    done = report(again, subs)
    assert bundle_members(evil_file.read_text())[evil.id] == before  # taken from the previous build's bundle
    assert "report written to" in done.stdout
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me")
    refused = invoke_ecombench("report", "--output", str(tmp_path / "mine"), "--submissions-dir", str(subs))
    assert refused.returncode == 2 and "holds files a report does not write (thesis.tex)" in refused.stderr
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "keep me"


def test_reference_rows_are_listed_flagged_and_never_ranked():
    from ecombench.leaderboard.boards import Board
    from tests.helpers.boards import build_table

    subs = [
        make_submission("a", uniform(0.6)),
        make_submission("b", uniform(0.4)),
        as_reference(make_submission("oracle", uniform(1.0))),
        as_reference(make_submission("random", uniform(0.5))),
        make_submission("cut", uniform(0.9), limit=2),
    ]
    frame = build_table(Board(name="b", tasks=["ecombench_starter"]), INDEX, subs).frame
    assert list(frame["name"]) == ["oracle", "a", "random", "b", "cut"]
    assert [None if str(r) == "<NA>" else int(r) for r in frame["rank"]] == [None, 1, None, 2, None]
    assert list(frame["flags"]) == ["reference", "", "reference", "", "limit 2"]


def test_references_command_writes_scored_reference_rows_and_leaves_unchanged_ones(tmp_path):
    from ecombench.references import build_references

    built = build_references(tmp_path, suites=["ecombench_starter"], kinds=["random", "most_frequent", "oracle"])
    by_kind = {b.submission.id.rsplit("-", 1)[1]: b.submission for b in built}
    assert set(by_kind) == {"random", "most_frequent", "oracle"} and all(b.written for b in built)
    assert by_kind["oracle"].all_around == pytest.approx(1.0, abs=1e-6)  # the upper bound: every answer is the truth
    assert all(s.model.kind == "reference" for s in by_kind.values())
    # one random option among 3 on the multiple-choice task: near a third, well under the oracle
    assert 0.1 < by_kind["random"].tasks[MC].score < 0.6 and by_kind["most_frequent"].tasks[MC].score == pytest.approx(1 / 3, abs=0.01)
    items_of = submissions.load_items(tmp_path, by_kind["oracle"])
    assert len(items_of) == sum(t.n for t in by_kind["oracle"].tasks.values()) and all(i.score == pytest.approx(1.0) for i in items_of if i.task == MC)
    again = build_references(tmp_path, suites=["ecombench_starter"], kinds=["random"])
    assert not again[0].written  # same scores and answers: the file is left as it is


@pytest.mark.slow
def test_references_are_rewritten_only_when_a_figure_changes_at_the_shown_precision(tmp_path):
    from ecombench.references import build_references

    (built,) = build_references(tmp_path, suites=["ecombench_starter"], kinds=["random"])
    path = built.path
    data = json.loads(path.read_text())

    def stored_with(score: float) -> str:
        data["tasks"][MC]["score"] = score
        text = json.dumps(data, indent=2)
        path.write_text(text)
        return text

    score = built.submission.tasks[MC].score
    noisy = stored_with(score + 4e-8)  # float noise in the 8th-9th digit, as torch's thread count gives
    assert not build_references(tmp_path, suites=["ecombench_starter"], kinds=["random"])[0].written
    assert path.read_text() == noisy
    stored_with(score + 0.001)  # a change that shows at 4 decimals: rewritten with the real figure
    assert build_references(tmp_path, suites=["ecombench_starter"], kinds=["random"])[0].written
    assert json.loads(path.read_text())["tasks"][MC]["score"] == pytest.approx(score)


@pytest.mark.slow
def test_serve_rebuilds_when_a_submission_lands(tmp_path, browser):
    subs = tmp_path / "subs"
    submissions.save(subs, make_submission("first", uniform(0.5)), [])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecombench",
            "report",
            "--output",
            str(tmp_path / "site"),
            "--board",
            "ecombench_starter",
            "--submissions-dir",
            str(subs),
            "--serve",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = ""
        while not line.startswith("serving"):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read()
        url = line.split()[1]
        get = lambda path: urllib.request.urlopen(url + path, timeout=10).read().decode()  # noqa: E731
        assert "first" in get("data/board-0.json") and '<table id="board"' in get("index.html")
        stamp = get("data/stamp.json")
        submissions.save(subs, make_submission("second", uniform(0.7)), [])
        deadline = time.monotonic() + 30
        while "second" not in get("data/board-0.json"):
            assert time.monotonic() < deadline, "the site was not rebuilt"
            time.sleep(0.3)
        assert get("data/stamp.json") != stamp
        if CHROMIUM:
            with browser.page() as page:
                open_page(page, url + "index.html")
                assert names(page) == ["second", "first"] and page.errors == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_committed_reference_rows_are_scored_on_the_bundled_data_as_it_is():
    # `ecombench references` must be rerun whenever a bundled task's data changes: else the rows are flagged "other data"
    from ecombench.taskindex import build_index, default_roots

    tasks = build_index(default_roots()).tasks
    folder = Path(__file__).resolve().parent.parent / "submissions"
    refs = [submissions.load(p) for p in sorted(folder.glob("reference-*.json"))]
    assert {r.id.rsplit("-", 1)[1] for r in refs} == {"random", "most_frequent", "oracle", "tiny"}
    for ref in refs:
        stale = [n for n, t in ref.tasks.items() if t.data_sha256 != tasks[n].data_hash() or t.version != tasks[n].version]
        assert not stale, f"{ref.id}: rerun `ecombench references` ({stale[:3]})"


def test_committed_reference_rows_are_current_records_that_name_their_rules():
    # issue 27: a record of schema 1 has no `rules` and loads with inferred ones; the committed rows carry theirs
    import json

    folder = Path(__file__).resolve().parent.parent / "submissions"
    raw = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("reference-*.json"))}
    assert len(raw) == 8
    assert {name: (r["schema_version"], r.get("rules")) for name, r in raw.items()} == {name: (submissions.SCHEMA_VERSION, "kddcup") for name in raw}


def test_report_open_opens_the_boards_file_address(tmp_path, monkeypatch):
    import webbrowser

    from typer.testing import CliRunner

    from ecombench.cli import app

    subs = tmp_path / "subs"
    submissions.save(subs, make_submission("a", uniform(0.5)), [])
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    done = CliRunner().invoke(app, ["report", "--output", str(tmp_path / "site"), "--submissions-dir", str(subs), "--board", "ecombench_starter", "--open"])
    assert done.exit_code == 0, done.output
    page = (tmp_path / "site" / "index.html").resolve()
    assert opened == [page.as_uri()] and opened[0].startswith("file:///")
    assert f"open {page.as_uri()}" in done.stdout  # the address to paste where no browser opens


def test_lineage_sets_an_adapter_against_its_bases_run_with_the_same_settings():
    from ecombench.leaderboard.sitedata import _entry, lineage_payload
    from tests.helpers.boards import make_lineage

    def run(name, day, system_prompt=None, lineage=None):
        sub = make_submission(name, uniform(0.3), created=datetime(2026, 11, day, tzinfo=UTC))
        gen = sub.generation.model_copy(update={"system_prompt": system_prompt})
        return sub.model_copy(update={"generation": gen, "lineage": lineage})

    plain = run("tiny", 1)
    prompted = run("tiny-kddcup", 2, system_prompt="You are a helpful online shopping assistant.")  # newer, same weights
    adapter = run("tiny-lora", 3, lineage=make_lineage(["starter_category_mc"], []))
    assert adapter.lineage.base_weights_sha256 == plain.model.weights_sha256 == prompted.model.weights_sha256
    details = {s.id: _entry(s) for s in (plain, prompted, adapter)}
    (row,) = lineage_payload(details)
    assert row["base"] == plain.id  # not the newest run of the weights, which had a system prompt
    del details[plain.id]
    (row,) = lineage_payload(details)
    assert row["base"] is None  # the page says there is no run of the base with these settings


def test_the_web_board_rounds_once_as_the_terminal_board_does():
    from ecombench.leaderboard.sitedata import board_payload
    from ecombench.leaderboard.table import build_table

    sub = make_submission("x", uniform(0.10725000001))  # 0.1073 to 4 decimals; rounded to 6 first it is 0.10725, shown 0.1072
    from ecombench.leaderboard.boards import Board
    from ecombench.leaderboard.store import from_submissions

    table = build_table(Board(name="b", tasks=["ecombench_starter"]), INDEX, from_submissions([sub]))
    payload = board_payload(table, INDEX)
    assert payload["data"]["all_around"] == [0.1073] and payload["data"]["track:concept_understanding"] == [0.1073]
    assert f"{table.frame.loc[0, 'all_around']:.4f}" == "0.1073"


@needs_chromium
@pytest.mark.slow
def test_board_compare_heatmap_and_item_pages_read_right(site, browser):
    out, _, evil, plain = site
    with browser.page() as page:
        page.set_viewport_size({"width": 1200, "height": 900})
        open_page(page, (out / "index.html").as_uri())
        headers = page.locator("#board thead th").all_inner_texts()
        assert headers[1:4] == ["rank", "name", "All-Around"]  # who is who first
        right = page.evaluate("document.querySelector('#board th[data-col=all_around]').getBoundingClientRect().right")
        assert right <= 1200  # All-Around on screen at 1200 px
        # side by side: a significant regression is red, not the green of a win
        open_page(page, url(out, f"compare.html#ids={evil.id},{plain.id}"))
        cell = page.locator("#deltas table tbody tr", has_text=MC).locator("td").nth(4)
        assert cell.inner_text() == "-0.6000" and cell.get_attribute("class").split() == ["sig", "loss"]
        assert page.evaluate("(el) => getComputedStyle(el).color", cell.element_handle()) == "rgb(170, 0, 0)"
        # the paired test is compare's: 6 items differ, all right -> wrong: McNemar p = 2 / 2^6 (one task with items,
        # so Holm keeps it); the interval is 6/10 * (2 * [0, 1 - 0.025^(1/6)] - 1)
        row = page.locator("#deltas table tbody tr", has_text=MC).locator("td")
        assert row.nth(8).inner_text() == f"{2 / 2**6:.4f}"
        assert row.nth(5).inner_text() == f"[-0.600, {0.6 * (2 * (1 - 0.025 ** (1 / 6)) - 1):+.3f}]"
        assert page.locator("#deltas table tbody tr", has_text=MC).get_attribute("title") == "mcnemar-exact"
        # heatmap: scaled to the best row that is not a reference row (the oracle's 1.0 would whiten the rest)
        open_page(page, url(out, "charts.html"))
        titles = page.evaluate("[...document.querySelectorAll('#heatmap-chart rect.cell title')].map(t => t.textContent)")
        base = INDEX.tasks[MC].config["metadata"].get("random_baseline") or 0.0  # the starter tasks have none: 0
        (mine,) = [t for t in titles if t.startswith(f"{EVIL_NAME} \u00b7 {MC}: ")]
        assert mine.endswith(f"(scaled {(0.8 - base) / (0.95 - base):.2f})")  # 0.95: the flagged "limited" row, the best real one
        # an item's permalink opens the item whole, under the submission's name
        open_page(page, url(out, f"sub.html#id={evil.id}&item=3"))
        assert page.inner_text("#sub-name") == EVIL_NAME and page.is_visible("#item-fields")
        fields = page.locator("#item-fields dt").all_inner_texts()
        assert fields == ["task", "track", "doc_id", "score", "prompt", "raw output", "parsed answer", "target"]
        assert page.errors == []


@pytest.mark.slow
def test_the_side_by_side_page_reads_the_paired_tests_of_ecombench_compare(site):
    """Issue 36: the page resampled in JavaScript (p 0.9154 where the CLI said 0.9522); it now reads the figures
    `ecombench compare --format json` prints, written into the site by Python."""
    from ecombench.leaderboard.sitedata import script_value

    out, subs, evil, plain = site
    pairs = json.loads(script_value((out / "data" / "pairs.js").read_text()))
    key = "|".join(sorted((evil.id, plain.id)))
    assert list(pairs) == [key]  # the only two runs with items
    first, second = sorted((evil, plain), key=lambda s: s.id)
    done = invoke_ecombench("compare", first.id, second.id, "--submissions-dir", str(subs), "--format", "json")
    assert done.returncode == 0, done.stderr
    (cli,) = json.loads(done.stdout)
    shown = pairs[key][MC].pop("shown")
    assert pairs[key][MC] == cli["tasks"][MC]
    low, high = cli["tasks"][MC]["ci95"]
    assert shown == [f"{cli['tasks'][MC]['p_holm']:.4f}", f"[{low:+.3f}, {high:+.3f}]"]  # as `compare`'s table prints them
    assert pairs[key][MC]["p_holm"] == pytest.approx(2 / 2**6)  # 6 items differ, all one way


@needs_chromium
@pytest.mark.slow
def test_the_heatmap_draws_a_score_of_0_as_0_when_nobody_beats_chance(tmp_path, browser):
    """Issue 36.4: a task every model scored 0 on was drawn darkest ("0.0000 (scaled 1.00)"), as was the best of
    scores at or below the random baseline. core_category_mc: both 0; core_rating_mc (baseline 0.2183): 0.2 and 0."""
    subs = tmp_path / "subs"
    low, zero = core_submission("low", 0.0), core_submission("zero", 0.0)
    low = low.model_copy(update={"tasks": {**low.tasks, "core_rating_mc": low.tasks["core_rating_mc"].model_copy(update={"score": 0.2})}})
    for sub in (low, zero):
        submissions.save(subs, sub, [])
    out = tmp_path / "site"
    report(out, subs, board="ecombench_core")
    with browser.page() as page:
        open_page(page, url(out, "charts.html"))
        titles = page.evaluate("[...document.querySelectorAll('#heatmap-chart rect.cell title')].map(t => t.textContent)")
        fills = page.evaluate("[...document.querySelectorAll('#heatmap-chart rect.cell')].map(r => r.getAttribute('fill'))")
        cells = dict(zip(titles, fills, strict=True))
        white = "rgb(247,251,255)"
        # every row scored 0: white for everyone (it was drawn darkest, "scaled 1.00")
        assert cells["low \u00b7 core_category_mc: 0.0000 (scaled 0.00)"] == cells["zero \u00b7 core_category_mc: 0.0000 (scaled 0.00)"] == white
        # nobody beats chance: shown as it is, 0.2 a fifth of the way to blue (it was 1.00), 0 white
        assert "low \u00b7 core_rating_mc: 0.2000 (scaled 0.20)" in cells and cells["zero \u00b7 core_rating_mc: 0.0000 (scaled 0.00)"] == white


@pytest.mark.slow
def test_prompts_and_targets_are_stored_once_per_task_data(tmp_path, browser):
    subs = tmp_path / "subs"
    ids = copies_of_a_real_run(subs, 3)
    out = tmp_path / "site"
    report(out, subs)
    texts = sorted((out / "items" / "texts").iterdir())
    assert len(texts) == len(STARTER)  # one file per task data, not one per submission
    prompt = json.loads(INDEX.tasks[MC].data_file.read_text().splitlines()[0])["input_field"]
    for sid in ids:
        (bundle,) = [p.read_text() for p in (out / "items" / "bundles").iterdir() if f'"{sid}":' in p.read_text()]  # 199 items: no chunk file
        assert '"prompt' not in bundle and prompt.split("\n")[0][:30] not in bundle  # items refer to the task's text
    assert sum(prompt.split("\n")[0][:30] in p.read_text() for p in texts) == 1
    if CHROMIUM is not None:
        with browser.page() as page:
            open_page(page, url(out, f"sub.html#id={ids[1]}&item=0"))
            fields = page.locator("#item-fields dd").all_inner_texts()
            assert fields[0] == MC and fields[4] == prompt  # the prompt, read from the task's texts file
            assert page.errors == []


@needs_chromium
@pytest.mark.slow
def test_board_shows_who_is_who_on_the_first_screen_and_offers_a_users_own_task(tmp_path, browser):
    """Issue 38: at 1280 x 800 the board shows rank, name and All-Around of the first rows without scrolling,
    short track headers carry the full name on hover, the picker offers a board for a task the user added,
    and a submission's page puts its tasks and settings before its items."""
    from ecombench.taskcheck import scaffold
    from ecombench.taskindex import build_index, default_roots
    from tests.helpers.realistic import realistic_folder

    subs = tmp_path / "subs"
    ids = realistic_folder(subs)
    home = tmp_path / "home"
    scaffold("my_task", "multiple-choice", "custom", home / "tasks")
    env = {"ECOMBENCH_HOME": str(home)}
    mine = make_submission("my-model", {})
    task = build_index([*default_roots(), home / "tasks"]).tasks["my_task"]
    result = submissions.TaskResult(
        track="custom", task_type="multiple-choice", metric="accuracy", n=1, score=1.0, stderr=None, version=task.version, data_sha256=task.data_hash()
    )
    submissions.save(subs, mine.model_copy(update={"tasks": {"my_task": result}}), [])
    out = tmp_path / "site"
    done = invoke_ecombench("report", "--output", str(out), "--submissions-dir", str(subs), env=env)
    assert done.returncode == 0, done.stderr
    with browser.page() as page:
        page.set_viewport_size({"width": 1280, "height": 800})
        open_page(page, (out / "index.html").as_uri())
        assert page.inner_text("#board-title") == "ecombench_core"
        assert page.locator("#board thead th").all_inner_texts()[1:7] == ["rank", "name", "All-Around", "\u00b1 95%", "concept", "knowledge"]
        assert page.get_attribute("#board th[data-col='track:concept_understanding']", "title").startswith("track: concept_understanding")
        # the first screen: every cell of rank, name and All-Around of the first 6 rows inside 1280 x 800, nothing scrolled
        boxes = page.evaluate(
            "() => ['rank', 'name', 'all_around'].flatMap(c => {"
            " const i = [...document.querySelectorAll('#board thead th')].findIndex(th => th.dataset.col === c);"
            " return [...document.querySelectorAll('#board tbody tr')].slice(0, 6).map(tr => {"
            " const r = tr.children[i].getBoundingClientRect(); return [c, tr.children[i].innerText, r.right, r.bottom]; }); })"
        )
        assert all(right <= 1280 and bottom <= 800 for _, _, right, bottom in boxes), boxes
        shown = [text for c, text, _, _ in boxes if c == "name"]
        assert shown == [
            "oracle (reference)",
            "Mistral-7B-Instruct-v0.3",
            "Phi-3.5-mini-instruct",
            "gemma-2-2b-it",
            "Qwen2.5-0.5B-Instruct-ecom-lora",
            "Llama-3.2-1B-Instruct",
        ]
        width = page.evaluate("document.getElementById('board').getBoundingClientRect().right")
        assert width <= 1280  # the whole board, flags included, fits
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        options = page.locator("#board-pick option").all_inner_texts()
        assert any(o.startswith("my_task (") for o in options), options
        page.select_option("#board-pick", label=next(o for o in options if o.startswith("my_task (")))
        page.wait_for_function("document.getElementById('board-title').textContent === 'my_task'")
        assert names(page) == ["my-model"]
        open_page(page, url(out, f"sub.html#id={ids['Qwen2.5-0.5B-Instruct-ecom-lora']}"))
        top = {h: page.evaluate(f"document.getElementById('{h}').getBoundingClientRect().top") for h in ("tasks", "settings", "items")}
        assert top["tasks"] < top["settings"] < top["items"] and top["tasks"] < 800  # tasks on the first screen
        settings = page.inner_text("#settings")
        assert "held out (never trained on)\t18 tasks" in settings and "contamination\t" in settings  # the lineage, above the items
        # side by side: runs lettered as the terminal's compare (A, B, C), All-Around and tracks first, task names never broken
        three = [ids[n] for n in ("Qwen2.5-0.5B-Instruct", "Mistral-7B-Instruct-v0.3", "gemma-2-2b-it")]
        page.set_viewport_size({"width": 1000, "height": 800})
        open_page(page, url(out, "compare.html#ids=" + ",".join(three)))
        assert [t.strip() for t in page.locator("#pickers .picker > span").all_inner_texts()] == ["A (reference)", "B", "C"]
        assert page.locator("#deltas h3").all_inner_texts() == [
            "A: Qwen2.5-0.5B-Instruct vs B: Mistral-7B-Instruct-v0.3",
            "A: Qwen2.5-0.5B-Instruct vs C: gemma-2-2b-it",
        ]
        first = page.locator("#deltas-1 tbody tr td:first-child").all_inner_texts()
        tracks = ["concept_understanding", "knowledge_reasoning", "multilingual", "user_behavior_alignment"]
        assert first[:5] == ["All-Around", *(f"track: {t}" for t in tracks)] and first[5].startswith("core_")
        heights = page.evaluate("[...document.querySelectorAll('#deltas-1 tbody tr')].map(tr => tr.getBoundingClientRect().height)")
        assert max(heights) == min(heights)  # one line a row: no task name is broken over two
        assert "core_multilingual_category_mc" in first
        assert page.errors == []
