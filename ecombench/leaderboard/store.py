"""Reading a submissions folder for the leaderboard: bad files are skipped with a warning, never deleted."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.submissions import Submission, load


@dataclass
class Loaded:
    submissions: list[Submission] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_folder(folder: Path) -> Loaded:
    """Every ``*.json`` submission record in ``folder``; corrupt files and duplicate ids become warnings."""
    if not folder.is_dir():
        raise EcombenchError(f"{folder}: no submissions folder; make a first submission with: ecombench run --model builtin:tiny --submissions-dir {folder}")
    out = Loaded()
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            sub = load(path)
        except EcombenchError as exc:
            out.warnings.append(f"skipped {exc}")
            continue
        if sub.id in seen:
            out.warnings.append(f"duplicate submission id {sub.id} in {path.name} and {seen[sub.id].name}; the first is used")
            continue
        seen[sub.id] = path
        out.submissions.append(sub)
    if not out.submissions:
        raise EcombenchError(f"{folder}: no submissions yet; make a first one with: ecombench run --model builtin:tiny --submissions-dir {folder}")
    return out
