"""What users bring, for the speed benchmarks: a plain model folder that answers at full length, and
prompts of real length.

- ``plain_model``: a Llama-architecture folder with random weights and no warm-up (a byte-level BPE
  tokenizer trained on the bundled task text). Like most base models it does not stop early: every
  generation task writes its whole ``max_gen_toks``.
- ``long_prompt_suite``: ShopBench-format questions of 500 to 1,500 tokens built from the bundled
  catalog (ecombench's own synthetic products, sessions and reviews): session-based ranking and
  next-purchase questions, multilingual product comparisons, review aspect extraction. Written as
  an lm-eval task folder (``bench_long`` group) next to copies of the bundled tasks.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

LONG_TASKS = {
    # name: (task_type, metric, track, max_gen_toks)
    "bench_long_session_ranking": ("ranking", "ndcg", "user_behavior_alignment", 100),
    "bench_long_session_mc": ("multiple-choice", "accuracy", "user_behavior_alignment", 1),
    "bench_long_multilingual_compare": ("generation", "rougel", "multilingual", 100),
    "bench_long_review_aspects": ("named_entity_recognition", "micro f1", "concept_understanding", 100),
}


def plain_model(folder: Path, *, hidden: int = 256, layers: int = 4, vocab: int = 8192, seed: int = 0) -> Path:
    """A random-weight Llama folder (float32) with a BPE tokenizer of ``vocab`` entries; reused if present."""
    if (folder / "config.json").exists():
        return folder
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from ecombench.tiny import train_tokenizer, training_text

    fast = train_tokenizer(training_text(), vocab)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        num_key_value_heads=max(1, hidden // 64),
        max_position_embeddings=4096,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    return folder


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _catalog(name: str) -> list[dict]:
    from ecombench.paths import builtin_tasks_dir

    return _rows(builtin_tasks_dir() / "core" / "catalog" / f"{name}.jsonl")


def _describe(p: dict, lang: str | None = None) -> str:
    title = (p.get("titles") or {}).get(lang, p["title"]) if lang else p["title"]
    attrs = "; ".join(f"{k}: {v}" for k, v in sorted(p["attributes"].items()))
    return f"{title} (brand {p['brand']}, {' > '.join(p['path'])}, ${p['price']:.2f}; {attrs}). {p['description']}"


def long_rows(n_per_task: int, seed: int = 0) -> dict[str, list[dict]]:
    """ShopBench-format rows of 500 to 1,500 tokens per task of ``LONG_TASKS``."""
    rng = random.Random(seed)
    products = _catalog("products")
    reviews = _catalog("reviews")
    by_product: dict[str, list[dict]] = {}
    for r in reviews:
        by_product.setdefault(r["product"], []).append(r)
    rows: dict[str, list[dict]] = {name: [] for name in LONG_TASKS}
    for _ in range(n_per_task):
        history = rng.sample(products, rng.randint(4, 12))
        lines = "\n".join(f"{i + 1}. {_describe(p)}" for i, p in enumerate(history))
        candidates = rng.sample(products, 5)
        cand = "\n".join(f"{i + 1}. {_describe(p)}" for i, p in enumerate(candidates))
        rows["bench_long_session_ranking"].append(
            {
                "input_field": f"A user browsed these products in this order during one session:\n{lines}\n"
                f"Rank the following 5 candidate products by how likely the user is to buy each next, most likely first.\n{cand}\n"
                "Output the 5 numbers separated by commas.\nAnswer: ",
                "output_field": [rng.choice([1, 0.1, 0.01, 0]) for _ in range(5)],
            }
        )
        options = "\n".join(f"{i}. {_describe(p)}" for i, p in enumerate(candidates[:4]))
        rows["bench_long_session_mc"].append(
            {
                "input_field": f"A user browsed these products in this order during one session:\n{lines}\n"
                f"Which product will the user buy next?\n{options}\nAnswer: ",
                "output_field": rng.randint(0, 3),
            }
        )
        lang = rng.choice(["de", "es", "ja"])
        pair = rng.sample(products, rng.randint(6, 16))
        listing = "\n".join(f"- {_describe(p, lang)}" for p in pair)
        rows["bench_long_multilingual_compare"].append(
            {
                "input_field": f"Here are several product listings from a marketplace ({lang}):\n{listing}\n"
                "Write one sentence in English that says which listing is the best value and why.\nAnswer: ",
                "output_field": f"The {pair[0]['title']} is the best value for its price.",
            }
        )
        product = rng.choice([p for p in products if by_product.get(p["id"])])
        texts = [r["text"] for r in rng.sample(reviews, rng.randint(18, 50))] + [r["text"] for r in by_product[product["id"]]]
        rng.shuffle(texts)
        aspects = sorted({a for r in by_product[product["id"]] for a, s in r["aspects"].items() if s == "positive"}) or ["quality"]
        rows["bench_long_review_aspects"].append(
            {
                "input_field": f"Product: {_describe(product)}\nCustomer reviews:\n"
                + "\n".join(f"- {t}" for t in texts)
                + "\nList the aspects customers praise, separated by commas.\nAnswer: ",
                "output_field": aspects,
            }
        )
    for name, (task_type, metric, track, _) in LONG_TASKS.items():
        for row in rows[name]:
            row.update(task_name=name, task_type=task_type, metric=metric, is_multiple_choice=task_type == "multiple-choice", track=track)
    return rows


def long_prompt_suite(folder: Path, n_per_task: int = 24, seed: int = 0) -> list[Path]:
    """``LONG_TASKS`` as lm-eval task YAMLs (group ``bench_long``) and data in ``folder``; returns the data files."""
    import yaml

    from ecombench.paths import builtin_tasks_dir

    folder.mkdir(parents=True, exist_ok=True)
    base = builtin_tasks_dir() / "core" / "_base.yaml"
    files = []
    for name, rows in long_rows(n_per_task, seed).items():
        task_type, metric, track, max_gen = LONG_TASKS[name]
        data = folder / f"{name}.jsonl"
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        cfg = {
            "include": str(base),
            "task": name,
            # the core base's loader also reads a few-shot pool beside the YAMLs: the core suite's (no rows of these tasks)
            "dataset_kwargs": {"data_files": data.name, "training_files": str(base.parent / "train" / "records.jsonl")},
            "generation_kwargs": {"until": [], "max_gen_toks": max_gen, "do_sample": False},
            "metadata": {
                "version": 1.0,
                "track": track,
                "task_type": task_type,
                "metric": metric,
                "description": f"benchmark prompts of 500 to 1,500 tokens ({task_type})",
            },
        }
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        files.append(data)
    (folder / "_bench_long.yaml").write_text(yaml.safe_dump({"group": "bench_long", "task": list(LONG_TASKS)}), encoding="utf-8")
    return files


# The public ShopBench development set (the KDD Cup 2024 starter kit's ``data/development.json``):
# 96 questions in 18 tasks. Per task: track, task type, each question's metric, and its shortest and
# longest prompt in characters; then the bundled core task the questions here are drawn from. These
# are counts about that file, not its rows: the rows below come from ecombench's own core tasks and
# catalog, each prompt led by catalog listings until it has the length of its counterpart.
_C, _K, _U, _M = (
    f"amazon-kdd-cup-24-{t}" for t in ("understanding-shopping-concepts", "shopping-knowledge-reasoning", "user-behavior-alignment", "multi-lingual-abilities")
)
SHOPBENCH_DEV_MIX: list[tuple[str, str, str, list[str], int, int, list[str]]] = [
    ("task1", _C, "generation", ["sent-transformer"] * 4, 47, 86, ["core_category_explain"]),
    ("task2", _C, "multiple-choice", ["accuracy"] * 4, 139, 170, ["core_attribute_meaning_mc"]),
    ("task3", _C, "retrieval", ["hit rate@3"] * 4, 745, 837, ["core_review_aspect_retrieval"]),
    ("task4", _C, "named_entity_recognition", ["micro f1"] * 8, 406, 423, ["core_product_type_ner"]),
    ("task5", _C, "multiple-choice", ["accuracy"] * 8, 220, 346, ["core_category_mc"]),
    ("task6", _C, "generation", ["rougel"] * 8, 555, 1246, ["core_title_generation"]),
    ("task7", _C, "retrieval", ["hit rate@3"] * 4, 500, 1223, ["core_complement_retrieval"]),
    ("task8", _K, "multiple-choice", ["accuracy"] * 8, 211, 347, ["core_complement_mc"]),
    ("task9", _K, "multiple-choice", ["accuracy"] * 4, 133, 256, ["core_unit_price_mc"]),
    ("task10", _K, "multiple-choice", ["accuracy"] * 4, 155, 187, ["core_compatibility_mc"]),
    ("task11", _U, "multiple-choice", ["accuracy"] * 8, 165, 196, ["core_query_relevance_mc"]),
    ("task12", _U, "ranking", ["ndcg"] * 4, 822, 1220, ["core_query_ranking"]),
    ("task13", _U, "retrieval", ["hit rate@3"] * 3, 2125, 3750, ["core_complement_retrieval"]),
    ("task14", _U, "retrieval", ["hit rate@3"] * 4, 1323, 1561, ["core_review_aspect_retrieval"]),
    ("task15", _U, "multiple-choice", ["accuracy"] * 8, 362, 652, ["core_session_purchase_mc"]),
    ("task16", _M, "multiple-choice", ["accuracy"] * 4, 1381, 2212, ["core_multilingual_category_mc"]),
    ("task17", _M, "generation", ["bleu"] * 4 + ["jp-bleu"], 170, 349, ["core_title_translation_de", "core_title_translation_ja"]),
    ("task18", _M, "multiple-choice", ["accuracy"] * 4, 748, 1106, ["core_cheapest_mc"]),
]


def shopbench_dev_rows(seed: int = 0) -> list[dict]:
    """96 ShopBench-format rows with the development set's task mix and prompt lengths (see ``SHOPBENCH_DEV_MIX``)."""
    from ecombench.paths import builtin_tasks_dir

    rng = random.Random(seed)
    listings = [f"- {p['title']} ({p['brand']}, {' > '.join(p['path'])}, ${p['price']:.2f})\n" for p in _catalog("products")]
    data = builtin_tasks_dir() / "core" / "data"
    items_of = {s: _rows(data / f"{s}.jsonl") for *_, sources in SHOPBENCH_DEV_MIX for s in sources}
    used: dict[str, int] = {}
    rows = []
    for task, track, task_type, metrics, shortest, longest, sources in SHOPBENCH_DEV_MIX:
        n = len(metrics)
        for k, metric in enumerate(metrics):
            source = next(s for s in sources if any(item["metric"] == metric for item in items_of[s]))
            items = items_of[source]
            item = items[used.get(source, 0) % len(items)]
            used[source] = used.get(source, 0) + 1
            target = shortest + (longest - shortest) * k // max(1, n - 1)
            head, context = "Listings on the same page:\n", ""
            while len(head) + len(context) + len(item["input_field"]) + 1 < target:
                room = target - len(head) - len(context) - len(item["input_field"]) - 1
                fits = [x for x in rng.sample(listings, 20) if len(x) <= room]
                if not fits:
                    break
                context += fits[0]
            prompt = f"{head}{context}\n{item['input_field']}" if context else item["input_field"]
            rows.append(
                {
                    "input_field": prompt,
                    "output_field": item["output_field"],
                    "task_name": task,
                    "task_type": task_type,
                    "metric": metric,
                    "is_multiple_choice": task_type == "multiple-choice",
                    "track": track,
                }
            )
    return rows
