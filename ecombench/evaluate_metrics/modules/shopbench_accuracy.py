"""`evaluate` module shopbench_accuracy: Multiple-choice accuracy: the first character of the output read as the option number.

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("accuracy"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchAccuracy(base.ShopBenchMetric):
    """Multiple-choice accuracy: the first character of the output read as the option number."""

    metric = "accuracy"
