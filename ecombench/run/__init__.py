"""``ecombench run``: generate with lm-eval, score with ecombench, keep the run as a submission.

Modules: :mod:`.options` (what a run takes, and its refusals), :mod:`.stages` (select, build, generate, score,
record), :mod:`.identity` (the answer cache key, the machine), :mod:`.lm_eval_bridge` (model arguments, task
loading, few-shot and chat prompts, generation through lm-eval). Backends live in :mod:`ecombench.backends`.
"""

from ecombench.run.options import KDD_SYSTEM_PROMPT, SYSTEM_PROMPTS, JudgeOptions, RunOptions, check_options
from ecombench.run.stages import Built, RunResult, Scored, Selection, build_model, check_room, generate, record, run, score, select_tasks, write_predictions

__all__ = [
    "KDD_SYSTEM_PROMPT",
    "SYSTEM_PROMPTS",
    "Built",
    "JudgeOptions",
    "RunOptions",
    "RunResult",
    "Scored",
    "Selection",
    "build_model",
    "check_options",
    "check_room",
    "generate",
    "record",
    "run",
    "score",
    "select_tasks",
    "write_predictions",
]
