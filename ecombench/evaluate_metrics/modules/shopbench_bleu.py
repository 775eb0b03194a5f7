"""`evaluate` module shopbench_bleu: Sentence BLEU / 100 of the output's first line (sacreBLEU, 13a tokenizer, lower-cased).

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("bleu"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchBleu(base.ShopBenchMetric):
    """Sentence BLEU / 100 of the output's first line (sacreBLEU, 13a tokenizer, lower-cased)."""

    metric = "bleu"
