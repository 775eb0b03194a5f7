"""`ecombench run --backend openai`: lm-eval's API clients against a server started by the test.

The failure cases use a small stdlib HTTP server that answers, fails or stalls on demand; the
equality case uses `transformers serve` (the `serving` extra) on the tiny model.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import fields, replace
from pathlib import Path

import pytest

from ecombench.backends.openai import OpenAIOptions
from ecombench.backends.openai.served import api_root
from ecombench.errors import EcombenchError
from ecombench.run import RunOptions, run
from ecombench.run.options import KDD_SYSTEM_PROMPT
from tests.helpers.cli import run_ecombench
from tests.helpers.openai_server import FakeServer

OPENAI_FIELDS = {f.name for f in fields(OpenAIOptions)}

KEY = "sk-test-4f1c9a-never-recorded"


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def api_options(server_url: str, tmp_path: Path, **changes) -> RunOptions:
    options = RunOptions(
        model="fake-model",
        backend="openai",
        openai=OpenAIOptions(base_url=server_url, retries=0),
        tasks=["starter_category_mc"],
        limit=3,
        submissions_dir=tmp_path / "subs",
    )
    for key, value in changes.items():
        if key in OPENAI_FIELDS:  # the backend's own options
            options.openai = replace(options.openai, **{key: value})
        else:
            setattr(options, key, value)
    return options


@pytest.mark.parametrize(
    ("url", "api", "expected"),
    [
        ("http://localhost:8000/v1", None, ("http://localhost:8000/v1", "completions")),
        ("http://localhost:8000/v1/", "chat", ("http://localhost:8000/v1", "chat")),
        ("http://localhost:8000", None, ("http://localhost:8000/v1", "completions")),
        ("https://host/api/v1/completions", None, ("https://host/api/v1", "completions")),
        ("http://h:1/v1/chat/completions", None, ("http://h:1/v1", "chat")),
        ("http://h:1/v1/chat/completions", "chat", ("http://h:1/v1", "chat")),
    ],
)
def test_base_url_gives_the_api_root_and_endpoint(url, api, expected):
    assert api_root(url, api) == expected


@pytest.mark.parametrize(
    ("url", "api", "message"),
    [
        ("localhost:8000/v1", None, "use http(s)://HOST:PORT/v1"),
        ("http://user:sk-123@host/v1", None, "no credentials or query string in the URL"),
        ("http://host/v1?key=sk-123", None, "no credentials or query string in the URL"),
        ("http://host/v1/chat/completions", "completions", "is the chat endpoint, but --api is completions"),
        ("http://host/v1", "embeddings", "--api embeddings: use completions or chat"),
    ],
)
def test_bad_base_urls(url, api, message):
    with pytest.raises(EcombenchError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        api_root(url, api)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"base_url": None}, "--backend openai needs --base-url"),
        ({"device": "cpu"}, "--device: the server sets it"),
        ({"protocol": "loglikelihood"}, "--protocol loglikelihood needs prompt log-probabilities"),
        ({"concurrency": 0}, "--concurrency 0: must be at least 1"),
        ({"request_timeout": 0}, "--request-timeout 0: must be at least 1"),
        ({"backend": "hf", "model": "builtin:tiny"}, "--base-url and --api are settings of --backend openai"),
    ],
)
def test_bad_openai_options(tmp_path, changes, message):
    with pytest.raises(EcombenchError, match=message):
        run(api_options("http://127.0.0.1:9/v1", tmp_path, **changes))
    assert not (tmp_path / "subs").exists()


@pytest.mark.slow
def test_a_run_through_a_server_is_known_by_url_and_served_id_and_never_records_the_key(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    result = run(api_options(server.url, tmp_path, tasks=["starter_category_mc", "starter_unit_price_mc"], concurrency=2))
    model = result.submission.model
    assert (model.kind, model.spec, model.base_model, model.base_url, model.api) == ("api", "fake-model", "fake-model", server.url, "completions")
    assert model.weights_sha256 == "api:" + hashlib.sha256(f"{server.url}\0fake-model\0fake-model".encode()).hexdigest()
    assert "not hashed" in model.note
    assert result.submission.generation.backend == "openai"
    assert len(server.questions) == 6 and {q["model"] for q in server.questions} == {"fake-model"}
    assert all("stop" not in q and q["temperature"] == 0 for q in server.questions)  # `"stop": []` broke transformers serve
    assert {q["max_tokens"] for q in server.questions} == {1}  # the tasks' max_gen_toks
    assert set(server.auth) == {f"Bearer {KEY}"}  # lm-eval sent the key from the environment ...
    written = [p for p in (tmp_path / "subs").iterdir()] + list(Path(os.environ["ECOMBENCH_CACHE"], "answers").rglob("*"))
    assert all(KEY not in p.read_text(errors="replace") for p in written if p.is_file())  # ... and it is nowhere on disk
    assert result.report.tasks["starter_category_mc"].n == 3


@pytest.mark.slow
def test_chat_endpoint_sends_the_system_prompt_and_each_prompt_as_two_messages(server, tmp_path):
    result = run(api_options(server.url + "/chat/completions", tmp_path, system_prompt="kddcup", limit=2))
    assert result.submission.model.api == "chat"
    messages = [q["messages"] for q in server.questions]
    assert len(messages) == 2 and all([t["role"] for t in m] == ["system", "user"] for m in messages)
    assert all(m[0]["content"] == KDD_SYSTEM_PROMPT and not m[1]["content"].startswith(KDD_SYSTEM_PROMPT) for m in messages)


@pytest.mark.slow
def test_a_slow_server_is_one_error_naming_the_timeout(server, tmp_path):
    server.delay = 3.0
    with pytest.raises(EcombenchError, match=r"/v1/completions: no answer within 1 s \(--request-timeout\), 1 tries; 0 answers of this run are kept"):
        run(api_options(server.url, tmp_path, request_timeout=1, limit=1))
    assert not (tmp_path / "subs").exists()


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return run_ecombench(*args, env={"HF_HUB_OFFLINE": "1", "COLUMNS": "200", "OPENAI_API_KEY": KEY}, cwd=tmp_path)


@pytest.mark.slow
def test_a_server_failing_mid_run_loses_no_answers(server, tmp_path):
    args = [
        "run",
        "--backend",
        "openai",
        "--base-url",
        server.url,
        "--model",
        "fake-model",
        "--tasks",
        "starter_category_mc",
        "--limit",
        "5",
        "--retries",
        "1",
        "--submissions-dir",
        str(tmp_path / "subs"),
    ]
    server.fail_after = 2
    done = _cli(args, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("ecombench: error:")]
    assert errors == [
        (
            f"ecombench: error: {server.url}/completions: HTTP 500 Internal Server Error, 2 tries; "
            "2 answers of this run are kept in the answer cache: run the same command again to go on"
        )
    ]
    assert "Traceback" not in done.stderr and KEY not in done.stderr
    assert not (tmp_path / "subs").exists()
    answered = [q["prompt"] for q in server.questions[:2]]

    server.fail_after, server.questions = None, []
    again = _cli(args, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    asked = [q["prompt"] for q in server.questions]
    assert len(asked) == 3 and not set(asked) & set(answered)  # only the questions without a kept answer


@pytest.mark.slow
def test_the_key_stays_out_of_debug_logs(server, tmp_path):
    server.fail_after = 0
    args = [
        "--debug",
        "run",
        "--backend",
        "openai",
        "--base-url",
        server.url,
        "--model",
        "fake-model",
        "--tasks",
        "starter_category_mc",
        "--limit",
        "2",
        "--retries",
        "0",
        "--concurrency",
        "2",
        "--no-cache",
    ]
    done = _cli(args, tmp_path)
    assert done.returncode != 0
    assert "HTTP 500 Internal Server Error, 1 tries; no answers were kept (--no-cache)" in done.stderr
    assert KEY not in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_tiny(tiny_model):
    """`transformers serve` on the tiny model's folder, on a free localhost port."""
    if shutil.which("transformers") is None and not (Path(sys.executable).parent / "transformers").exists():
        pytest.skip("transformers serve is not installed (pip install 'ecombench[serving]')")
    port = _free_port()
    cli = str(Path(sys.executable).parent / "transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [cli, "serve", str(tiny_model), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve did not start: {proc.stderr.read().decode()[-2000:] if proc.poll() is not None else 'timeout'}")
            time.sleep(0.5)
        yield f"{url}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_transformers_serve_gives_the_hf_backends_answers(served_tiny, tiny_model, tmp_path):
    tasks = ["starter_category_mc", "starter_unit_price_mc", "starter_title_generation", "starter_attribute_ner"]
    api = run(
        RunOptions(model=str(tiny_model), backend="openai", openai=OpenAIOptions(base_url=served_tiny), tasks=tasks, limit=3, submissions_dir=tmp_path / "api")
    )
    hf = run(RunOptions(model=str(tiny_model), tasks=tasks, limit=3, submissions_dir=tmp_path / "hf"))
    # The identity is the id the server reports for the model that answered (transformers serve 5.23
    # said `<path>@main`, 5.25 says the plain path): ask it directly, as the pre-flight does.
    ask = json.dumps({"model": str(tiny_model), "prompt": "Hello", "max_tokens": 1, "temperature": 0}).encode()
    with urllib.request.urlopen(
        urllib.request.Request(f"{served_tiny}/completions", data=ask, headers={"Content-Type": "application/json"}), timeout=60
    ) as reply:
        reported = json.loads(reply.read())["model"]
    assert reported.startswith(str(tiny_model))
    assert api.submission.model.kind == "api" and api.submission.model.base_model == reported
    from ecombench import submissions

    answers = {(i.task, i.doc_id): i.prediction for i in submissions.load_items(tmp_path / "api", api.submission)}
    expected = {(i.task, i.doc_id): i.prediction for i in submissions.load_items(tmp_path / "hf", hf.submission)}
    assert len(answers) == 12 and answers == expected  # greedy, same tokens, same stop rule: the same text
    assert api.submission.all_around == hf.submission.all_around


@pytest.mark.slow
def test_a_served_judge_grades_judged_tasks_through_the_hardened_client(served_tiny, tiny_model, tmp_path, monkeypatch):
    """`--judge-backend openai --judge-base-url URL`: the judge behind `transformers serve` grades every answer; its
    identity is the served model's, its tokens are not counted (the server tokenizes), and a rerun asks it nothing."""
    import ecombench.judge
    from ecombench.importers import IMPORTERS
    from ecombench.importers.writer import write_suite
    from ecombench.judge.template import make_template
    from ecombench.paths import user_tasks_dir
    from ecombench.run import JudgeOptions
    from tests.helpers.sources import chinese_ecomqa_rows as _rows
    from tests.helpers.sources import write_jsonl

    monkeypatch.setenv("ECOMBENCH_CACHE", str(tmp_path / "cache"))
    # the bundled template is longer than builtin:tiny's 2,048 positions in its byte-level tokens (the server refuses
    # such a prompt); a short template of the same kind keeps the test about the wiring
    short = make_template("simpleqa_zh_v1", "simpleqa", "Q: {question}\nGold: {target}\nAnswer: {predicted_answer}\nGrade (A, B or C):")
    monkeypatch.setattr(ecombench.judge, "load_template", lambda name: short)
    write_suite(IMPORTERS["chinese-ecomqa"](write_jsonl(tmp_path / "ChineseEcomQA.jsonl", _rows())), "jqserved", user_tasks_dir(), force=True)
    judge = JudgeOptions(model=str(tiny_model), backend="openai", base_url=served_tiny)
    options = RunOptions(model="builtin:tiny", tasks=["jqserved"], submissions_dir=tmp_path / "subs", judge=judge)
    first = run(options).submission
    assert (first.judge.backend, first.judge.model.kind, first.judge.judged, first.judge.calls) == ("openai", "api", 4, 4)
    assert first.judge.model.base_url == served_tiny and first.judge.prompt_tokens is None
    second = run(options).submission
    assert (second.judge.calls, second.judge.cached) == (0, 4) and second.judge.identity == first.judge.identity
