"""The sentence-embedding metric: ecombench's batched scoring against one pair at a time.

The baseline encodes each output and each truth with its own ``encode`` call, as the starter
kit's scorer did; ecombench encodes every distinct text of a task once, in batches. Same model
(the packaged all-MiniLM-L6-v2), same pairs, interleaved, median of --repeats.
ratio = baseline seconds / batched seconds (higher is better).

    python benchmarks/bench_embedding.py --pairs 256 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np
from _common import median, report


def pairs(n: int) -> tuple[list[str], list[str]]:
    rng = random.Random(0)
    words = [
        "soft",
        "cotton",
        "shirt",
        "red",
        "blue",
        "steel",
        "garlic",
        "press",
        "mug",
        "bottle",
        "hiking",
        "backpack",
        "leather",
        "shoes",
        "kitchen",
        "toy",
        "car",
    ]
    make = lambda: " ".join(rng.choice(words) for _ in range(rng.randint(5, 20)))  # noqa: E731
    return [make() for _ in range(n)], [make() for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from ecombench.metrics.embedding import Embedders, embedding_scores

    embedders = Embedders()
    encode = embedders.encoder("sent-transformer")  # load once, outside the timings
    model_encode = lambda text: encode([text])[0]  # noqa: E731 - one call per text, as the baseline did
    preds, truths = pairs(args.pairs)

    def one_at_a_time() -> list[float]:
        out = []
        for p, t in zip(preds, truths, strict=True):
            a, b = model_encode(p), model_encode(t)
            out.append(max(0.0, float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))))
        return out

    batched_s, single_s = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        batched = embedding_scores(encode, preds, truths)
        batched_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        single = one_at_a_time()
        single_s.append(time.perf_counter() - start)
    max_diff = max(abs(a - b) for a, b in zip(batched, single, strict=True))
    report(
        "embedding_metric_batched_vs_pairwise",
        pairs=args.pairs,
        cpu_threads=os.cpu_count(),
        max_abs_score_diff=max_diff,
        batched_s=batched_s,
        pairwise_s=single_s,
        ratio=round(median(single_s) / median(batched_s), 2),
    )


if __name__ == "__main__":
    main()
