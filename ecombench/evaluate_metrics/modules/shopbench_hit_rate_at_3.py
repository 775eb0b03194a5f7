"""`evaluate` module shopbench_hit_rate_at_3: Retrieval hit rate@3: share of the true items among the first 3 comma-separated numbers.

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("hit rate@3"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchHitRateAt3(base.ShopBenchMetric):
    """Retrieval hit rate@3: share of the true items among the first 3 comma-separated numbers."""

    metric = "hit rate@3"
