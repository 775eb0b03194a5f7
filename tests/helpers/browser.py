"""The static site in a real headless browser: Debian's Chromium through Playwright (which downloads none).

``Browser`` starts Chromium on its first page and keeps it for the module (the ``browser`` fixture of
tests/conftest.py); each page is opened in a fresh context, so no state passes from one test to the next.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Browser:
    """One headless Chromium, started when the first page is asked for."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None

    @contextmanager
    def page(self) -> Iterator[Any]:
        """A page in a fresh browser context that records console errors (``page.errors``) and every URL
        requested (``page.requests``); closed with its context."""
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = self._browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.errors, page.requests = [], []
        page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("request", lambda req: page.requests.append(req.url))
        try:
            yield page
        finally:
            context.close()

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._playwright.stop()
            self._browser = self._playwright = None


def report(out: Path, subs: Path, *extra: str, board: str = "ecombench_starter") -> subprocess.CompletedProcess:
    """``ecombench report`` of the submissions in ``subs`` into ``out`` (umask 022), which must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "ecombench", "report", "--output", str(out), "--board", board, "--submissions-dir", str(subs), *extra],
        capture_output=True,
        text=True,
        env={**os.environ},
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    return done


def url(out: Path, target: str) -> str:
    """``file://`` address of a page of the site, with its ``#fragment`` (``Path.as_uri`` would escape the ``#``)."""
    page, _, fragment = target.partition("#")
    return (out / page).as_uri() + (f"#{fragment}" if fragment else "")


def open_page(page, url: str) -> None:
    """Go to ``url`` and wait until the page says its data is on screen (also when only the fragment changes)."""
    if page.url.startswith(("file:", "http:")):
        page.evaluate("document.body && document.body.removeAttribute('data-ready')")
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)


def names(page) -> list[str]:
    """The board's name column, wherever the page puts it (scores come first)."""
    return page.evaluate(
        "() => { const i = [...document.querySelectorAll('#board thead th')].findIndex(th => th.dataset.col === 'name');"
        " return [...document.querySelectorAll('#board tbody tr')].map(tr => tr.children[i].innerText); }"
    )
