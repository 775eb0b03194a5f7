"""The KDD Cup 2024 starter kit's way of generating: one prompt at a time through ``generate``.

Greedy, 1 new token for multiple-choice and 100 otherwise, no batching; then the starter kit's
local evaluation: each row parsed and scored on its own, the sentence-embedding metric encoding
each output and truth separately. Used only as the baseline that ``bench_run.py`` measures
``ecombench run`` against, so that both processes generate and score the same items.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ecombench.metrics import ITEM_METRICS
from ecombench.metrics.embedding import resolve_embedding_model
from ecombench.metrics.parsers import parse
from ecombench.metrics.scores import f1_counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", nargs="+", required=True, help="ShopBench JSON Lines files")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    rows = []
    with Path(args.output).open("w") as out, torch.inference_mode():
        index = 0
        for data in args.data:
            for line in Path(data).read_text().splitlines():
                row = json.loads(line)
                inputs = tokenizer(row["input_field"], return_tensors="pt")
                max_new = 1 if row["is_multiple_choice"] else 100
                generated = model.generate(**inputs, max_new_tokens=max_new, do_sample=False, pad_token_id=tokenizer.pad_token_id)
                text = tokenizer.decode(generated[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
                out.write(json.dumps({"index": index, "prediction": text}) + "\n")
                rows.append((row, text))
                index += 1
    scores = [score_row(row, text) for row, text in rows]
    print(f"mean item score {sum(scores) / len(scores):.4f}")


_ENCODER = None


def score_row(row: dict, text: str) -> float:
    """One row at a time, as the starter kit's local evaluation loop did."""
    global _ENCODER
    parsed = parse(row["task_type"], text)
    metric = row["metric"]
    if metric == "micro f1":
        return f1_counts(parsed, row["output_field"]).f1
    if metric == "sent-transformer":
        if _ENCODER is None:
            from sentence_transformers import SentenceTransformer

            _ENCODER = SentenceTransformer(str(resolve_embedding_model(metric)))
        a, b = _ENCODER.encode(parsed), _ENCODER.encode(row["output_field"])
        return max(0.0, float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))))
    return ITEM_METRICS[metric](parsed, row["output_field"])


if __name__ == "__main__":
    main()
