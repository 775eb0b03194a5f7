"""ESCI Shopping Queries (parquet examples + products): 5-candidate ranking and ESCI-label questions, per locale."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.records import make_record

EXAMPLES = "shopping_queries_dataset_examples.parquet"
PRODUCTS = "shopping_queries_dataset_products.parquet"
GAINS = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}
LABELS = ["exact match", "substitute", "complement", "irrelevant"]
_LABEL_INDEX = {"E": 0, "S": 1, "C": 2, "I": 3}
TRACKS = {"us": "user_behavior_alignment", "es": "multilingual", "jp": "multilingual"}
EXAMPLE_COLUMNS = ("query_id", "query", "product_id", "product_locale", "esci_label")


def _read(path: Path, columns: tuple[str, ...]) -> Any:
    import pandas as pd

    if not path.is_file():
        raise EcombenchError(f"{path.parent}: no {path.name} (expected the ESCI examples and products parquet files)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise EcombenchError(f"{path}: not a readable parquet file ({type(exc).__name__})") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EcombenchError(f"{path}: missing columns {', '.join(missing)} (expected {', '.join(columns)})")
    return frame


# The `import` command's options this format takes, each to the keyword of `read` it sets.
OPTIONS: dict[str, str] = {"split": "split"}


def read(source: Path, split: str = "test", seed: int = 0, per_locale: int = 500) -> ImportedSuite:
    """Per locale: ``esci_ranking_<locale>`` (ndcg, ESCI gains) and ``esci_label_<locale>`` (4 options)."""
    folder = source if source.is_dir() else source.parent
    examples = _read(folder / EXAMPLES, EXAMPLE_COLUMNS)
    products = _read(folder / PRODUCTS, ("product_id", "product_title", "product_locale"))
    if "split" in examples.columns:
        examples = examples[examples["split"] == split]
    bad = sorted(set(examples["esci_label"]) - set(GAINS))
    if bad:
        raise EcombenchError(f"{folder / EXAMPLES}: unknown esci_label {bad[0]!r} (expected E, S, C or I)")
    titles = {(r.product_id, r.product_locale): r.product_title for r in products.itertuples()}
    suite = ImportedSuite("esci", [folder / EXAMPLES, folder / PRODUCTS])
    rng = random.Random(seed)
    for (locale, _query_id), group in sorted(examples.groupby(["product_locale", "query_id"]), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        rows = [(r.product_id, r.esci_label, titles.get((r.product_id, locale))) for r in group.itertuples()]
        rows = [r for r in rows if r[2]]
        query, track = str(group["query"].iloc[0]), TRACKS.get(locale, "multilingual")
        ranking, label = f"esci_ranking_{locale}", f"esci_label_{locale}"
        if len(rows) >= 5 and len(suite.tasks.get(ranking, [])) < per_locale and any(r[1] == "E" for r in rows):
            picks = rng.sample(rows, 5)
            prompt = (
                f"A user searches for '{query}'. Rank the following 5 products by how relevant they are to the query, most relevant first.\n"
                + "\n".join(f"{i}. {t}" for i, (_, _, t) in enumerate(picks, start=1))
                + "\nOutput the 5 numbers separated by commas.\nAnswer: "
            )
            suite.tasks.setdefault(ranking, []).append(make_record(ranking, "ranking", "ndcg", track, prompt, [GAINS[p[1]] for p in picks]))
        if len(suite.tasks.get(label, [])) < per_locale:
            _, esci, title = rng.choice(rows) if rows else (None, None, None)
            if title:
                assert esci is not None  # title comes from a row, so esci does too
                prompt = (
                    f"How relevant is the product '{title}' to the search query '{query}'?\n"
                    + "\n".join(f"{i}. {name}" for i, name in enumerate(LABELS))
                    + "\nAnswer: "
                )
                suite.tasks.setdefault(label, []).append(make_record(label, "multiple-choice", "accuracy", track, prompt, _LABEL_INDEX[esci]))
    for task in suite.tasks:
        kind, locale = task.split("_")[1], task.rsplit("_", 1)[1]
        suite.descriptions[task] = (
            f"ESCI {locale}: rank 5 products for a query (ESCI gains)"
            if kind == "ranking"
            else f"ESCI {locale}: label a query-product pair exact, substitute, complement or irrelevant"
        )
    return suite
