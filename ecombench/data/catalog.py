"""The ecombench-core catalog: products, reviews, queries with ESCI judgments, and sessions.

Generated from ``ecombench.data.vocab`` by rules, so every record is internally consistent:
a title states exactly the attributes its product has; a review's rating follows the polarity
of the aspects it mentions; a relevance grade follows from the query's constraints and the
product's attributes (``grade``). Seeded and reproducible. Every record carries ``part``:
``eval`` records feed evaluation tasks, ``train`` records feed training data, and no query,
judgment or session crosses parts.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ecombench.data.vocab import ASPECTS, BRANDS, CATEGORIES, COLOR_T, LANGUAGES, MATERIAL_T, NOUN_T, Category

PRODUCTS_PER_CATEGORY = 18
REVIEWS_PER_PRODUCT = (1, 4)
QUERIES_PER_PART = {"eval": 170, "train": 170}
TRANSLATED_QUERIES_PER_LANGUAGE = {"eval": 25, "train": 25}
SESSIONS_PER_PART = {"eval": 110, "train": 110}
GRADES = ("exact", "substitute", "complement", "irrelevant")
GAINS = {"exact": 1.0, "substitute": 0.1, "complement": 0.01, "irrelevant": 0.0}
_BY_KEY = {c.key: c for c in CATEGORIES}
_ASPECTS_BY_DEPARTMENT = {
    "Clothing": ("quality", "price", "size", "color", "delivery", "comfort", "durability"),
    "Shoes": ("quality", "price", "size", "color", "delivery", "comfort", "durability"),
    "Electronics": ("quality", "price", "delivery", "durability", "ease of use"),
    "Home & Kitchen": ("quality", "price", "color", "delivery", "durability", "ease of use"),
}
_DEFAULT_ASPECTS = ("quality", "price", "size", "color", "delivery", "durability")


@dataclass(frozen=True)
class Product:
    id: str
    part: str
    category: str
    path: tuple[str, ...]
    brand: str
    noun: str
    attributes: dict[str, str]
    title: str
    titles: dict[str, str]
    description: str
    price: float


def _phrase(name: str, value: str) -> str:
    if name == "compatibility":
        return f"for {value}"
    if name in ("size", "shoe size"):
        return f"size {value}"
    if name == "bed size":
        return f"{value} size"
    return value


def title_of(brand: str, noun: str, attributes: dict[str, str]) -> str:
    """``Brand color material noun, other attributes`` — every attribute, nothing else."""
    lead = " ".join(v for v in (attributes.get("color"), attributes.get("material")) if v)
    rest = [_phrase(k, v) for k, v in attributes.items() if k not in ("color", "material")]
    return f"{brand} {lead + ' ' if lead else ''}{noun}" + (f", {', '.join(rest)}" if rest else "")


def translated_title(lang: str, brand: str, noun: str, attributes: dict[str, str]) -> str:
    """The title's brand, color, material and noun in ``lang`` (de, es, ja)."""
    i = LANGUAGES.index(lang)
    color = COLOR_T[attributes["color"]][i] if "color" in attributes else None
    material = MATERIAL_T[attributes["material"]][i] if "material" in attributes else None
    n = NOUN_T[noun][i]
    if lang == "de":
        return f"{brand} {n}" + (f" aus {material}" if material else "") + (f", {color}" if color else "")
    if lang == "es":
        return f"{n[0].upper() + n[1:]} {brand}" + (f" de {material}" if material else "") + (f", color {color}" if color else "")
    return f"{brand} " + (f"{color}の" if color else "") + (f"{material}製" if material else "") + n


def _products(rng: random.Random) -> list[Product]:
    products: list[Product] = []
    for category in CATEGORIES:
        seen: set[str] = set()
        made = 0
        while made < PRODUCTS_PER_CATEGORY:
            noun = rng.choice(category.nouns)
            attributes = {k: rng.choice(v) for k, v in category.attributes.items()}
            brand = rng.choice(BRANDS)
            title = title_of(brand, noun, attributes)
            titles = {lang: translated_title(lang, brand, noun, attributes) for lang in LANGUAGES}
            # Translated titles omit numeric attributes, so they must be unique too (no text in both parts).
            if seen & {title, *titles.values()}:
                continue
            seen |= {title, *titles.values()}
            made += 1
            low, high = category.price
            price = round(rng.uniform(low, high)) - 0.01
            facts = " ".join(f"{k.capitalize()}: {v}." for k, v in attributes.items())
            description = f"{title}. A {noun} in {category.path[-1]}, {category.description}. {facts}"
            products.append(
                Product(
                    id="",
                    part="",
                    category=category.key,
                    path=category.path,
                    brand=brand,
                    noun=noun,
                    attributes=attributes,
                    title=title,
                    titles=titles,
                    description=description,
                    price=max(price, 0.99),
                )
            )
    rng.shuffle(products)
    # half of each category's products to each part
    counts: dict[str, int] = {}
    out = []
    for i, p in enumerate(products):
        counts[p.category] = counts.get(p.category, 0) + 1
        part = "eval" if counts[p.category] % 2 else "train"
        out.append(Product(**{**asdict(p), "id": f"P{i:04d}", "part": part, "path": p.path}))
    return out


def _reviews(rng: random.Random, products: list[Product]) -> list[dict[str, Any]]:
    reviews: list[dict[str, Any]] = []
    for p in products:
        aspects_pool = _ASPECTS_BY_DEPARTMENT.get(p.path[0], _DEFAULT_ASPECTS)
        for _ in range(rng.randint(*REVIEWS_PER_PRODUCT)):
            rating = rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
            if rating == 3:
                chosen = rng.sample(aspects_pool, 2)
                polarity = dict(zip(chosen, rng.sample(("positive", "negative"), 2), strict=True))
            else:
                chosen = rng.sample(aspects_pool, rng.randint(1, 3))
                polarity = {a: "positive" if rating >= 4 else "negative" for a in chosen}
            sentences = [rng.choice(ASPECTS[a][0 if polarity[a] == "positive" else 1]) for a in chosen]
            # Naming the product (titles are unique) keeps review texts of the two parts apart.
            reviews.append(
                {
                    "id": f"R{len(reviews):05d}",
                    "part": p.part,
                    "product": p.id,
                    "rating": rating,
                    "aspects": polarity,
                    "text": f"I bought the {p.title}. " + " ".join(sentences),
                }
            )
    return reviews


def grade(query: dict[str, Any], product: Product) -> str:
    """ESCI grade of a product for a query, from the query's constraints and the product's attributes."""
    if product.category == query["category"]:
        matches = product.noun == query["noun"] and all(product.attributes.get(k) == v for k, v in query["constraints"].items())
        return "exact" if matches else "substitute"
    if product.category in _BY_KEY[query["category"]].complements:
        return "complement"
    return "irrelevant"


def _query_text(noun: str, constraints: dict[str, str], lang: str = "en") -> str:
    if lang == "en":
        words = [constraints.get("color"), constraints.get("material"), noun]
        words += [_phrase(k, v) for k, v in constraints.items() if k not in ("color", "material")]
        return " ".join(w for w in words if w)
    i = LANGUAGES.index(lang)
    parts = [NOUN_T[noun][i]]
    if "material" in constraints:
        parts.append(MATERIAL_T[constraints["material"]][i])
    if "color" in constraints:
        parts.append(COLOR_T[constraints["color"]][i])
    return " ".join(parts)


def _queries(rng: random.Random, products: list[Product]) -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = []
    eval_texts: set[str] = set()
    for part in ("eval", "train"):
        pool = [p for p in products if p.part == part]
        plans = [("en", n) for n in range(QUERIES_PER_PART[part])]
        plans += [(lang, n) for lang in LANGUAGES for n in range(TRANSLATED_QUERIES_PER_LANGUAGE[part])]
        for lang, _ in plans:
            target = rng.choice(pool)
            keys = [k for k in target.attributes if k in ("color", "material")] if lang != "en" else list(target.attributes)
            constraints = {k: target.attributes[k] for k in rng.sample(keys, min(len(keys), rng.randint(1, 2)))} if keys else {}
            query = {"category": target.category, "noun": target.noun, "constraints": constraints}
            by_grade: dict[str, list[Product]] = {g: [] for g in GRADES}
            for p in pool:
                by_grade[grade(query, p)].append(p)
            text = _query_text(target.noun, constraints, lang)
            if not by_grade["substitute"] or not by_grade["complement"] or (part == "train" and text in eval_texts):
                continue
            if part == "eval":
                eval_texts.add(text)
            others = [p for p in by_grade["exact"] if p.id != target.id]
            judged = [
                target,
                *rng.sample(others, min(1, len(others))),
                *rng.sample(by_grade["substitute"], min(2, len(by_grade["substitute"]))),
                rng.choice(by_grade["complement"]),
                *rng.sample(by_grade["irrelevant"], 2),
            ]
            rng.shuffle(judged)
            queries.append(
                {
                    "id": f"Q{len(queries):04d}",
                    "part": part,
                    "lang": lang,
                    "text": text,
                    **query,
                    "judgments": [{"product": p.id, "grade": grade(query, p)} for p in judged],
                }
            )
    return queries


def _sessions(rng: random.Random, products: list[Product], queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {p.id: p for p in products}
    sessions: list[dict[str, Any]] = []
    eval_texts = {q["text"] for q in queries if q["part"] == "eval"}
    for part in ("eval", "train"):
        english = [q for q in queries if q["part"] == part and q["lang"] == "en"]
        for _ in range(SESSIONS_PER_PART[part]):
            q = rng.choice(english)
            broad = _query_text(q["noun"], {})
            events: list[dict[str, Any]] = []
            # a broad first query ("laptop sleeve") belongs to the eval part when eval has used it
            if broad != q["text"] and (part == "eval" or broad not in eval_texts):
                events.append({"type": "query", "text": broad})
                if part == "eval":
                    eval_texts.add(broad)
            events.append({"type": "query", "text": q["text"]})
            substitutes = [j["product"] for j in q["judgments"] if j["grade"] == "substitute"]
            exact = [j["product"] for j in q["judgments"] if j["grade"] == "exact"]
            for pid in rng.sample(substitutes, min(len(substitutes), rng.randint(0, 1))):
                events.append({"type": "click", "product": pid})
            bought = rng.choice(exact)
            events += [{"type": "click", "product": bought}, {"type": "purchase", "product": bought}]
            complements = [p for p in products if p.part == part and p.category in _BY_KEY[by_id[bought].category].complements]
            if complements and rng.random() < 0.5:
                extra = rng.choice(complements)
                events += [{"type": "click", "product": extra.id}, {"type": "purchase", "product": extra.id}]
            sessions.append({"id": f"S{len(sessions):04d}", "part": part, "query": q["id"], "events": events})
    return sessions


def build_catalog(seed: int = 2024) -> dict[str, list[dict[str, Any]]]:
    """The whole catalog for ``seed``: products, reviews, queries and sessions as JSON-ready rows."""
    rng = random.Random(seed)
    products = _products(rng)
    reviews = _reviews(rng, products)
    queries = _queries(rng, products)
    sessions = _sessions(rng, products, queries)
    return {
        "products": [asdict(p) for p in products],
        "reviews": reviews,
        "queries": queries,
        "sessions": sessions,
    }


def write_catalog(catalog: dict[str, list[dict[str, Any]]], out_dir: Path, seed: int) -> dict[str, Any]:
    """Write one JSON Lines file per record kind and ``MANIFEST.json`` with counts and sha256."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"seed": seed, "files": {}}
    for kind, rows in catalog.items():
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
        (out_dir / f"{kind}.jsonl").write_text(text, encoding="utf-8")
        manifest["files"][f"{kind}.jsonl"] = {"rows": len(rows), "sha256": hashlib.sha256(text.encode()).hexdigest()}
    (out_dir / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def category(key: str) -> Category:
    return _BY_KEY[key]
