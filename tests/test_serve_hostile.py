"""`report --serve` against other origins, rebound host names and broken records (issue 26, items 6-8, 15)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from ecombench import submissions
from ecombench.errors import EcombenchError
from ecombench.leaderboard.serve import make_server, watch
from tests.helpers.boards import make_submission, uniform
from tests.helpers.browser import CHROMIUM, report


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Path, int]]:
    tmp = tmp_path_factory.mktemp("served")
    submissions.save(tmp / "subs", make_submission("secret-model", uniform(0.5)), [])
    report(tmp / "site", tmp / "subs")
    server = make_server(tmp / "site", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp / "site", server.server_address[1]
    server.shutdown()
    server.server_close()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
    reply = conn.getresponse()
    body = reply.read()
    conn.close()
    return reply.status, dict(reply.getheaders()), body


@pytest.mark.slow
def test_data_scripts_go_to_the_reports_own_pages_only(served):
    _, port = served
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {}, {"Referer": "http://127.0.0.1:1/evil.html"}):
        status, _, body = get(port, "/data/board-0.js", headers)
        assert status == 403 and b"secret-model" not in body
    status, headers, body = get(port, "/data/board-0.js", {"Sec-Fetch-Site": "same-origin"})
    assert status == 200 and b"secret-model" in body
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin" and headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.slow
def test_data_is_served_as_json_with_the_scripts_value(served):
    site, port = served
    status, headers, body = get(port, "/data/board-0.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    value = json.loads(body)
    assert "secret-model" in json.dumps(value)
    script = (site / "data" / "board-0.js").read_text()
    assert script == f"ECOM.put({json.dumps('board:0')},{body.decode()});\n" or body.decode() in script


@pytest.mark.slow
@pytest.mark.parametrize(
    ("host", "status"), [("evil.attacker.example", 421), ("evil.attacker.example:{port}", 421), ("127.0.0.1:1", 421), ("localhost:{port}", 200)]
)
def test_only_this_machines_names_are_answered(served, host, status):
    _, port = served
    assert get(port, "/index.html", {"Host": host.format(port=port)})[0] == status


@pytest.mark.slow
def test_no_directory_listing(served):
    _, port = served
    for path in ("/data/", "/items/", "/assets/"):
        status, _, body = get(port, path, {"Sec-Fetch-Site": "same-origin"})
        assert status == 404 and b"board-0.js" not in body


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_a_page_on_another_localhost_port_cannot_read_the_report(served, tmp_path, browser):
    _, port = served
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "evil.html").write_text(
        "<script>window.stolen=[];var ECOM={put:function(k,v){window.stolen.push(JSON.stringify(v));}};</script>"
        f'<script src="http://127.0.0.1:{port}/data/board-0.js"></script>'
        f'<script src="http://localhost:{port}/data/board-0.js"></script>'
    )
    other = make_server(evil, 0)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        with browser.page() as page:
            page.goto(f"http://127.0.0.1:{other.server_address[1]}/evil.html")
            page.wait_for_load_state("load")
            assert page.evaluate("window.stolen") == []
            page.goto(f"http://127.0.0.1:{port}/index.html")  # the report's own page still reads its data
            page.wait_for_selector("body[data-ready]", state="attached", timeout=20_000)
            assert "secret-model" in page.locator("#board").inner_text()
    finally:
        other.shutdown()
        other.server_close()


def test_a_rebuild_that_fails_keeps_serving_and_says_why(tmp_path, capsys):
    stop, calls = threading.Event(), []

    def rebuild():
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("cannot convert float infinity to integer")
        stop.set()

    folder = tmp_path / "subs"
    folder.mkdir()
    thread = threading.Thread(target=watch, args=(folder, rebuild, stop, 0.05), daemon=True)
    thread.start()
    threading.Event().wait(0.3)  # the watcher has taken its first look
    (folder / "a.json").write_text("{}")
    for _ in range(200):
        if calls:
            break
        threading.Event().wait(0.05)
    (folder / "b.json").write_text("{}")  # the watcher lived on and rebuilds again
    thread.join(timeout=10)
    assert len(calls) == 2
    err = capsys.readouterr().err
    assert "report not rebuilt, the last good one is still served: ValueError: cannot convert float infinity to integer" in err


def test_port_out_of_range_is_one_line(tmp_path):
    with pytest.raises(EcombenchError, match=r"--port 70000: use 1 to 65535, or 0 for any free one"):
        make_server(tmp_path, 70000)


@pytest.mark.parametrize(
    ("field", "value"), [("stderr", 1e200), ("stderr", 2.0), ("duration_s", float("inf")), ("lr", float("nan")), ("train_loss", float("inf"))]
)
def test_numbers_that_would_break_a_figure_are_refused_on_load(field, value):
    sub = make_submission("x", uniform(0.5)).model_dump(mode="json")
    if field == "stderr":
        next(iter(sub["tasks"].values()))["stderr"] = value
    elif field == "duration_s":
        sub["duration_s"] = value
    else:
        sub["lineage"] = {
            **dict.fromkeys(("base_model", "base_weights_sha256", "adapter_sha256", "method", "training_data_sha256", "config_fingerprint"), "x"),
            **dict.fromkeys(("rank", "steps", "effective_batch", "world_size"), 1),
            **dict.fromkeys(("alpha", "dropout", "epochs", "lr"), 1.0),
            "target_modules": "all",
            "mixture": {},
            "tracks": [],
            "held_in": [],
            "held_out": [],
            "contamination": {},
            "train_loss": 1.0,
            "heldout_loss": None,
            field: value,
        }
    with pytest.raises(ValidationError, match=field):
        submissions.Submission.model_validate(sub)


# 10. Names from submissions are ordinary keys in the pages' scripts.


def test_a_payload_with_a_proto_key_is_parsed_not_read_as_a_literal():
    from ecombench.leaderboard.sitedata import script, script_value

    text = script("x", {"__proto__": [1], "constructor": 2})
    assert text.startswith('ECOM.put("x",JSON.parse("') and '"__proto__":' not in text.split("JSON.parse(", 1)[0]
    assert json.loads(script_value(text)) == {"__proto__": [1], "constructor": 2}
    assert script_value(script("y", {"a": 1})) == '{"a":1}'


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_tracks_named_constructor_and_proto_break_no_page(tmp_path, browser):
    from tests.helpers.boards import MC, item_records
    from tests.helpers.browser import open_page, url

    subs = tmp_path / "subs"
    made = []
    for name, score in (("evil-a", 0.7), ("evil-b", 0.4)):
        sub = make_submission(name, uniform(score))
        tasks = dict(sub.tasks)
        first, second = list(tasks)[:2]
        tasks[first] = tasks[first].model_copy(update={"track": "constructor"})
        tasks[second] = tasks[second].model_copy(update={"track": "__proto__"})
        sub = sub.model_copy(update={"tasks": tasks, "tracks": {**sub.tracks, "constructor": score, "__proto__": score}})
        submissions.save(subs, sub, item_records([1.0, 0.0, 1.0], "1", task=MC))
        made.append(sub)
    out = tmp_path / "site"
    report(out, subs)
    a, b = made
    with browser.page() as page:
        for target in (f"sub.html#id={a.id}", f"compare.html#ids={a.id},{b.id}", "charts.html", "index.html"):
            open_page(page, url(out, target))
            assert page.errors == [], target
            assert page.evaluate(
                "Object.getOwnPropertyNames(Object.prototype).every(function (k) { return typeof ({})[k] !== 'object' || k === '__proto__'; })"
            )
            assert page.evaluate("({}).push === undefined && Object.keys({}).length === 0")


def test_a_browser_leaving_mid_reply_writes_nothing_to_stderr(tmp_path, capsys):
    server = make_server(tmp_path, 0)
    try:
        for exc in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
            try:
                raise exc
            except OSError:
                server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == "ecombench: warning: a request failed: RuntimeError: boom\n"
    finally:
        server.server_close()


# Issue 37, B10: the data check read the raw path, the file server the decoded one.


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", ["/data/board-0.js", "/data%2Fboard-0.js", "/%64ata/board-0.js", "/%2e/data/board-0.js", "/assets/../data/board-0.js", "//data/board-0.js"]
)
def test_a_data_script_named_in_another_spelling_is_refused_across_sites_too(served, path):
    _, port = served
    status, _, body = get(port, path, {"Sec-Fetch-Site": "cross-site"})
    assert status == 403 and b"secret-model" not in body
    status, _, body = get(port, path, {"Sec-Fetch-Site": "same-origin"})
    assert status == 200 and b"secret-model" in body  # the same file, for the report's own pages


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/data%2Fboard-0.json", "/%2e/data/board-0.json", "/assets/../data/board-0.json"])
def test_data_json_in_another_spelling_is_the_same_json(served, path):
    _, port = served
    status, headers, body = get(port, path)
    assert status == 200 and headers["Content-Type"].startswith("application/json") and "secret-model" in json.dumps(json.loads(body))
