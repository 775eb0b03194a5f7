"""The old home of the rule-set names: ``ecombench.metrics.rulesets`` holds them now (issue 35).

Kept while ``ecombench.run`` imports from here; import from ``ecombench.metrics.rulesets``.
"""

from __future__ import annotations

from ecombench.metrics.rulesets import (
    DEFAULT_BY_FORMAT,
    ECELLM,
    ECOMGPT,
    KDDCUP,
    RULES,
    SCORED_BY,
    SHOPPING_MMLU,
    SUBSTITUTES,
    inferred,
    substitutes,
    substitutes_note,
    unscorable,
)

__all__ = [
    "DEFAULT_BY_FORMAT",
    "ECELLM",
    "ECOMGPT",
    "KDDCUP",
    "RULES",
    "SCORED_BY",
    "SHOPPING_MMLU",
    "SUBSTITUTES",
    "inferred",
    "substitutes",
    "substitutes_note",
    "unscorable",
]
