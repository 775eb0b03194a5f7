"""`evaluate` module shopbench_micro_f1: Entity extraction micro F1: counts pooled over all rows, then one F1.

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("micro f1"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchMicroF1(base.ShopBenchMetric):
    """Entity extraction micro F1: counts pooled over all rows, then one F1."""

    metric = "micro f1"
