"""ecombench's scorer as Hugging Face ``evaluate`` modules, loadable offline from the installed package.

Each module's ``compute()`` calls ``ecombench.scoring`` (the code of ``ecombench score``), so the
numbers are the same::

    import evaluate
    from ecombench.evaluate_metrics import path

    ndcg = evaluate.load(path("ndcg"))
    ndcg.compute(predictions=["2, 1"], references=[[1, 0]])  # {'ndcg': 0.6309...}

``path("kdd")`` is the whole KDD Cup 2024 aggregation (tasks, tracks, All-Around) over mixed rows;
``trainer_compute_metrics`` makes a ``compute_metrics`` for a ``transformers.Trainer`` from it.
This module imports nothing heavy; ``evaluate`` is imported by the modules when they load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError

# ecombench metric name (as in ShopBench records) -> evaluate module (a file in ./modules).
MODULES: dict[str, str] = {
    "accuracy": "shopbench_accuracy",
    "hit rate@3": "shopbench_hit_rate_at_3",
    "ndcg": "shopbench_ndcg",
    "micro f1": "shopbench_micro_f1",
    "rougel": "shopbench_rougel",
    "bleu": "shopbench_bleu",
    "jp-bleu": "shopbench_jp_bleu",
    "sent-transformer": "shopbench_sent_transformer",
    "multilingual-sent-transformer": "shopbench_multilingual_sent_transformer",
    "kdd": "shopbench_kdd",  # task -> track -> All-Around over rows of any metrics
}
MODULES_DIR = Path(__file__).resolve().parent / "modules"


def path(name: str) -> str:
    """The file to pass to ``evaluate.load`` for a metric name (``"ndcg"``, ``"hit rate@3"``, ``"kdd"``) or module name."""
    module = MODULES.get(name, name if name in MODULES.values() else None)
    if module is None:
        raise EcombenchError(f"no evaluate module for '{name}'; use one of {', '.join(repr(n) for n in MODULES)}")
    return str(MODULES_DIR / f"{module}.py")


def result_key(metric: str) -> str:
    """The key of a module's result: its module name without the prefix (``hit_rate_at_3``)."""
    return MODULES[metric].removeprefix("shopbench_")


def __getattr__(name: str) -> Any:
    # The Trainer helper needs numpy and evaluate; import it only when asked for.
    if name == "trainer_compute_metrics":
        from ecombench.evaluate_metrics.trainer import trainer_compute_metrics

        return trainer_compute_metrics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
