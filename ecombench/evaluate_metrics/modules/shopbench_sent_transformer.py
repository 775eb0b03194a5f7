"""`evaluate` module shopbench_sent_transformer: Cosine of all-MiniLM-L6-v2 embeddings (mean over references), floored at 0.

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("sent-transformer"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchSentTransformer(base.ShopBenchMetric):
    """Cosine of all-MiniLM-L6-v2 embeddings (mean over references), floored at 0."""

    metric = "sent-transformer"
