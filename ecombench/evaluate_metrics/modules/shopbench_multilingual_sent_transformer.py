"""`evaluate` module shopbench_multilingual_sent_transformer: Cosine of paraphrase-multilingual-MiniLM-L12-v2 embeddings, floored at 0.

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("multilingual-sent-transformer"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchMultilingualSentTransformer(base.ShopBenchMetric):
    """Cosine of paraphrase-multilingual-MiniLM-L12-v2 embeddings, floored at 0."""

    metric = "multilingual-sent-transformer"
