"""The ecombench-core catalog: sizes, internal consistency, disjoint parts, reproducibility."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ecombench.data.catalog import GRADES, Product, build_catalog, grade, title_of
from ecombench.data.core import build_core, default_core_dir
from ecombench.data.vocab import ASPECTS, CATEGORIES


@pytest.fixture(scope="module", params=[2024, 11], ids=lambda seed: f"seed{seed}")
def catalog(request):
    """The committed seed and another: a new seed must give an equally valid catalog."""
    return build_catalog(request.param)


def test_sizes_meet_the_suite_minimums(catalog):
    products = catalog["products"]
    assert len(products) >= 600 and len({p["category"] for p in products}) >= 30
    assert len(catalog["reviews"]) >= 1500
    assert len(catalog["queries"]) >= 300 and all(len(q["judgments"]) >= 5 for q in catalog["queries"])
    assert len(catalog["sessions"]) >= 200
    langs = Counter(q["lang"] for q in catalog["queries"])
    assert {"de", "es", "ja"} <= set(langs) and all(langs[lang] >= 30 for lang in ("de", "es", "ja"))
    assert all(set(p["titles"]) == {"de", "es", "ja"} for p in products)


def test_every_title_states_exactly_the_products_attributes(catalog):
    for p in catalog["products"]:
        assert p["title"] == title_of(p["brand"], p["noun"], p["attributes"])
        for value in p["attributes"].values():
            assert value in p["title"]
        category = next(c for c in CATEGORIES if c.key == p["category"])
        assert set(p["attributes"]) == set(category.attributes) and p["noun"] in category.nouns
        assert category.price[0] - 1 <= p["price"] <= category.price[1]
    assert len({p["title"] for p in catalog["products"]}) == len(catalog["products"])


def test_review_ratings_follow_aspect_polarity(catalog):
    for r in catalog["reviews"]:
        polarities = set(r["aspects"].values())
        if r["rating"] >= 4:
            assert polarities == {"positive"}
        elif r["rating"] <= 2:
            assert polarities == {"negative"}
        else:
            assert polarities == {"positive", "negative"}
        for aspect, polarity in r["aspects"].items():
            phrases = ASPECTS[aspect][0 if polarity == "positive" else 1]
            assert any(phrase in r["text"] for phrase in phrases)


def test_relevance_grades_follow_from_constraints(catalog):
    products = {p["id"]: Product(**{**p, "path": tuple(p["path"])}) for p in catalog["products"]}
    for q in catalog["queries"]:
        grades = [j["grade"] for j in q["judgments"]]
        assert "exact" in grades and "substitute" in grades and set(grades) <= set(GRADES)
        for j in q["judgments"]:
            product = products[j["product"]]
            assert j["grade"] == grade(q, product)
            assert product.part == q["part"]
            if j["grade"] == "exact":
                assert all(product.attributes[k] == v for k, v in q["constraints"].items())


def test_grade_rule_by_hand():
    p = Product("P1", "eval", "belts", ("Clothing",), "Kestrel", "belt", {"color": "black", "material": "leather", "length": "100 cm"}, "t", {}, "d", 10.0)
    q = {"category": "belts", "noun": "belt", "constraints": {"color": "black"}}
    assert grade(q, p) == "exact"
    assert grade({**q, "constraints": {"color": "blue"}}, p) == "substitute"
    assert grade({"category": "jeans", "noun": "jeans", "constraints": {}}, p) == "complement"  # jeans lists belts
    assert grade({"category": "toys", "noun": "toy car", "constraints": {}}, p) == "irrelevant"


def test_sessions_buy_an_exact_match_of_their_query(catalog):
    queries = {q["id"]: q for q in catalog["queries"]}
    products = {p["id"]: p for p in catalog["products"]}
    for s in catalog["sessions"]:
        q = queries[s["query"]]
        assert q["part"] == s["part"]
        first_purchase = next(e["product"] for e in s["events"] if e["type"] == "purchase")
        assert {"product": first_purchase, "grade": "exact"} in q["judgments"]
        assert all(products[e["product"]]["part"] == s["part"] for e in s["events"] if "product" in e)


def test_no_text_reaches_both_parts(catalog):
    def texts(part):
        out = set()
        for p in catalog["products"]:
            if p["part"] == part:
                out |= {p["title"], p["description"], *p["titles"].values()}
        out |= {r["text"] for r in catalog["reviews"] if r["part"] == part}
        out |= {q["text"] for q in catalog["queries"] if q["part"] == part}
        out |= {e["text"] for s in catalog["sessions"] if s["part"] == part for e in s["events"] if e["type"] == "query"}
        return out

    assert texts("eval").isdisjoint(texts("train"))


def test_seeded_and_reproducible():
    assert build_catalog(7) == build_catalog(7)
    assert build_catalog(7)["products"] != build_catalog(8)["products"]


@pytest.mark.slow
def test_build_core_rebuilds_the_committed_suite_byte_for_byte(tmp_path):
    build_core(tmp_path, 2024)
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(default_core_dir()) for p in default_core_dir().rglob("*") if p.is_file())
    assert built == committed
    for rel in built:
        assert (tmp_path / rel).read_bytes() == (default_core_dir() / rel).read_bytes(), rel
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert manifest["seed"] == 2024 and manifest["files"]["products.jsonl"]["rows"] == 648
