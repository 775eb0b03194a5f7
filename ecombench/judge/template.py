"""Grading templates: versioned text files kept in the repository; a template's sha256 is its identity.

A template is plain text with ``{field}`` placeholders. It is filled in one pass, so text in a question or an
answer that looks like a placeholder (``{target}``) is left as it is. ``kind`` says which grades the judge is
asked for and how its reply is read (``ecombench.judge.verdicts``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ecombench.errors import EcombenchError

TEMPLATES_DIR = Path(__file__).parent / "templates"
# kind -> the placeholders a template of that kind must hold
FIELDS: dict[str, tuple[str, ...]] = {
    "simpleqa": ("question", "target", "predicted_answer"),
    "rubric": ("question", "answer", "point"),
    "pairwise": ("question", "reference", "first", "second"),
}
# The bundled templates: name -> kind (the file is templates/<name>.txt). Provenance: docs/judged-tasks.md.
TEMPLATES: dict[str, str] = {
    "simpleqa_zh_v1": "simpleqa",
    "rubric_v1": "rubric",
    "pairwise_v1": "pairwise",
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Template:
    """A grading prompt: its name, kind and text; ``sha256`` (of the UTF-8 text) is what submissions record."""

    name: str
    kind: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def render(self, **values: str) -> str:
        """The prompt with every placeholder filled; a placeholder without a value is an error."""
        missing = sorted(set(_PLACEHOLDER.findall(self.text)) - set(values))
        if missing:
            raise EcombenchError(f"template {self.name}: no value for {', '.join(missing)}")
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)


def make_template(name: str, kind: str, text: str) -> Template:
    """A template checked against its kind: every placeholder the kind needs is there, and no other."""
    if kind not in FIELDS:
        raise EcombenchError(f"template {name}: kind {kind!r} is not one of {', '.join(FIELDS)}")
    found = set(_PLACEHOLDER.findall(text))
    if missing := [f for f in FIELDS[kind] if f not in found]:
        raise EcombenchError(f"template {name}: a {kind} template needs {', '.join('{' + f + '}' for f in missing)}")
    if extra := sorted(found - set(FIELDS[kind])):
        raise EcombenchError(
            f"template {name}: unknown placeholder {', '.join('{' + f + '}' for f in extra)} (a {kind} template has {', '.join(FIELDS[kind])})"
        )
    return Template(name, kind, text)


def load_template(name: str) -> Template:
    """A bundled template by name (``simpleqa_zh_v1``, ``rubric_v1``, ``pairwise_v1``)."""
    if name not in TEMPLATES:
        raise EcombenchError(f"unknown judge template {name!r}; use one of {', '.join(TEMPLATES)}")
    return make_template(name, TEMPLATES[name], (TEMPLATES_DIR / f"{name}.txt").read_text(encoding="utf-8"))


def template_from_file(path: Path, kind: str) -> Template:
    """A template of your own: a UTF-8 text file with the placeholders of ``kind``; named by its file stem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EcombenchError(f"{path}: cannot read the template ({getattr(exc, 'strerror', None) or exc})") from exc
    return make_template(path.stem, kind, text)
