"""Builds the bundled starter tasks (``tasks/starter``) from small curated vocabularies.

Every answer is correct by construction: a product is a record of typed attributes, and each
question is derived from the record by a rule. Seeded and deterministic; the output files are
committed. Run ``python -m ecombench.data.starter tasks/starter/data`` to rebuild them.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from ecombench.records import make_record

# category -> (item nouns, materials, English description of the category)
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "kitchen utensils": (
        ("garlic press", "spatula", "whisk", "ladle"),
        ("stainless steel", "silicone", "bamboo"),
        "tools used to prepare and serve food in the kitchen",
    ),
    "drinkware": (("travel mug", "water bottle", "tumbler"), ("stainless steel", "glass", "ceramic"), "cups, mugs and bottles for drinking"),
    "backpacks": (("hiking backpack", "laptop backpack", "daypack"), ("nylon", "polyester", "canvas"), "bags carried on the back for travel, school or hiking"),
    "t-shirts": (("crew neck t-shirt", "v-neck t-shirt", "polo shirt"), ("cotton", "linen", "polyester"), "short-sleeved casual tops worn on the upper body"),
    "phone accessories": (
        ("phone case", "screen protector", "charging cable"),
        ("silicone", "glass", "nylon"),
        "items that protect, charge or extend a mobile phone",
    ),
    "bedding": (("duvet cover", "pillowcase", "fitted sheet"), ("cotton", "linen", "microfiber"), "covers and sheets used on a bed"),
    "footwear": (("running shoes", "sandals", "hiking boots"), ("leather", "mesh", "rubber"), "shoes, boots and sandals worn on the feet"),
    "toys": (("building blocks", "puzzle", "toy car"), ("plastic", "wood", "cardboard"), "things children play with"),
}
COLORS = {
    "red": ("rot", "赤"),
    "blue": ("blau", "青"),
    "black": ("schwarz", "黒"),
    "white": ("weiß", "白"),
    "green": ("grün", "緑"),
    "grey": ("grau", "灰色"),
}
MATERIALS_DE = {
    "stainless steel": "Edelstahl",
    "silicone": "Silikon",
    "bamboo": "Bambus",
    "glass": "Glas",
    "ceramic": "Keramik",
    "nylon": "Nylon",
    "polyester": "Polyester",
    "canvas": "Segeltuch",
    "cotton": "Baumwolle",
    "linen": "Leinen",
    "microfiber": "Mikrofaser",
    "leather": "Leder",
    "mesh": "Netzstoff",
    "rubber": "Gummi",
    "plastic": "Kunststoff",
    "wood": "Holz",
    "cardboard": "Karton",
}
MATERIALS_JA = {
    "stainless steel": "ステンレス",
    "silicone": "シリコン",
    "bamboo": "竹",
    "glass": "ガラス",
    "ceramic": "陶器",
    "nylon": "ナイロン",
    "polyester": "ポリエステル",
    "canvas": "キャンバス",
    "cotton": "綿",
    "linen": "麻",
    "microfiber": "マイクロファイバー",
    "leather": "革",
    "mesh": "メッシュ",
    "rubber": "ゴム",
    "plastic": "プラスチック",
    "wood": "木",
    "cardboard": "段ボール",
}
NOUNS = {  # noun -> (German, Japanese)
    "garlic press": ("Knoblauchpresse", "ガーリックプレス"),
    "spatula": ("Pfannenwender", "フライ返し"),
    "whisk": ("Schneebesen", "泡立て器"),
    "ladle": ("Schöpfkelle", "おたま"),
    "travel mug": ("Reisebecher", "トラベルマグ"),
    "water bottle": ("Trinkflasche", "水筒"),
    "tumbler": ("Becher", "タンブラー"),
    "hiking backpack": ("Wanderrucksack", "登山用リュック"),
    "laptop backpack": ("Laptoprucksack", "ノートパソコン用リュック"),
    "daypack": ("Tagesrucksack", "デイパック"),
    "crew neck t-shirt": ("T-Shirt mit Rundhalsausschnitt", "クルーネックTシャツ"),
    "v-neck t-shirt": ("T-Shirt mit V-Ausschnitt", "VネックTシャツ"),
    "polo shirt": ("Poloshirt", "ポロシャツ"),
    "phone case": ("Handyhülle", "スマホケース"),
    "screen protector": ("Displayschutz", "画面保護フィルム"),
    "charging cable": ("Ladekabel", "充電ケーブル"),
    "duvet cover": ("Bettbezug", "布団カバー"),
    "pillowcase": ("Kissenbezug", "枕カバー"),
    "fitted sheet": ("Spannbettlaken", "ボックスシーツ"),
    "running shoes": ("Laufschuhe", "ランニングシューズ"),
    "sandals": ("Sandalen", "サンダル"),
    "hiking boots": ("Wanderstiefel", "登山靴"),
    "building blocks": ("Bausteine", "ブロック"),
    "puzzle": ("Puzzle", "パズル"),
    "toy car": ("Spielzeugauto", "おもちゃの車"),
}
BRANDS = ("Northwind", "Alder & Co", "Kestrel", "Brightlane", "Okami", "Lumora", "Tidewell", "Fennix")
# complements: category -> categories bought together with it
COMPLEMENTS = {
    "kitchen utensils": ("drinkware",),
    "drinkware": ("kitchen utensils", "backpacks"),
    "backpacks": ("drinkware", "footwear"),
    "t-shirts": ("footwear",),
    "phone accessories": ("backpacks",),
    "bedding": (),
    "footwear": ("t-shirts", "backpacks"),
    "toys": (),
}
TRACKS = ("concept_understanding", "knowledge_reasoning", "user_behavior_alignment", "multilingual")


@dataclass(frozen=True)
class Product:
    category: str
    noun: str
    material: str
    color: str
    brand: str

    @property
    def title(self) -> str:
        return f"{self.brand} {self.color} {self.material} {self.noun}"


def _products(rng: random.Random, n: int) -> list[Product]:
    products = []
    for _ in range(n):
        category = rng.choice(sorted(CATEGORIES))
        nouns, materials, _ = CATEGORIES[category]
        products.append(Product(category, rng.choice(nouns), rng.choice(materials), rng.choice(sorted(COLORS)), rng.choice(BRANDS)))
    return products


def _record(task: str, track: str, task_type: str, metric: str, prompt: str, truth: object) -> dict:
    return make_record(task, task_type, metric, track, prompt, truth)


def _numbered(options: list[str], start: int = 0) -> str:
    return "\n".join(f"{i}. {o}" for i, o in enumerate(options, start=start))


def category_mc(rng: random.Random, products: list[Product]) -> list[dict]:
    rows = []
    for p in products:
        options = [*rng.sample([c for c in sorted(CATEGORIES) if c != p.category], 3), p.category]
        rng.shuffle(options)
        prompt = f"Which category does the product '{p.title}' belong to?\n{_numbered(options)}\nAnswer: "
        rows.append(_record("starter_category_mc", TRACKS[0], "multiple-choice", "accuracy", prompt, options.index(p.category)))
    return rows


def attribute_ner(rng: random.Random, products: list[Product]) -> list[dict]:
    rows = []
    for p in products:
        kind = rng.choice(("color", "material"))
        prompt = f"Extract phrases of entity type '{kind}' from the product title '{p.title}'. Output the phrases separated by commas.\nOutput: "
        rows.append(_record("starter_attribute_ner", TRACKS[0], "named_entity_recognition", "micro f1", prompt, [getattr(p, kind)]))
    return rows


def category_explain(rng: random.Random, products: list[Product]) -> list[dict]:
    rows = []
    for category in sorted(CATEGORIES):
        for phrasing in (
            "Explain what the product category '{c}' covers in one sentence.\nOutput: ",
            "In one sentence, what kind of products are sold in the '{c}' category?\nOutput: ",
        ):
            rows.append(
                _record(
                    "starter_category_explain",
                    TRACKS[0],
                    "generation",
                    "sent-transformer",
                    phrasing.format(c=category),
                    f"{category.capitalize()} are {CATEGORIES[category][2]}.",
                )
            )
    return rows


def unit_price_mc(rng: random.Random, products: list[Product]) -> list[dict]:
    rows = []
    for p in products:
        count = rng.choice((2, 3, 4, 5, 6, 8, 10, 12))
        unit_cents = rng.randrange(150, 2500, 5)
        total = count * unit_cents / 100
        right = unit_cents / 100
        wrong = {round(right * f, 2) for f in (0.5, 2.0, 1.5, 0.75)} - {right}
        options = [f"${v:.2f}" for v in rng.sample(sorted(wrong), 3)] + [f"${right:.2f}"]
        rng.shuffle(options)
        prompt = f"A pack of {count} {p.noun}s costs ${total:.2f}. What is the price of one {p.noun}?\n{_numbered(options)}\nAnswer: "
        rows.append(_record("starter_unit_price_mc", TRACKS[1], "multiple-choice", "accuracy", prompt, options.index(f"${right:.2f}")))
    return rows


def title_generation(rng: random.Random, products: list[Product]) -> list[dict]:
    rows = []
    for p in products:
        prompt = f"Write a product title from these attributes. Brand: {p.brand}; color: {p.color}; material: {p.material}; product: {p.noun}.\nOutput: "
        rows.append(_record("starter_title_generation", TRACKS[1], "generation", "rougel", prompt, p.title))
    return rows


def complement_retrieval(rng: random.Random, products: list[Product]) -> list[dict]:
    rows = []
    for p in products:
        partners = COMPLEMENTS[p.category]
        if not partners:
            continue
        good = [q for q in _products(rng, 30) if q.category in partners][:1]
        bad = [q for q in _products(rng, 40) if q.category not in partners and q.category != p.category][:5]
        if len(good) < 1 or len(bad) < 5:
            continue
        candidates = good + bad
        rng.shuffle(candidates)
        prompt = (
            f"A user bought '{p.title}'. Which of the following products is the user most likely to buy "
            f"together with it?\n{_numbered([c.title for c in candidates], start=1)}\n"
            "Answer with the numbers of the 3 most likely products, separated by commas.\nAnswer: "
        )
        truth = [candidates.index(g) + 1 for g in good]
        rows.append(_record("starter_complement_retrieval", TRACKS[2], "retrieval", "hit rate@3", prompt, truth))
    return rows


def query_ranking(rng: random.Random, products: list[Product]) -> list[dict]:
    gains = {"exact": 1, "substitute": 0.1, "complement": 0.01, "irrelevant": 0}
    rows = []
    for p in products:
        query = f"{p.color} {p.noun}"
        nouns, _, _ = CATEGORIES[p.category]
        other_noun = next(n for n in nouns if n != p.noun)
        partners = COMPLEMENTS[p.category] or tuple(c for c in sorted(CATEGORIES) if c != p.category)[:1]
        comp_cat = rng.choice(partners)
        irr_cat = rng.choice([c for c in sorted(CATEGORIES) if c not in partners and c != p.category])
        other_color = rng.choice([c for c in sorted(COLORS) if c != p.color])
        graded = [
            (Product(p.category, p.noun, p.material, p.color, rng.choice(BRANDS)), "exact"),
            (Product(p.category, p.noun, rng.choice(CATEGORIES[p.category][1]), other_color, rng.choice(BRANDS)), "substitute"),
            (Product(p.category, other_noun, p.material, p.color, rng.choice(BRANDS)), "substitute"),
            (Product(comp_cat, CATEGORIES[comp_cat][0][0], CATEGORIES[comp_cat][1][0], rng.choice(sorted(COLORS)), rng.choice(BRANDS)), "complement"),
            (Product(irr_cat, CATEGORIES[irr_cat][0][0], CATEGORIES[irr_cat][1][0], rng.choice(sorted(COLORS)), rng.choice(BRANDS)), "irrelevant"),
        ]
        rng.shuffle(graded)
        prompt = (
            f"A user searches for '{query}'. Rank the following 5 products by how relevant they are to the query, "
            f"most relevant first.\n{_numbered([g[0].title for g in graded], start=1)}\n"
            "Output the 5 numbers separated by commas.\nAnswer: "
        )
        rows.append(_record("starter_query_ranking", TRACKS[2], "ranking", "ndcg", prompt, [gains[g[1]] for g in graded]))
    return rows


def translation(rng: random.Random, products: list[Product], lang: str) -> list[dict]:
    rows = []
    for p in products:
        if lang == "de":
            target = f"{p.brand} {NOUNS[p.noun][0]} aus {MATERIALS_DE[p.material]}, {COLORS[p.color][0]}"
            prompt = f"Translate the product title into German: '{p.title}'.\nOutput: "
            rows.append(_record("starter_title_translation_de", TRACKS[3], "generation", "bleu", prompt, target))
        else:
            target = f"{p.brand} {COLORS[p.color][1]}の{MATERIALS_JA[p.material]}製{NOUNS[p.noun][1]}"
            prompt = f"Translate the product title into Japanese: '{p.title}'.\nOutput: "
            rows.append(_record("starter_title_translation_ja", TRACKS[3], "generation", "jp-bleu", prompt, target))
    return rows


def build(out_dir: Path, seed: int = 2024, per_task: int = 24) -> dict[str, int]:
    """Write one JSON Lines file per starter task into ``out_dir``; return item counts."""
    rng = random.Random(seed)
    builders = {
        "category_mc": category_mc,
        "attribute_ner": attribute_ner,
        "category_explain": category_explain,
        "unit_price_mc": unit_price_mc,
        "title_generation": title_generation,
        "complement_retrieval": complement_retrieval,
        "query_ranking": query_ranking,
        "title_translation_de": lambda r, ps: translation(r, ps, "de"),
        "title_translation_ja": lambda r, ps: translation(r, ps, "ja"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, builder in builders.items():
        rows = builder(rng, _products(rng, per_task))
        with (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts[name] = len(rows)
    return counts


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else "tasks/starter/data")))
