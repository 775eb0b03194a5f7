"""`evaluate` module shopbench_ndcg: Ranking NDCG: a comma-separated ranking of 1-based candidates against per-candidate gains.

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("ndcg"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchNdcg(base.ShopBenchMetric):
    """Ranking NDCG: a comma-separated ranking of 1-based candidates against per-candidate gains."""

    metric = "ndcg"
