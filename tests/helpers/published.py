"""A training set in the layout KDD Cup 2024 teams published: ``TYPE/SUBTASK.json``, each file one JSON
array (pretty-printed) of ShopBench records with ``input_field``, ``output_field``, ``task_type`` and
``metric`` but no ``task_name`` or ``track``; instruction templates shared with the benchmark's own
questions; a few empty answers. Built from our own vocabulary (no third-party data).

Also ``leak``: evaluation items of the bundled core suite copied with light edits (case, spacing, a
changed number), the contamination a gate must refuse.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

BRANDS = ["Tidewell", "Okami", "Sato Works", "Marisol", "Fennix", "Alder & Co", "Brightline", "Kestrel", "Norvik", "Pellam", "Quorra", "Vantor"]
PRODUCTS = ["steel travel mug", "canvas backpack", "silicone spatula", "electric kettle", "wool scarf", "desk lamp", "yoga mat", "phone case"]
COLORS = ["black", "grey", "green", "red", "blue", "white", "amber", "teal"]
PRAISE = ["sturdy", "quiet", "light", "warm", "bright", "soft", "compact", "elegant"]
# The benchmark's own instruction (core_rating_mc): 13-grams of it are template, not content.
RATING = (
    "What star rating (1 to 5) did the customer give in this review?\nReview: {review}\n"
    "1. one star\n2. two stars\n3. three stars\n4. four stars\n5. five stars\nAnswer: "
)


def _review(rng: random.Random, i: int) -> str:
    brand, product, color = rng.choice(BRANDS), rng.choice(PRODUCTS), rng.choice(COLORS)
    return f"Order {i}: the {color} {brand} {product} is {rng.choice(PRAISE)} and {rng.choice(PRAISE)}, shipped in {rng.randint(2, 9)} days."


def published_rows(n: int = 30, seed: int = 7) -> dict[str, list[dict]]:
    """``TYPE/SUBTASK.json`` -> its records; ``n`` records per file (the rating file has 2n)."""
    rng = random.Random(seed)
    files: dict[str, list[dict]] = {"MCQ/RP.json": [], "MCQ/SAP.json": [], "NER/AE.json": [], "GEN/TG.json": [], "RANK/QR.json": []}
    for i in range(2 * n):
        files["MCQ/RP.json"].append(
            {"input_field": RATING.format(review=_review(rng, i)), "output_field": rng.randint(1, 5), "task_type": "multiple-choice", "metric": "accuracy"}
        )
    for i in range(n):
        product = rng.choice(PRODUCTS)
        options = rng.sample(PRODUCTS, 4)
        if product not in options:
            options[rng.randrange(4)] = product
        body = "\n".join(f"{k}. {o}" for k, o in enumerate(options))
        files["MCQ/SAP.json"].append(
            {
                "input_field": f"Shopper {i} searched for a {rng.choice(COLORS)} {product}. Which item fits the search?\n{body}\nAnswer: ",
                "output_field": options.index(product),
                "task_type": "multiple-choice",
                "metric": "accuracy",
            }
        )
        brand, color = rng.choice(BRANDS), rng.choice(COLORS)
        files["NER/AE.json"].append(
            {
                "input_field": f"List the brand and the color named in this listing {i}: {brand} {color} {rng.choice(PRODUCTS)}.\nOutput: ",
                "output_field": [brand, color],
                "task_type": "named_entity_recognition",
                "metric": "micro_f1",
            }
        )
        brand, product, color = rng.choice(BRANDS), rng.choice(PRODUCTS), rng.choice(COLORS)
        files["GEN/TG.json"].append(
            {
                "input_field": f"Write a short title for listing {i}. Brand: {brand}; product: {product}; color: {color}.\nOutput: ",
                "output_field": f"{brand} {color} {product}",
                "task_type": "generation",
                "metric": "rougel",
            }
        )
        items = rng.sample(PRODUCTS, 4)
        files["RANK/QR.json"].append(
            {
                "input_field": f"Query {i}: {rng.choice(COLORS)} {items[0]}. Rank these products by relevance: "
                + "; ".join(f"{k + 1}. {p}" for k, p in enumerate(items))
                + "\nAnswer: ",
                "output_field": [1.0, 0.1, 0.01, 0.0],
                "task_type": "ranking",
                "metric": "ndcg",
            }
        )
    files["MCQ/SAP.json"][5]["output_field"] = ""  # the two empty answers of the published set
    files["NER/AE.json"][11]["output_field"] = []
    return files


def write_published(folder: Path, n: int = 30, seed: int = 7) -> Path:
    for name, rows in published_rows(n, seed).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def leak_rows(count: int = 30) -> list[dict]:
    """``count`` core evaluation items (title generation, category) with light edits: upper case, doubled
    spaces, one number changed. Each still shares its content 13-grams with the original."""
    from ecombench.paths import builtin_tasks_dir

    data = builtin_tasks_dir() / "core" / "data"
    items = []
    for name in ("core_title_generation.jsonl", "core_category_mc.jsonl"):
        items += [json.loads(line) for line in (data / name).read_text(encoding="utf-8").splitlines()[: count // 2]]
    out = []
    for k, item in enumerate(items[:count]):
        prompt = item["input_field"]
        if k % 3 == 0:
            prompt = prompt.upper()
        elif k % 3 == 1:
            prompt = prompt.replace(" ", "  ")
        else:
            prompt = prompt.replace("1", "7", 1) if "1" in prompt else prompt + " 7"
        out.append({"input_field": prompt, "output_field": item["output_field"], "task_type": item["task_type"], "metric": item["metric"]})
    return out


# The multiple-choice layout of EC-Guide's MCQ/PRP.json: three options numbered 0, 1 and 3, and a third of the
# answers 2, an option the prompt does not list (the published file has 333 such rows of 999).
RELATION = "Products {i}: how are the {a} and the {b} related?\n0. Users who buy one may also buy the other.\n1. Users who view one may also view the other.\n3. They are similar.\nAnswer: "


def write_as_published(folder: Path, n: int = 30, seed: int = 7) -> dict[str, Path]:
    """:func:`write_published` as such a folder really comes: two 0-byte files (``RANK/QPR.json``,
    ``RET/CR.json``) and ``MCQ/PRP.json``, 9 rows whose options are 0, 1 and 3, answers 0, 1, 2, 0, 1, 2, ...
    (so rows 2, 5 and 8 answer 2, not among them). Returns those three files by name."""
    write_published(folder, n, seed)
    rng = random.Random(seed)
    paths = {"QPR": folder / "RANK" / "QPR.json", "CR": folder / "RET" / "CR.json", "PRP": folder / "MCQ" / "PRP.json"}
    for name in ("QPR", "CR"):
        paths[name].parent.mkdir(parents=True, exist_ok=True)
        paths[name].write_bytes(b"")
    rows = [
        {
            "input_field": RELATION.format(i=i, a=rng.choice(PRODUCTS), b=rng.choice(PRODUCTS)),
            "output_field": i % 3,
            "task_type": "multiple-choice",
            "metric": "accuracy",
        }
        for i in range(9)
    ]
    paths["PRP"].write_text(json.dumps(rows, indent=4) + "\n", encoding="utf-8")
    return paths
