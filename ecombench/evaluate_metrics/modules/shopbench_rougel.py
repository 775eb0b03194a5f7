"""`evaluate` module shopbench_rougel: ROUGE-L F-measure with Porter stemming (rouge-score).

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("rougel"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchRougel(base.ShopBenchMetric):
    """ROUGE-L F-measure with Porter stemming (rouge-score)."""

    metric = "rougel"
