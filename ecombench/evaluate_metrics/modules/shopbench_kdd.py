"""`evaluate` module shopbench_kdd: The KDD Cup 2024 aggregation: task scores, track means, All-Around, over rows of any metric.

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("kdd"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchKdd(base.ShopBenchMetric):
    """The KDD Cup 2024 aggregation: task scores, track means, All-Around, over rows of any metric."""

    metric = "kdd"
