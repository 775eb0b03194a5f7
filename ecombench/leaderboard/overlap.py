"""What a trained run's lineage says about its training data overlapping the tasks it is scored on.

``ecombench train`` checks its training records against evaluation items (``ecombench.contamination``)
and keeps the result in the submission's ``lineage.contamination``: ``checked_tasks`` (the tasks it was
checked against) and ``trained_overlap`` (task -> that task's items leaked by the records actually
trained on; empty after ``--decontaminate``), read by ``ecombench.contamination.trained_overlap`` and
``checked_tasks`` (older records derive the overlap there). A run without lineage (a base model, a
reference row) trained on nothing here and is never flagged.

A board does not rank a row trained on its tasks' items (``board_flag``: the flag names the tasks and
items); a row whose training data was never checked against some board tasks keeps its rank with a note
(``unchecked_note``). ``ecombench compare`` says both for the tasks it compares (``compared``, ``lines``).
Pure functions of the record's values: a hand-edited record with other types in these keys counts as
having no such key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ecombench.contamination import checked_tasks, trained_overlap
from ecombench.submissions import Submission

CONTAMINATED = "contaminated"  # the flag's first word


def of(sub: Submission) -> tuple[dict[str, int], frozenset[str] | None]:
    """A submission's trained overlap and checked tasks (nothing and None without lineage)."""
    if sub.lineage is None:
        return {}, None
    return trained_overlap(sub.lineage.contamination), checked_tasks(sub.lineage.contamination)


def on(overlap: Mapping[str, int] | None, tasks: Iterable[str]) -> dict[str, int]:
    """The part of ``overlap`` on ``tasks``, in the order of ``tasks``."""
    if not overlap:  # most rows: no lineage, or nothing trained on
        return {}
    return {t: overlap[t] for t in dict.fromkeys(tasks) if t in overlap}


def unchecked(checked: frozenset[str] | None, tasks: Iterable[str]) -> list[str]:
    """The ``tasks`` the training data was not checked against (none where the record does not say)."""
    return [] if checked is None else [t for t in dict.fromkeys(tasks) if t not in checked]


def items_text(overlap: Mapping[str, int]) -> str:
    """``core_a (3 items), core_b (1 item)``."""
    return ", ".join(f"{t} ({n} item{'s' if n != 1 else ''})" for t, n in overlap.items())


def board_flag(overlap: Mapping[str, int] | None, tasks: list[str]) -> str:
    """The flag of a row trained on items of the board's ``tasks`` (``contaminated: trained on items of
    core_a (3 items)``), or "" when it was not."""
    hit = on(overlap, tasks)
    return f"{CONTAMINATED}: trained on items of {items_text(hit)}" if hit else ""


def unchecked_note(checked: frozenset[str] | None, tasks: list[str]) -> str:
    """``not checked against 2 of the board's 5 tasks``, or "" (all checked, or the record does not say)."""
    missing = unchecked(checked, tasks)
    return f"not checked against {len(missing)} of the board's {len(set(tasks))} tasks" if missing else ""


def compared(sub: Submission, tasks: list[str]) -> dict[str, Any]:
    """For ``compare --format json``: the compared ``tasks`` whose items ``sub``'s training data overlapped
    (task -> items), and those it was not checked against (None where the record does not say)."""
    overlap, checked = of(sub)
    return {"trained_overlap": on(overlap, tasks), "not_checked": None if checked is None else unchecked(checked, tasks)}


def lines(label: str, sub: Submission, tasks: list[str]) -> list[str]:
    """What ``compare`` prints under its table about run ``label``'s training data on the compared ``tasks``."""
    overlap, checked = of(sub)
    tasks = list(dict.fromkeys(tasks))
    out = []
    hit = on(overlap, tasks)
    if hit:
        out.append(f"contaminated {label}: {sub.name} ({sub.id}) was trained on records overlapping items of {items_text(hit)}; not a clean measure there")
    missing = unchecked(checked, tasks)
    if missing:
        out.append(f"not checked {label}: {sub.name}'s training data was not checked against {len(missing)} of the {len(tasks)} compared tasks")
    return out
