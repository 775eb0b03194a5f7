"""The ``evaluate.Metric`` behind every module in ./modules; a module only names its metric.

A module script must not import this class by name: ``evaluate`` takes the first Metric class it
finds in the script's namespace, so the scripts subclass ``base.ShopBenchMetric`` through the module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import evaluate

from ecombench.errors import EcombenchError
from ecombench.evaluate_metrics import MODULES, result_key
from ecombench.evaluate_metrics.compute import kdd_scores, metric_score
from ecombench.metrics import EMBEDDING_METRICS
from ecombench.metrics.embedding import (
    EMBEDDING_MODELS,
    Embedders,
    _model_folder,
    resolve_embedding_model,
)

KDD_COLUMNS = ("task_names", "task_types", "metrics", "tracks")
_TEXT = datasets.Value("string")
_REFERENCES: dict[str, Any] = {
    "accuracy": datasets.Value("int64"),  # the true option index
    "hit rate@3": datasets.Sequence(datasets.Value("int64")),  # the true 1-based items
    "ndcg": datasets.Sequence(datasets.Value("float64")),  # one gain per candidate, in list order
    "micro f1": datasets.Sequence(_TEXT),  # the true entities
    "rougel": _TEXT,
    "bleu": _TEXT,
    "jp-bleu": _TEXT,
    # one reference or several (mean of cosines); a single one is stored as a list of one (ShopBenchMetric.add_batch)
    "sent-transformer": datasets.Sequence(_TEXT),
    "multilingual-sent-transformer": datasets.Sequence(_TEXT),
    "kdd": _TEXT,  # each row's truth as JSON text
}
_CITATION = """@inproceedings{jin2024shopping,
  title={Shopping MMLU: A Massive Multi-Task Online Shopping Benchmark for Large Language Models},
  author={Jin, Yilun and others},
  booktitle={NeurIPS Datasets and Benchmarks Track},
  year={2024}
}"""
_INPUTS = {
    "kdd": """
Args:
    predictions: the model's raw output texts.
    references: each row's truth (ShopBench ``output_field``) as JSON text: ``json.dumps(output_field)``.
    task_names, task_types, metrics, tracks: lists, one value per row (the ShopBench record fields).
    model_path, multilingual_model_path: local folders of the sentence-embedding models, if rows use them.
Returns:
    {"tasks": {name: {"task_type", "metric", "n", "score"}}, "tracks": {track: score},
     "all_around": mean of the tracks, "overall_task_mean": mean of the tasks} (``ecombench score --format json``).
""",
}


def _inputs(metric: str) -> str:
    extra = (
        "\n    model_path: a local folder of " + EMBEDDING_MODELS[metric] + " (default: found offline as ecombench finds it)."
        if metric in EMBEDDING_METRICS
        else ""
    )
    return f"""
Args:
    predictions: the model's raw output texts, parsed as the KDD Cup 2024 scorer parsed them.
    references: the truths, as in ShopBench ``output_field``.{extra}
Returns:
    {{"{result_key(metric)}": the task score of these rows (mean of question scores; pooled counts for micro f1)}}.
"""


def _find_model(metric: str, given: str | None, argument: str) -> None:
    """Fail before scoring, with the compute() argument to pass, when an embedding model cannot be found offline."""
    if given is not None:
        _model_folder(Path(given).expanduser(), f"{argument}=")
        return
    try:
        resolve_embedding_model(metric, flags=False)
    except EcombenchError as exc:
        raise EcombenchError(f"{exc}, or pass {argument}=PATH to compute()") from None


class ShopBenchMetric(evaluate.Metric):
    """A ShopBench (KDD Cup 2024) metric; ``compute()`` is ``ecombench score``'s scoring code."""

    metric = ""  # an ecombench metric name, or "kdd"; set by each module

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._module_info.module_name = MODULES[self.metric]  # not evaluate's snake case of the class name (HitRateAt3)

    def add_batch(self, *, predictions: Any = None, references: Any = None, **kwargs: Any) -> None:
        """Add a batch of predictions and references (evaluate appends the inputs' description here)."""
        # evaluate picks one feature type per batch from its first row, so a batch mixing one reference
        # ("a") and several (["a", "b"]) would store the list as text; one reference becomes ["a"] instead,
        # which scores the same (the mean of one cosine).
        if self.metric in EMBEDDING_METRICS and references is not None:
            references = [[r] if isinstance(r, str) else r for r in references]
        super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction: Any = None, reference: Any = None, **kwargs: Any) -> None:
        """Add one prediction and its reference (evaluate appends the inputs' description here)."""
        if self.metric in EMBEDDING_METRICS and isinstance(reference, str):
            reference = [reference]
        super().add(prediction=prediction, reference=reference, **kwargs)

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=f"ShopBench (Amazon KDD Cup 2024) '{self.metric}', scored by ecombench exactly as the challenge's scorer.",
            citation=_CITATION,
            inputs_description=_INPUTS.get(self.metric) or _inputs(self.metric),
            features=datasets.Features({"predictions": _TEXT, "references": _REFERENCES[self.metric]}),
            homepage="https://amazon-kddcup24.github.io/",
            module_type="metric",
        )

    def _embedders(self, overrides: dict[str, str | None]) -> Embedders:
        # One model load per module instance and model folder, however often compute() runs (each eval of a Trainer).
        cache: dict[tuple, Embedders] = self.__dict__.setdefault("_ecombench_embedders", {})
        key = tuple(sorted(overrides.items()))
        if key not in cache:
            cache[key] = Embedders(overrides=dict(overrides))
        return cache[key]

    def _compute(
        self, predictions: list[str], references: list[Any], model_path: str | None = None, multilingual_model_path: str | None = None, **columns: Any
    ) -> dict[str, Any]:
        if self.metric == "kdd":
            missing = [c for c in KDD_COLUMNS if c not in columns]
            unexpected = sorted(set(columns) - set(KDD_COLUMNS))
            if missing or unexpected:
                raise TypeError(
                    f"shopbench_kdd.compute() needs {', '.join(KDD_COLUMNS)} (lists, one value per row)"
                    + (f"; missing {', '.join(missing)}" if missing else "")
                    + (f"; unexpected {', '.join(unexpected)}" if unexpected else "")
                )
            paths = {"sent-transformer": model_path, "multilingual-sent-transformer": multilingual_model_path}
            for metric in sorted(set(columns["metrics"]) & set(EMBEDDING_METRICS)):
                _find_model(metric, paths[metric], "model_path" if metric == "sent-transformer" else "multilingual_model_path")
            embedders = self._embedders(paths)
            return kdd_scores(predictions, references, embedders=embedders, **columns)
        unexpected = [
            *columns,
            *(["multilingual_model_path"] if multilingual_model_path is not None else []),
            *(["model_path"] if model_path is not None and self.metric not in EMBEDDING_METRICS else []),
        ]
        if unexpected:
            raise TypeError(f"{MODULES[self.metric]}.compute() got unexpected arguments: {', '.join(sorted(unexpected))}")
        if self.metric in EMBEDDING_METRICS:
            _find_model(self.metric, model_path, "model_path")
        embedders = self._embedders({self.metric: model_path} if self.metric in EMBEDDING_METRICS else {})
        return {result_key(self.metric): metric_score(self.metric, predictions, references, embedders)}
