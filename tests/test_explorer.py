"""The report's item explorer, side-by-side view and charts, driven in headless Chromium (as tests/test_report.py)."""

from __future__ import annotations

import random
import time

import pytest

from ecombench import submissions
from ecombench.leaderboard.compare import compare, interval_text, p_text
from tests.helpers.boards import STARTER, make_lineage, make_submission, uniform
from tests.helpers.browser import CHROMIUM, open_page, report, url

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")

MC, NER, RANKING = "starter_category_mc", "starter_attribute_ner", "starter_query_ranking"
BIG = {MC: 8000, NER: 6000, RANKING: 6000}  # 20,000 items
PAIRED = (MC, NER, RANKING)


def big_items() -> list[submissions.ItemRecord]:
    out = []
    for task, n in BIG.items():
        for i in range(n):
            score = [0.0, 1.0][i % 2] if task == MC else [0.0, 0.5, 1.0][i % 3]
            prompt = f"{task} question {i}" + (" needle-7777 <i>here</i>" if (task, i) == (NER, 4321) else "")
            out.append(
                submissions.ItemRecord(
                    task=task, doc_id=i, item_hash=f"{task}-{i}", prompt=prompt, target=f"truth {i}", prediction=f"answer {i}", parsed=[i], score=score
                )
            )
    return out


def paired_items(seed: int, skill: dict[str, float]) -> list[submissions.ItemRecord]:
    """200 items per task; answers right with probability ``skill[task]`` (the same seed gives the same answers)."""
    rng = random.Random(seed)
    out = []
    for task in PAIRED:
        for i in range(200):
            right = rng.random() < skill[task]
            out.append(
                submissions.ItemRecord(
                    task=task,
                    doc_id=i,
                    item_hash=f"q{i}",
                    prompt=f"<u>{task} {i}</u>",
                    target="1",
                    prediction="1" if right else f"wrong {rng.randint(0, 3)}",
                    parsed=None,
                    score=1.0 if right else 0.0,
                )
            )
    return out


def scores_of(items: list[submissions.ItemRecord]) -> dict[str, float]:
    by_task: dict[str, list[float]] = {}
    for i in items:
        by_task.setdefault(i.task, []).append(i.score)
    return {t: sum(v) / len(v) for t, v in by_task.items()}


def adapter(name: str, rank: int, capabilities: int, tasks: int, score: float) -> submissions.Submission:
    names = [t.name for t in STARTER]
    lineage = make_lineage(names[:tasks], names[tasks:], rank=rank).model_copy(
        update={"base_weights_sha256": "b" * 64, "tracks": ["concept_understanding", "multilingual", "knowledge_reasoning"][:capabilities]}
    )
    sub = make_submission(name, uniform(score))
    return sub.model_copy(update={"lineage": lineage, "model": sub.model.model_copy(update={"kind": "adapter", "adapter_sha256": "a" * 64})})


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explorer")
    subs = tmp / "subs"
    big = make_submission("big", uniform(0.5))
    submissions.save(subs, big, big_items())
    alpha_items = paired_items(1, {MC: 0.5, NER: 0.5, RANKING: 0.5})
    beta_items = paired_items(2, {MC: 0.9, NER: 0.5, RANKING: 0.45})
    gamma_items = paired_items(1, {MC: 0.5, NER: 0.5, RANKING: 0.5})  # alpha's answers again
    made = {}
    for name, its in (("alpha", alpha_items), ("beta", beta_items), ("gamma", gamma_items)):
        made[name] = make_submission(name, uniform(0.3, **scores_of(its)))
        submissions.save(subs, made[name], its)
    base = make_submission("tiny-base", uniform(0.2))
    submissions.save(subs, base.model_copy(update={"model": base.model.model_copy(update={"weights_sha256": "b" * 64})}), [])
    for rank in (8, 16):
        for caps in (1, 2):
            submissions.save(subs, adapter(f"lora-r{rank}-k{caps}", rank, caps, caps + 1, 0.2 + rank / 100 + caps / 50), [])
    out = tmp / "site"
    report(out, subs)
    return out, subs, big, made


def first_item(page) -> str:
    return page.get_attribute("#items tbody tr:first-child", "data-item")


@pytest.mark.slow
def test_explorer_filters_pages_and_opens_one_item_of_20000(site, browser):
    out, _, big, _ = site
    with browser.page() as page:
        started = time.perf_counter()
        open_page(page, url(out, f"sub.html#id={big.id}"))
        assert time.perf_counter() - started < 5  # the first page of 20,000 items
        assert page.inner_text("#items-status") == "20000 of 20000 items"
        assert page.inner_text("#items-info") == "1\u201350 of 20000 (page 1 of 400)"
        assert page.locator("#items tbody tr").count() == 50
        flips = []
        for expected in ("50", "100", "150"):
            started = time.perf_counter()
            page.click("#items-next")
            page.wait_for_function(f"document.querySelector('#items tbody tr').getAttribute('data-item') === '{expected}'")
            flips.append(time.perf_counter() - started)
        assert max(flips) < 1.0, flips  # paging loads one chunk of text, never all 20,000 items
        page.select_option("#f-task", NER)
        page.wait_for_function("document.getElementById('items-status').textContent === '6000 of 20000 items'")
        assert first_item(page) == "8000"  # the filter starts again at its first page
        page.select_option("#f-result", "partial")
        page.wait_for_function("document.getElementById('items-status').textContent === '2000 of 20000 items'")
        assert set(page.locator("#items tbody td:nth-child(3)").all_inner_texts()) == {"0.5000"}
        page.select_option("#f-task", "")
        page.select_option("#f-track", "user_behavior_alignment")  # the ranking task's track
        page.wait_for_function("document.getElementById('items-status').textContent === '2000 of 20000 items'")
        assert first_item(page) == str(8000 + 6000 + 1)
        page.select_option("#f-track", "")
        page.select_option("#f-result", "")
        page.fill("#f-text", "NEEDLE-7777")  # free text, any case: every chunk is searched
        page.wait_for_function("document.getElementById('items-status').textContent === '1 of 20000 items'")
        page.click("#items tbody tr a")
        page.wait_for_selector("#item-fields")
        fields = page.inner_text("#item-fields")
        assert f"{NER} question 4321 needle-7777 <i>here</i>" in fields and "truth 4321" in fields and "answer 4321" in fields
        assert page.url.endswith(f"&item={8000 + 4321}") and page.is_hidden("#item-list")
        open_page(page, url(out, f"sub.html#id={big.id}&item={8000 + 4321}"))  # the link opens that one item
        assert "needle-7777" in page.inner_text("#item-fields") and page.is_hidden("#item-list")
        open_page(page, url(out, f"sub.html#id={big.id}&q=needle-7777&item={8000 + 4321}"))
        page.click("text=all items")  # back to the list, its filter kept
        page.wait_for_function("document.getElementById('items-status').textContent === '1 of 20000 items'")
        assert page.input_value("#f-text") == "needle-7777"
        assert page.errors == [] and all(u.startswith("file://") for u in page.requests)


@pytest.mark.slow
def test_side_by_side_shows_the_paired_test_of_compare_and_the_differing_items(site, browser):
    out, subs, _, made = site
    alpha, beta, gamma = made["alpha"], made["beta"], made["gamma"]
    expected = compare(alpha, beta, subs, iters=10_000)
    with browser.page() as page:
        open_page(page, url(out, f"compare.html#ids={alpha.id},{beta.id}"))
        rows = [r.split("\t") for r in page.locator("#deltas-1 tbody tr").all_inner_texts()]
        by_task = {r[0]: r for r in rows}
        for d in expected.tasks:
            r = by_task[d.task]
            assert r[2:5] + r[6:8] == [f"{d.a:.4f}", f"{d.b:.4f}", f"{d.delta:+.4f}", str(d.n_paired), str(d.same_answers)]
            # the same test: compare's own figures, written into the site by Python (issue 36: the page resampled in JS)
            assert [r[5], r[8]] == [interval_text(d), p_text(d)]
            if d.p_adjusted is None:  # a task without items in both: no test
                assert r[8] == "-" and d.n_paired == 0
        assert by_task[MC][4].startswith("+") and "significant" in page.get_attribute(f"#deltas-1 tbody tr:nth-child({rows.index(by_task[MC]) + 1})", "class")
        assert page.inner_text("#diff-count").startswith(f"{len(expected.flips)} items scored differently")
        first = page.locator("#diff-items tbody tr").first.inner_text()
        flip = expected.flips[0]
        assert flip.prompt in first and flip.prediction_a in first and flip.prediction_b in first
        page.select_option("#diff-mode", "answer")
        page.wait_for_function("document.getElementById('diff-count').textContent.indexOf('answered differently') > 0")
        same = sum(d.same_answers for d in expected.tasks)
        assert page.inner_text("#diff-count").startswith(f"{3 * 200 - same} items answered differently")
        # a third submission: gamma answered as alpha did, so nothing of alpha's differs from gamma's
        page.click("#add-picker")
        page.wait_for_selector("#pickers select[data-slot='2']")
        page.select_option("#pickers select[data-slot='2']", gamma.id)
        page.wait_for_selector("#deltas-2")
        page.wait_for_selector("body[data-ready]", state="attached")
        gamma_rows = [r.split("\t") for r in page.locator("#deltas-2 tbody tr").all_inner_texts()]
        assert all(r[4] == "+0.0000" for r in gamma_rows) and all(r[8] == "1.0000" for r in gamma_rows if r[0] in PAIRED)
        assert page.locator("#diff-items thead th").count() == 3 + 3  # task, prompt, target, then one answer per submission
        assert page.errors == []


@pytest.mark.slow
def test_charts_have_a_mark_per_score_adapter_and_track(site, browser):
    out, _, big, _ = site
    with browser.page() as page:
        open_page(page, url(out, "charts.html"))
        rows = 1 + 3 + 1 + 4  # big, alpha/beta/gamma, the base, four adapters
        assert page.locator("#heatmap-chart rect.cell").count() == rows * len(STARTER)
        page.select_option("#heat-n", "10")
        assert page.locator("#heatmap-chart rect.cell").count() == rows * len(STARTER)
        assert page.locator("#sweep-chart circle.point").count() == 4
        assert page.locator("#sweep-chart polyline.series").count() == 2  # one line per LoRA rank
        assert "capabilities (tracks)" in page.inner_text("#sweep")
        page.select_option("#sweep-x", "tasks")
        assert "tasks in the training mixture" in page.inner_text("#sweep") and page.locator("#sweep-chart circle.point").count() == 4
        assert page.locator("#lineage-chart path.edge").count() == 4  # base -> each adapter
        lineage = page.inner_text("#lineage")
        assert "tiny-base: 0.2000" in lineage and "lora-r16-k2 \u00b7 lora r16" in lineage
        open_page(page, url(out, f"sub.html#id={big.id}"))
        assert page.locator("#profile-chart rect.bar").count() == 4  # one bar per track
        assert page.errors == []
