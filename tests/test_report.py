"""`ecombench report` driven in a real headless browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ecombench import submissions
from tests.test_leaderboard import make_submission, uniform

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")

EVIL_NAME = "<script>window.__pwned = 1</script>javascript:alert(1)"
EVIL_OUTPUT = '<img src=x onerror="window.__pwned = 2">'
MC = "starter_category_mc"


def _items(scores, prediction):
    return [submissions.ItemRecord(task=MC, doc_id=i, item_hash=f"h{i}", prompt=f"<b>question {i}</b>", target="1",
                                   prediction=prediction if s else "0", parsed=None, score=s) for i, s in enumerate(scores)]


@pytest.fixture
def site(tmp_path):
    subs = tmp_path / "subs"
    a = make_submission(EVIL_NAME, uniform(0.9, **{MC: 0.8}))
    b = make_submission("plain", uniform(0.1, **{MC: 0.2}))
    c = make_submission("last", uniform(0.05))
    submissions.save(subs, a, _items([1.0] * 8 + [0.0] * 2, EVIL_OUTPUT))
    submissions.save(subs, b, _items([1.0] * 2 + [0.0] * 8, "1"))
    submissions.save(subs, c, [])
    out = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "ecombench", "report", "--output", str(out), "--board", "ecombench_starter", "--submissions-dir", str(subs)],
                          capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0, done.stderr
    return out, a


def test_report_loads_sorts_and_shows_untrusted_text_as_text(site):
    from playwright.sync_api import sync_playwright

    out, evil = site
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page()
        errors, requests = [], []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: requests.append(req.url))
        page.goto((out / "index.html").as_uri())
        names = lambda: page.locator("#board tbody tr td:nth-child(2)").all_inner_texts()  # noqa: E731
        assert names() == [EVIL_NAME, "plain", "last"]  # ranked by All-Around, the name shown as text
        page.locator("#board th", has_text="all_around").click()  # ascending
        assert names() == ["last", "plain", EVIL_NAME]
        page.locator("#board th", has_text="all_around").click()  # descending
        assert names() == [EVIL_NAME, "plain", "last"]
        page.locator("#board th", has_text="name").click()  # text columns sort as text
        assert names() == sorted(names())
        for target in ("compare.html", f"sub/{evil.id}.html"):
            page.goto((out / target).as_uri())
            assert page.evaluate("window.__pwned === undefined")
        page.goto((out / "compare.html").as_uri())
        body = page.inner_text("body")
        assert "Flipped items (6)" in body and EVIL_OUTPUT in body and "<b>question 2</b>" in body
        assert page.evaluate("window.__pwned === undefined")
        browser.close()
    assert errors == []
    assert all(url.startswith("file://") for url in requests)  # works offline: no CDN, no external request
