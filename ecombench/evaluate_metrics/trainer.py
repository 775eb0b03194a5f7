"""A ``compute_metrics`` for ``transformers.Trainer`` that scores generated answers with the ``shopbench_kdd`` module."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.records import ShopBenchRecord, load_records, normalised_prompt


def flatten(result: dict[str, Any]) -> dict[str, float]:
    """The KDD result as the flat floats a Trainer logs: all_around, overall_task_mean, track/<t>, task/<t>."""
    out = {"all_around": result["all_around"], "overall_task_mean": result["overall_task_mean"]}
    out.update({f"track/{t}": v for t, v in result["tracks"].items()})
    out.update({f"task/{t}": v["score"] for t, v in result["tasks"].items()})
    return out


def cut_echo(prediction: list[int], prompt: list[int]) -> list[int]:
    """``prediction`` without the prompt a decoder-only ``generate`` echoes in front of the answer. ``prompt``
    is the row of the eval inputs (its trailing ``-100`` are padding added when batches were gathered);
    a prediction that does not start with it (an encoder-decoder's) is returned whole."""
    while prompt and prompt[-1] == -100:
        prompt = prompt[:-1]
    return prediction[len(prompt) :] if prompt and prediction[: len(prompt)] == prompt else prediction


def _repeats(text: str, prompt: str) -> bool:
    """Whether a decoded prediction contains its whole prompt (case and whitespace folded)."""
    wanted = normalised_prompt(prompt)
    return bool(wanted) and wanted in normalised_prompt(text)


def trainer_compute_metrics(
    tokenizer: Any,
    records: str | Path | Sequence[dict[str, Any] | ShopBenchRecord],
    *,
    embedding_model: str | None = None,
    multilingual_embedding_model: str | None = None,
) -> Callable[[Any], dict[str, float]]:
    """``compute_metrics`` for a Trainer whose eval predictions are the token ids of the generated answers.

    That is ``Seq2SeqTrainer`` with ``predict_with_generate=True``. A decoder-only model's ``generate``
    returns the prompt followed by the answer: pass ``include_for_metrics=["inputs"]`` in the training
    arguments and each prediction's echoed prompt (its row of the eval inputs) is cut off before
    scoring; without the inputs, predictions that repeat their record's prompt are refused with one
    line rather than scored (the prompt would be scored as part of the answer). ``records`` are the eval
    set's ShopBench rows (a JSON Lines path or the rows), in the eval set's order: the truths are read
    from them, not from the labels, because a ranking's gains or a list of entities do not survive
    tokenization. Padding (``-100`` or the pad token) and special tokens are dropped before scoring.
    """
    rows = load_records(Path(records)) if isinstance(records, (str, Path)) else [ShopBenchRecord.model_validate(r) for r in records]
    references = [json.dumps(r.output_field, ensure_ascii=False) for r in rows]
    columns = {
        "task_names": [r.task_name for r in rows],
        "task_types": [r.task_type for r in rows],
        "metrics": [r.metric for r in rows],
        "tracks": [r.track for r in rows],
    }
    state: dict[str, Any] = {}

    def compute_metrics(eval_pred: Any) -> dict[str, float]:
        import numpy as np

        ids = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
        inputs = getattr(eval_pred, "inputs", None)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        ids = [list(row) for row in np.asarray(ids)]
        if inputs is not None:
            ids = [cut_echo(row, list(prompt)) for row, prompt in zip(ids, np.asarray(inputs), strict=False)]
        texts = tokenizer.batch_decode([[pad if t < 0 else t for t in row] for row in ids], skip_special_tokens=True)
        if len(texts) != len(rows):
            raise EcombenchError(f"{len(texts)} eval predictions but {len(rows)} records; pass the eval set's rows in its order")
        if inputs is None:
            echoed = next((i for i, (text, row) in enumerate(zip(texts, rows, strict=True)) if _repeats(text, row.input_field)), None)
            if echoed is not None:
                raise EcombenchError(
                    f"eval prediction {echoed} repeats its prompt (a decoder-only model's generate returns prompt and answer); "
                    'pass include_for_metrics=["inputs"] in the training arguments so that the prompt is cut off'
                )
        if "module" not in state:
            import evaluate

            from ecombench.evaluate_metrics import path

            state["module"] = evaluate.load(path("kdd"), keep_in_memory=True)
        result = state["module"].compute(
            predictions=texts, references=references, model_path=embedding_model, multilingual_model_path=multilingual_embedding_model, **columns
        )
        return flatten(result)

    return compute_metrics
