"""`--backend openai` against hostile or broken servers (issue 26, items 1-5; issue 24, item 5).

Each server is a small stdlib HTTP server whose answer to a question is set by the test: a redirect to
another origin, an endless or trickling body, a malformed reply, another model's id, a 10 MB answer.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import fields, replace
from pathlib import Path

import pytest

from ecombench import submissions
from ecombench.backends.openai import OpenAIOptions
from ecombench.backends.openai import transport as apiclient
from ecombench.backends.openai.served import resolve_served_model
from ecombench.errors import EcombenchError
from ecombench.run import RunOptions, run
from ecombench.run.options import KDD_SYSTEM_PROMPT
from tests.helpers.cli import run_ecombench
from tests.helpers.openai_server import FakeServer

OPENAI_FIELDS = {f.name for f in fields(OpenAIOptions)}

KEY = "sk-hostile-test-7d2e-never-sent-elsewhere"


@pytest.fixture
def server():
    with FakeServer("served-model") as made:
        yield made


@pytest.fixture
def other():
    with FakeServer("served-model") as made:
        yield made


def options(url: str, tmp_path: Path, **changes) -> RunOptions:
    made = RunOptions(
        model="served-model",
        backend="openai",
        openai=OpenAIOptions(base_url=url, retries=0),
        tasks=["starter_category_mc"],
        limit=2,
        submissions_dir=tmp_path / "subs",
    )
    for key, value in changes.items():
        if key in OPENAI_FIELDS:  # the backend's own options
            made.openai = replace(made.openai, **{key: value})
        else:
            setattr(made, key, value)
    return made


def _redirect_to(target: str, status: int = 302, questions_only: bool = False):
    def behave(handler, body, probe):
        if questions_only and probe:
            return False
        handler.reply(status, {}, {"Location": target + handler.path.removeprefix("/v1")})
        return True

    return behave


# 1. The API key never goes to another origin.


def test_the_preflight_never_follows_a_redirect_to_another_origin(server, other, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.behave = _redirect_to(other.url)
    with pytest.raises(EcombenchError, match=r"redirects to another origin \(http://127\.0\.0\.1:\d+\); ecombench never sends the API key"):
        resolve_served_model(server.url, "served-model", None, 5)
    assert other.auth == [] and server.auth == [f"Bearer {KEY}"]


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [1, 2])
def test_questions_never_follow_a_redirect_to_another_origin(server, other, tmp_path, monkeypatch, concurrency):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.behave = _redirect_to(other.url, 307, questions_only=True)
    with pytest.raises(EcombenchError, match=r"/v1/completions: the server redirects to another origin .*; 0 answers of this run are kept"):
        run(options(server.url, tmp_path, concurrency=concurrency, retries=2))
    assert other.auth == [] and KEY not in str(other.questions)
    assert len(server.questions) <= concurrency  # refused at once: no retry goes back to be redirected again


def test_a_same_origin_307_is_followed(server):
    def behave(handler, body, probe):
        if handler.path == "/old/v1/completions":
            handler.reply(307, {}, {"Location": "/v1/completions"})
            return True
        return False

    server.behave = behave
    served = resolve_served_model(server.url.replace("/v1", "/old/v1"), "served-model", None, 5)
    assert served.model_id == "served-model"


# 2. and 3. A body that never ends, and a server that trickles bytes.


def _endless(handler, body, probe):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    try:
        handler.wfile.write(b'{"choices": [{"index": 0, "text": "')
        while True:
            handler.wfile.write(b"x" * (1 << 16))
    except (BrokenPipeError, ConnectionResetError):
        pass
    return True


def _trickle(handler, body, probe):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    try:
        for _ in range(600):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return True


def test_an_endless_preflight_reply_stops_at_the_cap(server, monkeypatch):
    monkeypatch.setattr(apiclient, "MAX_REPLY_BYTES", 1 << 20)
    server.behave = _endless
    started = time.monotonic()
    with pytest.raises(EcombenchError, match=r"the reply is larger than 1 MiB; ecombench stopped reading there"):
        resolve_served_model(server.url, "served-model", None, 30)
    assert time.monotonic() - started < 10


def test_a_trickling_preflight_reply_is_cut_at_the_timeout(server):
    server.behave = _trickle
    started = time.monotonic()
    with pytest.raises(EcombenchError, match=r"no answer within 1 s \(--request-timeout\)"):
        resolve_served_model(server.url, "served-model", None, 1)
    assert time.monotonic() - started < 3


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [1, 2])
@pytest.mark.parametrize(("behave", "message"), [(_endless, r"the reply is larger than 1 MiB"), (_trickle, r"no answer within 1 s \(--request-timeout\)")])
def test_endless_and_trickling_answers_are_one_error(server, tmp_path, monkeypatch, concurrency, behave, message):
    monkeypatch.setattr(apiclient, "MAX_REPLY_BYTES", 1 << 20)
    server.behave = lambda handler, body, probe: not probe and behave(handler, body, probe)
    started = time.monotonic()
    with pytest.raises(EcombenchError, match=message):
        run(options(server.url, tmp_path, concurrency=concurrency, request_timeout=1))
    assert time.monotonic() - started < 15


# 4. Malformed replies are errors, counted, and never cached.

MALFORMED = [
    ({"model": "m"}, "'choices' is not a list of 1"),
    ({"choices": [{"text": "1"}]}, "a choice without a valid 'index'"),
    ({"choices": [{"index": 3, "text": "1"}]}, "a choice without a valid 'index'"),
    ({"choices": [{"index": True, "text": "1"}]}, "a choice without a valid 'index'"),
    ([{"choices": []}], "a JSON list, not an object"),
    ({"choices": [{"index": 0, "text": None}]}, "'text' is missing or null, not a string"),
    ({"choices": [{"index": 0, "text": [-1.0, -2.0]}]}, "'text' is list, not a string"),
    ({"choices": [{"index": 0, "finish_reason": "stop"}]}, "'text' is missing or null, not a string"),
]


@pytest.mark.parametrize(("reply", "why"), MALFORMED)
def test_each_malformed_reply_is_named(reply, why):
    with pytest.raises(apiclient.ApiError, match=f"malformed reply \\({why.replace('(', '.').replace(')', '.')}\\)") as caught:
        apiclient.answers("u", reply, 1, "completions")
    assert caught.value.malformed


def test_a_chat_choice_without_message_or_with_null_content_is_malformed():
    for choice in ({"index": 0}, {"index": 0, "message": {"role": "assistant", "content": None}}):
        with pytest.raises(apiclient.ApiError, match=r"'message.content' is missing or null"):
            apiclient.answers("u", {"choices": [choice]}, 1, "chat")


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ["completions", "chat"])
def test_malformed_answers_fail_the_run_and_are_never_cached(server, tmp_path, endpoint):
    broken = {"on": True}

    def behave(handler, body, probe):
        if probe or not broken["on"]:
            return False
        handler.reply(200, {"model": "served-model", "choices": [{"index": 0, "text": None, "message": {"content": None}}]})
        return True

    server.behave = behave
    url = server.url + ("/chat/completions" if endpoint == "chat" else "")
    with pytest.raises(EcombenchError, match=r"malformed reply .*, 2 tries \(2 malformed replies, none kept\); 0 answers of this run are kept"):
        run(options(url, tmp_path, retries=1, limit=1))
    assert not (tmp_path / "subs").exists()
    broken["on"], server.questions = False, []
    result = run(options(url, tmp_path, limit=1))
    assert len(server.questions) == 1  # asked again: the malformed reply was not kept
    items = submissions.load_items(tmp_path / "subs", result.submission)
    assert [i.prediction for i in items] == ["1"]


@pytest.mark.slow
def test_malformed_reply_is_one_line_on_the_command_line(server, tmp_path):
    server.behave = lambda handler, body, probe: not probe and (handler.reply(200, [1, 2]) or True)
    args = ["run", "--backend", "openai", "--base-url", server.url, "--model", "served-model", "--tasks", "starter_category_mc", "--limit", "1"]
    done = run_ecombench(*args, "--retries", "0", "--submissions-dir", str(tmp_path / "subs"), env={"HF_HUB_OFFLINE": "1", "COLUMNS": "200"}, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("ecombench: error:")] == [
        f"ecombench: error: {server.url}/completions: malformed reply (a JSON list, not an object), 1 tries (1 malformed reply, none kept); "
        "0 answers of this run are kept in the answer cache: run the same command again to go on"
    ]


# 5. The cache and the identity know both the name asked for and what the server reports; answers are cut.


@pytest.mark.slow
def test_two_names_answered_by_one_model_are_two_models_and_two_caches(server, tmp_path):
    server.model_id = "model-1"  # whatever is asked for, model-1 answers
    first = run(options(server.url, tmp_path, model="model-1"))
    server.questions = []
    second = run(options(server.url, tmp_path, model="model-2"))
    assert len(server.questions) == 2  # model-2's questions were asked, not read from model-1's answers
    assert first.submission.model.weights_sha256 != second.submission.model.weights_sha256
    assert second.submission.model.base_model == "model-1"  # and the record says what the server reported


@pytest.mark.slow
def test_other_weights_behind_the_same_url_and_name_are_asked_again(server, tmp_path, capsys):
    server.root = "/models/v1-weights"
    run(options(server.url, tmp_path))
    server.questions = []
    run(options(server.url, tmp_path))
    assert server.questions == []  # same weights: every answer from the cache
    server.root = "/models/v2-weights"
    run(options(server.url, tmp_path))
    assert len(server.questions) == 2
    assert "--no-cache" not in capsys.readouterr().err


@pytest.mark.slow
def test_a_server_that_cannot_say_which_weights_gets_the_no_cache_note(server, tmp_path, capsys):
    run(options(server.url, tmp_path))
    err = capsys.readouterr().err
    assert "does not say which weights serve 'served-model'" in err and "pass --no-cache if the weights behind them changed" in err


@pytest.mark.slow
def test_a_10_mb_answer_is_cut_to_the_tasks_token_limit(server, tmp_path, capsys):
    def behave(handler, body, probe):
        if probe:
            return False
        handler.reply(200, {"model": "served-model", "choices": [{"index": 0, "text": "1" + "x" * 10_000_000}]})
        return True

    server.behave = behave
    result = run(options(server.url, tmp_path, limit=1))
    (item,) = submissions.load_items(tmp_path / "subs", result.submission)
    limit = result.submission.generation.max_gen_toks["starter_category_mc"]
    assert item.prediction == ("1" + "x" * 10_000_000)[: limit * apiclient.MAX_CHARS_PER_TOKEN]
    assert "1 answers from" in capsys.readouterr().err


# Issue 24, item 5: the chat API's system turn, few-shot turns and the kept-answers count.


@pytest.mark.slow
def test_chat_api_sends_the_system_prompt_as_a_system_message_and_says_the_template_was_applied(server, tmp_path):
    result = run(options(server.url + "/chat/completions", tmp_path, system_prompt="kddcup"))
    messages = [q["messages"] for q in server.questions]
    assert len(messages) == 2
    assert all(m[0] == {"role": "system", "content": KDD_SYSTEM_PROMPT} and m[-1]["role"] == "user" for m in messages)
    assert all(KDD_SYSTEM_PROMPT not in m[-1]["content"] for m in messages)
    assert result.submission.generation.apply_chat_template is True


@pytest.mark.slow
def test_fewshot_as_multiturn_goes_over_the_chat_api(server, tmp_path):
    result = run(options(server.url + "/chat/completions", tmp_path, tasks=["core_compatibility_mc"], num_fewshot=1, fewshot_as_multiturn=True, limit=1))
    (messages,) = [q["messages"] for q in server.questions]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert result.submission.generation.fewshot_as_multiturn is True


def test_fewshot_as_multiturn_over_completions_names_the_chat_api(server, tmp_path):
    with pytest.raises(EcombenchError, match=r"--fewshot-as-multiturn sends examples as chat turns: use --api chat"):
        run(options(server.url, tmp_path, tasks=["core_compatibility_mc"], num_fewshot=1, fewshot_as_multiturn=True))


@pytest.mark.slow
def test_kept_answers_count_this_runs_answers_not_the_whole_cache(server, tmp_path):
    run(options(server.url, tmp_path, tasks=["starter_unit_price_mc"], limit=3))  # 3 answers of another task in this cache

    def behave(handler, body, probe):
        if probe or len(server.questions) <= 1:
            return False
        handler.reply(500, {"error": {"message": "down"}})
        return True

    server.questions = []
    server.behave = behave
    with pytest.raises(EcombenchError, match=r"HTTP 500 Internal Server Error, 1 tries; 1 answers of this run are kept"):
        run(options(server.url, tmp_path, limit=3))


# Issue 37: the default name is what --model asked for; what is kept of a server's text is bounded.


def test_a_served_run_is_named_after_model_and_keeps_a_bounded_server_id(server):
    from ecombench.backends.openai import default_name

    server.model_id = "model-1"  # whatever is asked for, model-1 answers
    assert default_name(resolve_served_model(server.url, "org/model-2", None, 10).name) == "model-2"
    server.model_id = "m" * 300_000  # a 300 KB id
    served = resolve_served_model(server.url, "model-2", None, 10)
    digest = hashlib.sha256(server.model_id.encode()).hexdigest()[:16]
    assert served.model_id == "m" * 200 + f"... (300000 characters, sha256 {digest})"
    other = server.model_id[:-1] + "n"  # the same start: still another model
    server.model_id = other
    assert resolve_served_model(server.url, "model-2", None, 10).identity != served.identity


@pytest.mark.slow
def test_a_run_against_a_server_with_a_300_kb_id_keeps_a_small_record(server, tmp_path):
    server.model_id = "m" * 300_000
    result = run(options(server.url, tmp_path, model="model-2"))
    record = tmp_path / "subs" / f"{result.submission.id}.json"
    assert result.submission.name == "model-2" and record.stat().st_size < 20_000
