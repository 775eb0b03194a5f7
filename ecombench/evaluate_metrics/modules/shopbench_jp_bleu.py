"""`evaluate` module shopbench_jp_bleu: BLEU / 100 with sacreBLEU's ja-mecab tokenizer, for Japanese references.

Load it with ``evaluate.load(ecombench.evaluate_metrics.path("jp-bleu"))``; ``compute()`` runs ecombench's scorer.
"""

from ecombench.evaluate_metrics import base


class ShopbenchJpBleu(base.ShopBenchMetric):
    """BLEU / 100 with sacreBLEU's ja-mecab tokenizer, for Japanese references."""

    metric = "jp-bleu"
