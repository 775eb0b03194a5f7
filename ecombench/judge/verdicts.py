"""Judge replies read strictly: a reply is one of its kind's grades or UNPARSEABLE, never a guess.

What is read, after surrounding whitespace: a reasoning block closed by ``</think>`` is passed over (the verdict
is what follows it); one optional label (``Grade:``, ``Verdict:``, ``Answer:``, ``评分：``, ``判定：``, ``答案：``,
``结果：``); markdown emphasis, quotes and brackets around the verdict; one closing ``.`` or ``。``. The verdict
is then the grade's letter (``A``), its name (``CORRECT``, ``not attempted``; for SimpleQA-style grading also
``正确``/``错误``/``未尝试``), or a letter followed by its names (``A: CORRECT``, ``A. 正确（CORRECT）``), each of
which must name the letter's grade. Anything else (``A or B``, a sentence, an empty reply, an unclosed
``<think>``) is UNPARSEABLE: counted, shown apart, and scored as the grader's docs say (as incorrect, as not met).
SimpleQA's own grader takes the first A, B or C anywhere in the reply; this reader does not.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Grade(StrEnum):
    CORRECT = "CORRECT"
    INCORRECT = "INCORRECT"
    NOT_ATTEMPTED = "NOT_ATTEMPTED"
    MET = "MET"
    NOT_MET = "NOT_MET"
    FIRST = "FIRST"  # pairwise: the answer shown first is better
    SECOND = "SECOND"
    TIE = "TIE"
    UNPARSEABLE = "UNPARSEABLE"


# kind -> letter -> grade, as the templates list them
LETTERS: dict[str, dict[str, Grade]] = {
    "simpleqa": {"A": Grade.CORRECT, "B": Grade.INCORRECT, "C": Grade.NOT_ATTEMPTED},
    "rubric": {"A": Grade.MET, "B": Grade.NOT_MET},
    "pairwise": {"A": Grade.FIRST, "B": Grade.SECOND, "C": Grade.TIE},
}
_WORDS: dict[str, dict[str, Grade]] = {
    "simpleqa": {"CORRECT": Grade.CORRECT, "INCORRECT": Grade.INCORRECT, "NOT_ATTEMPTED": Grade.NOT_ATTEMPTED}
    | {"正确": Grade.CORRECT, "错误": Grade.INCORRECT, "未尝试": Grade.NOT_ATTEMPTED},
    "rubric": {"MET": Grade.MET, "NOT_MET": Grade.NOT_MET},
    "pairwise": {"TIE": Grade.TIE},
}
_LABEL = re.compile(r"^(?:grade|verdict|answer|评分|判定|答案|结果)\s*[:：]\s*", re.IGNORECASE)
_WRAP = "*`\"'“”‘’「」"
_OPEN_CLOSE = {"(": ")", "[": "]", "（": "）", "【": "】"}
_LETTER_THEN_WORDS = re.compile(r"^([A-Za-z])\s*(?:[:：.．、)）\-]\s*|\s+|(?=[（(]))(.+)$", re.DOTALL)
_BRACKETED = re.compile(r"[（(]([^（）()]*)[）)]")


def _word(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip()).upper()


def _strip(text: str) -> str:
    text = text.strip().strip(_WRAP).strip()
    while len(text) >= 2 and _OPEN_CLOSE.get(text[0]) == text[-1]:
        text = text[1:-1].strip().strip(_WRAP).strip()
    return text


def _named(text: str, kind: str) -> Grade | None:
    """The grade that ``text`` names: a name, or a name with its other name in brackets (``正确（CORRECT）``)."""
    inner = _BRACKETED.findall(text)
    outer = _BRACKETED.sub(" ", text)
    words = _WORDS[kind]
    names = [_word(part) for part in [outer, *inner] if part.strip()]
    grades = {words.get(name) for name in names}
    return grades.pop() if len(grades) == 1 and None not in grades else None


def parse_verdict(reply: str, kind: str) -> Grade:
    """The grade a judge's reply gives under a template of ``kind`` (see the module docstring), or UNPARSEABLE."""
    letters = LETTERS[kind]
    text = reply
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    elif "<think>" in text:
        return Grade.UNPARSEABLE
    text = _strip(_LABEL.sub("", _strip(text)))
    text = _strip(text.removesuffix(".").removesuffix("。"))
    if not text:
        return Grade.UNPARSEABLE
    if len(text) == 1:
        return letters.get(text.upper(), Grade.UNPARSEABLE)
    if (named := _named(text, kind)) is not None:
        return named
    match = _LETTER_THEN_WORDS.match(text)
    if match and (grade := letters.get(match.group(1).upper())) is not None:
        return grade if _named(_strip(match.group(2)), kind) == grade else Grade.UNPARSEABLE
    return Grade.UNPARSEABLE
