"""A model judge for open answers: templates, strict verdicts, a reply cache, SimpleQA metrics, agreement.

``grade`` (and ``grade_rubric``, ``grade_pairwise``) take any backend's greedy generation as a plain
``generate(prompts) -> replies`` callable; nothing here loads a model. See docs/judged-tasks.md.
"""

from __future__ import annotations

from ecombench.judge.cache import JudgeCache, cache_key
from ecombench.judge.grade import (
    Generate,
    JudgeItem,
    PairItem,
    PairResult,
    PositionBias,
    RubricItem,
    RubricResult,
    Usage,
    Verdict,
    grade,
    grade_pairwise,
    grade_rubric,
    position_bias,
    usage,
)
from ecombench.judge.metrics import SimpleQAScores, rubric_score, simpleqa_by_group, simpleqa_scores
from ecombench.judge.template import TEMPLATES, Template, load_template, template_from_file
from ecombench.judge.verdicts import Grade, parse_verdict

__all__ = [
    "TEMPLATES",
    "Generate",
    "Grade",
    "JudgeCache",
    "JudgeItem",
    "PairItem",
    "PairResult",
    "PositionBias",
    "RubricItem",
    "RubricResult",
    "SimpleQAScores",
    "Template",
    "Usage",
    "Verdict",
    "cache_key",
    "grade",
    "grade_pairwise",
    "grade_rubric",
    "load_template",
    "parse_verdict",
    "position_bias",
    "rubric_score",
    "simpleqa_by_group",
    "simpleqa_scores",
    "template_from_file",
    "usage",
]
