"""Contamination: which training records hold evaluation items, told apart from records that share templates.

The one place that decides what overlaps evaluation items; ``data inspect``, ``train``, ``sweep``, the core-record
builder and the leaderboard all use it.

**The rule** (docs/training.md, "Contamination", has the measurements behind each parameter).

1. Text is compared as *tokens*: lower-cased runs of letters and digits (punctuation, spacing and case never
   matter); each CJK character is a token of its own.
2. An evaluation item's **template** is what it shares with other evaluation items: a position covered by a
   ``NGRAM``-token sequence that also occurs in another item of its task, or in ``TEMPLATE_ITEMS`` items of the
   evaluation set. Its **content** is the rest: the product, the review, the question's particulars, the options.
3. A training record **covers** an item position when a ``NGRAM``-token sequence around it occurs in the record
   (prompt and answer, in any layout: chat templates, Alpaca and ShareGPT fields are all text). Coverage is per
   position, so an edit (a changed number, a dropped word) uncovers about one token, not a whole n-gram window.
4. A record **leaks** an item when it covers at least ``CONTENT_COVERAGE`` of the item's content and at least
   ``ITEM_COVERAGE`` of the whole item, or when its prompt equals the item's (case and spacing folded). Each
   record is judged on its own: copies count however many there are and in whatever files; wrapping the item in
   other instructions changes nothing, since coverage is of the item, not of the record.
5. A record that covers at least ``SHARED_RUN`` consecutive content tokens of an item without leaking it is
   **shared text** (typically a catalog title inside an unrelated question): reported, never refused.
6. An item with fewer than ``MIN_CONTENT`` content tokens (all template, say) is judged on the whole item:
   a record leaks it when it covers ``ITEM_COVERAGE_SMALL`` of it.

No count of training records enters the rule: a leak repeated any number of times stays a leak, and a
template stays a template however rarely it occurs in training.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ecombench.records import normalised_prompt

NGRAM = 8  # tokens in a compared sequence
TEMPLATE_ITEMS = 3  # a sequence in this many evaluation items (any task) is template; in 2 items of one task too
CONTENT_COVERAGE = 0.6  # a leak covers at least this share of an item's content tokens ...
ITEM_COVERAGE = 0.6  # ... and at least this share of all its tokens
MIN_CONTENT = 4  # an item with fewer content tokens is judged on the whole item ...
ITEM_COVERAGE_SMALL = 0.8  # ... which a leak covers at least this much
TEMPLATE_RECORDS = 3  # distinct training records that fill a slot beside the same item text make it template
GAP_SHARE = 0.2  # ... a record "fills a slot" where it leaves this share of the item (and 2 tokens) uncovered beside a shared run
ALIGN_RUN = 2  # matched tokens in a row that an anchor's alignment counts as covered (a lone equal word does not)
OFFSETS = 4  # alignments tried per record and item (the offsets with most anchors)
EXPAND_HOLDERS = 16  # an n-gram in more items than this is evaluation template everywhere: it anchors nothing
SHARED_RUN = NGRAM  # consecutive content tokens a record must cover to be reported as shared text
TEXT_SHOWN = 400  # characters of marked shared text kept per reported pair

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


class Record(Protocol):
    """A training record as the check reads it (``ecombench.train.sources.TrainRecord`` is one)."""

    @property
    def prompt(self) -> str: ...
    @property
    def completion(self) -> str: ...
    @property
    def where(self) -> str: ...


def tokens(text: str) -> list[str]:
    """The compared tokens of ``text`` (rule 1)."""
    return _TOKEN.findall(text.lower())


def spans(text: str) -> list[tuple[int, int]] | None:
    """(start, end) character offsets of each token of ``text``, as :func:`tokens` finds them; None in the rare
    text whose lower case tokenizes otherwise (a letter that lower-cases to two characters)."""
    found = [m.span() for m in _TOKEN.finditer(text)]
    return found if len(found) == len(tokens(text)) else None


@dataclass(frozen=True)
class Item:
    task: str
    index: int  # the item's position in its task
    prompt: str


@dataclass
class _Indexed:
    tokens: list[str]
    ids: list[int]  # token ids (``index_items``' vocabulary)
    template: int  # bit per position: template by the evaluation side (rule 2)
    trained_template: int = 0  # bit per position: template by the training side (rule 3)


@dataclass(frozen=True)
class Finding:
    """One record's overlap with one evaluation item."""

    record: int  # index of the record in the checked list
    item: int  # index of the item in the checked list
    kind: str  # "exact", "leak" or "shared" (see the module's rule)
    content_coverage: float  # share of the item's content tokens the record covers
    item_coverage: float  # share of all the item's tokens the record covers
    covered: int  # bit per item token: the record covers it
    template: int  # bit per item token: template (either side)


KINDS = ("exact", "leak", "shared")


@dataclass(frozen=True)
class Report:
    records: int  # training records checked
    items: list[Item]  # evaluation items checked against
    findings: list[Finding]  # every record-item pair that leaks or shares text: exact copies first, then leaks, then shared text
    where: list[str]  # file:line of each checked record
    template_share: float = 0.0  # share of evaluation tokens judged template
    checked_tasks: tuple[str, ...] = ()  # the evaluation tasks the records were checked against

    @property
    def leaking(self) -> frozenset[int]:
        """Indices of the records that leak some item (exact or by coverage)."""
        return frozenset(f.record for f in self.findings if f.kind != "shared")

    @property
    def exact(self) -> int:
        """Records whose prompt equals an item's."""
        return len({f.record for f in self.findings if f.kind == "exact"})

    @property
    def shared(self) -> int:
        """Records that share text with items without leaking any."""
        return len({f.record for f in self.findings if f.kind == "shared"} - self.leaking)

    @property
    def fraction(self) -> float:
        return len(self.leaking) / self.records if self.records else 0.0

    @property
    def tasks(self) -> dict[str, int]:
        """Evaluation task -> its items that some record leaks."""
        out: dict[str, set[int]] = {}
        for f in self.findings:
            if f.kind != "shared":
                out.setdefault(self.items[f.item].task, set()).add(f.item)
        return {t: len(v) for t, v in sorted(out.items())}

    @property
    def items_overlapped(self) -> int:
        return sum(self.tasks.values())

    def marked(self, finding: Finding) -> str:
        """The item's text with what the record covers marked, ``[[content]]`` apart from ``{{template}}``; text the
        record does not hold is plain. A long item is shown from shortly before its first covered content."""
        text = mark(self.items[finding.item].prompt, finding.covered, finding.template)
        if len(text) <= TEXT_SHOWN:
            return text
        start = max(0, text.find("[[") - 80) if "[[" in text else 0
        return ("..." if start else "") + text[start : start + TEXT_SHOWN] + "..."

    def finding_dict(self, f: Finding) -> dict[str, Any]:
        item = self.items[f.item]
        return {
            "kind": f.kind,
            "record": self.where[f.record] or f"record {f.record}",
            "task": item.task,
            "item": item.index,
            "content_coverage": round(f.content_coverage, 3),
            "item_coverage": round(f.item_coverage, 3),
            "text": self.marked(f),
        }

    def as_dict(self, findings: int | None = None) -> dict[str, Any]:
        """The counts, the rule and the findings: every one (exact copies first) or the first ``findings``."""
        shown = self.findings if findings is None else self.findings[:findings]
        return {
            "records": self.records,
            "eval_items": len(self.items),
            "checked_tasks": list(self.checked_tasks),
            "exact": self.exact,
            "leaking_records": len(self.leaking),
            "fraction": round(self.fraction, 6),
            "eval_tasks_overlapped": self.tasks,
            "eval_items_overlapped": self.items_overlapped,
            "shared_text_records": self.shared,
            "template_share": round(self.template_share, 4),
            "rule": RULE,
            "findings": [self.finding_dict(f) for f in shown],
            "findings_total": len(self.findings),
        }

    def line(self) -> str:
        """One line for the terminal."""
        head = f"contamination check: {self.records} training records against {len(self.items)} evaluation items: "
        shared = f"{self.shared} share catalog text with an item (reported, not counted)" if self.shared else ""
        if not self.leaking:
            return head + "no leak" + (f"; {shared}" if shared else "")
        worst = ", ".join(f"{t} ({n})" for t, n in sorted(self.tasks.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        return (
            head
            + f"{len(self.leaking)} records ({self.fraction:.2%}; {self.exact} exact copies) leak {self.items_overlapped} items, most in {worst}"
            + (f"; {shared}" if shared else "")
        )


RULE = (
    f"{NGRAM}-token sequences (lower-cased letters and digits; CJK characters one each) anchor an alignment; an item's template is "
    f"what it shares with another item of its task, with {TEMPLATE_ITEMS} evaluation items, or beside which {TEMPLATE_RECORDS} distinct "
    f"records fill a slot; a record leaks an item when it covers >= {CONTENT_COVERAGE:.0%} of its content and >= {ITEM_COVERAGE:.0%} of "
    f"the item (items with < {MIN_CONTENT} content tokens: all of it and >= {ITEM_COVERAGE_SMALL:.0%} of the item), or its prompt "
    "equals the item's; copies count however many"
)


def mark(prompt: str, covered: int, template: int) -> str:
    """``prompt`` with the covered tokens marked: ``[[...]]`` around content runs, ``{{...}}`` around template runs."""
    close = {"[[": "]]", "{{": "}}"}
    out: list[str] = []
    last, open_kind = 0, ""
    positions = spans(prompt)
    if positions is None:
        return " ".join(prompt.split())
    for i, (start, end) in enumerate(positions):
        kind = ("{{" if template >> i & 1 else "[[") if covered >> i & 1 else ""
        if kind != open_kind:
            out.append(close.get(open_kind, "") + prompt[last:start] + kind)
            open_kind = kind
        else:
            out.append(prompt[last:start])
        out.append(prompt[start:end])
        last = end
    out.append(close.get(open_kind, "") + prompt[last:])
    return " ".join("".join(out).split())


def index_items(items: Sequence[Item]) -> tuple[list[_Indexed], dict[str, int], dict[tuple[int, ...], list[tuple[int, int]]]]:
    """Each item's tokens and template positions from the evaluation side (rule 2), the token ids, and where each
    n-gram of token ids occurs in the items (an item shorter than ``NGRAM`` is one gram of its own length)."""
    vocab: dict[str, int] = {}
    indexed = []
    for item in items:
        toks = tokens(item.prompt)
        indexed.append(_Indexed(toks, [vocab.setdefault(t, len(vocab)) for t in toks], 0))
    where: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    for i, x in enumerate(indexed):
        n = min(NGRAM, len(x.ids))
        for p in range(len(x.ids) - n + 1):
            where.setdefault(tuple(x.ids[p : p + n]), []).append((i, p))
    for gram, holders in where.items():
        owners = {i for i, _ in holders}
        if len(owners) < 2:
            continue
        if len(owners) < TEMPLATE_ITEMS:
            tasks = [items[i].task for i in owners]
            if len(set(tasks)) == len(tasks):
                continue
        for i, p in holders:
            indexed[i].template |= ((1 << len(gram)) - 1) << p
    return indexed, vocab, where


def _runs(mask: int, n: int) -> list[tuple[int, int]]:
    """Maximal runs [start, end) of set bits among the first ``n``."""
    out: list[tuple[int, int]] = []
    p = 0
    while p < n:
        if mask >> p & 1:
            q = p
            while q < n and mask >> q & 1:
                q += 1
            out.append((p, q))
            p = q
        else:
            p += 1
    return out


def _diverging(mask: int, n: int) -> int:
    """The runs of ``mask`` beside which the record leaves at least ``max(2, GAP_SHARE * n)`` item tokens uncovered:
    where a record shares an item's text and then goes on with text of its own (a filled template slot)."""
    gap_min = max(2, math.ceil(GAP_SHARE * n))
    runs = _runs(mask, n)
    out = 0
    for k, (a, b) in enumerate(runs):
        left = a - (runs[k - 1][1] if k else 0)
        right = (runs[k + 1][0] if k + 1 < len(runs) else n) - b
        if left >= gap_min or right >= gap_min:
            out |= ((1 << (b - a)) - 1) << a
    return out


def check(records: Sequence[Record], items: Sequence[Item], checked_tasks: Sequence[str] = (), *, learn_templates: bool = True) -> Report:
    """Which records leak which items, and which only share text with them (the module's rule). Without
    ``learn_templates`` only the evaluation side says what is template (rule 2, not 3): stricter, and the same
    whichever records are checked together."""
    indexed, pairs = _cover(records, items, learn_templates)
    findings = [f for r, i, mask, exact in pairs if (f := _judge(r, i, indexed[i], mask, exact)) is not None]
    findings.sort(key=lambda f: (KINDS.index(f.kind), f.record, f.item))
    return Report(
        records=len(records),
        items=list(items),
        findings=findings,
        where=[record.where for record in records],
        template_share=_share(indexed),
        checked_tasks=tuple(checked_tasks),
    )


def _cover(records: Sequence[Record], items: Sequence[Item], learn_templates: bool = True) -> tuple[list[_Indexed], list[tuple[int, int, int, bool]]]:
    """The items with their template positions (both sides), and (record, item, covered positions, exact) of every
    record that covers some item position."""
    indexed, vocab, where = index_items(items)
    exact_of: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        exact_of.setdefault(normalised_prompt(item.prompt), []).append(i)
    short = sorted({len(g) for g in where if len(g) < NGRAM})
    starts = {g[0] for g in where if len(g) < NGRAM}
    pairs: list[tuple[int, int, int, bool]] = []  # (record, item, covered mask, exact)
    votes: dict[tuple[int, int], set[int]] = {}  # (item, position) -> texts of records that diverge beside it
    for r, record in enumerate(records):
        toks = tokens(record.prompt + "\n" + record.completion)
        ids: list[Any] = list(map(vocab.get, toks))  # None: a token no item holds
        offsets: dict[int, dict[int, int]] = {}  # item -> {record position - item position: anchors}
        for a, b in _known_runs(ids, NGRAM):
            for p in range(a, b - NGRAM + 1):
                holders = where.get(tuple(ids[p : p + NGRAM]))
                if holders is not None and len(holders) <= EXPAND_HOLDERS:
                    for i, q in holders:
                        seen = offsets.setdefault(i, {})
                        seen[p - q] = seen.get(p - q, 0) + 1
        if short:
            for p, first in enumerate(ids):
                if first is not None and first in starts:
                    for n in short:
                        for i, q in where.get(tuple(ids[p : p + n]), ()):
                            offsets.setdefault(i, {})[p - q] = 1
        exact = set(exact_of.get(normalised_prompt(record.prompt), ()))
        if not offsets and not exact:
            continue
        key = hash(" ".join(toks))
        for i in offsets.keys() | exact:
            x = indexed[i]
            mask = (1 << len(x.ids)) - 1 if i in exact else _aligned(x.ids, ids, offsets[i])
            if not mask:
                continue
            pairs.append((r, i, mask, i in exact))
            spread = _diverging(mask, len(x.ids)) if learn_templates else 0
            while spread:
                low = spread & -spread
                votes.setdefault((i, low.bit_length() - 1), set()).add(key)
                spread ^= low
    for (i, p), voters in votes.items():
        if len(voters) >= TEMPLATE_RECORDS:
            indexed[i].trained_template |= 1 << p
    return indexed, pairs


def _known_runs(ids: list[int | None], least: int) -> list[tuple[int, int]]:
    """Runs [start, end) of at least ``least`` tokens that all occur in some item (not None): only there can an
    n-gram of the record be an item's."""
    runs: list[tuple[int, int]] = []
    start = 0
    for p, token in enumerate(ids):
        if token is None:
            if p - start >= least:
                runs.append((start, p))
            start = p + 1
    if len(ids) - start >= least:
        runs.append((start, len(ids)))
    return runs


def _aligned(item: list[int], record: list[int | None], offsets: dict[int, int]) -> int:
    """Item positions whose token the record repeats at an anchor's offset, in runs of ``ALIGN_RUN`` or more: the
    anchors' own n-grams, and what lies between and beyond them when only some tokens were changed."""
    mask = 0
    n, m = len(item), len(record)
    for d, _ in sorted(offsets.items(), key=lambda kv: -kv[1])[:OFFSETS]:
        run = 0
        for p in range(max(0, -d), min(n, m - d)):
            if item[p] == record[p + d]:
                run += 1
                continue
            if run >= ALIGN_RUN:
                mask |= ((1 << run) - 1) << (p - run)
            run = 0
        if run >= ALIGN_RUN:
            mask |= ((1 << run) - 1) << (min(n, m - d) - run)
    return mask


def _share(indexed: list[_Indexed]) -> float:
    total = sum(len(x.tokens) for x in indexed)
    return sum((x.template | x.trained_template).bit_count() for x in indexed) / total if total else 0.0


def _judge(record: int, item: int, x: _Indexed, mask: int, exact: bool) -> Finding | None:
    n = len(x.tokens)
    template = x.template | x.trained_template
    content_mask = ((1 << n) - 1) & ~template
    content = content_mask.bit_count()
    on_content = (mask & content_mask).bit_count()
    content_coverage = on_content / content if content else 0.0
    item_coverage = (mask & ((1 << n) - 1)).bit_count() / n if n else 0.0
    if exact:
        kind = "exact"
    elif content < MIN_CONTENT:
        kind = "leak" if on_content == content and item_coverage >= ITEM_COVERAGE_SMALL else ""
    else:
        kind = "leak" if content_coverage >= CONTENT_COVERAGE and item_coverage >= ITEM_COVERAGE else ""
    if not kind:
        if max((b - a for a, b in _runs(mask & content_mask, n)), default=0) < SHARED_RUN:
            return None
        kind = "shared"
    return Finding(record, item, kind, content_coverage, item_coverage, mask, template)


def eval_items(tasks: Iterable[Any]) -> list[Item]:
    """Every item of the given tasks (``TaskInfo``-like: ``name`` and ``data_file``)."""
    out: list[Item] = []
    for task in tasks:
        if task.data_file is None:
            continue
        with task.data_file.open(encoding="utf-8") as handle:
            rows = (json.loads(line) for line in handle if line.strip())
            out.extend(Item(task.name, i, row["input_field"]) for i, row in enumerate(rows))
    return out


# ---------------------------------------------------------------------------------------------- lineage


def _counts(value: Any) -> dict[str, int] | None:
    """``{task: items}`` with positive whole counts, or None when ``value`` is not such a mapping (a hand-edited
    record counts as having no such key)."""
    if not isinstance(value, Mapping):
        return None
    out: dict[str, int] = {}
    for task, n in value.items():
        if not isinstance(task, str) or isinstance(n, bool) or not isinstance(n, int):
            return None
        if n > 0:
            out[task] = n
    return out


def _number(summary: Mapping[str, Any], key: str) -> int:
    value = summary.get(key, 0)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else 0


def leaking_records(summary: Mapping[str, Any]) -> int:
    """Leaking records in a lineage's contamination summary (records written before this rule counted 13-gram
    overlap as ``ngram_13``)."""
    return _number(summary, "leaking_records") if "leaking_records" in summary else _number(summary, "ngram_13")


def trained_overlap(summary: Mapping[str, Any] | None) -> dict[str, int]:
    """Evaluation task -> items leaked by the records a model was trained on, from a lineage's contamination
    summary (empty when none). Records written before the field derive it: what was found (``exact`` or
    overlapping records above 0), unless ``--decontaminate`` dropped it."""
    if not isinstance(summary, Mapping):
        return {}
    recorded = _counts(summary.get("trained_overlap"))
    if recorded is not None:
        return recorded
    if not (leaking_records(summary) > 0 or _number(summary, "exact") > 0) or _number(summary, "decontaminated") > 0:
        return {}
    return _counts(summary.get("eval_tasks_overlapped")) or {}


def checked_tasks(summary: Mapping[str, Any] | None) -> frozenset[str] | None:
    """The tasks the training data was checked against; None where the record does not say."""
    value = summary.get("checked_tasks") if isinstance(summary, Mapping) else None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return None
    return frozenset(value)


def contamination_text(summary: Mapping[str, Any]) -> str:
    """One line for a submission's page."""
    overlap = trained_overlap(summary)
    if overlap:
        return f"trained on records leaking {sum(overlap.values())} item(s) of {', '.join(sorted(overlap))}"
    dropped = _number(summary, "decontaminated")
    return "no leak in the training data" + (f" ({dropped} leaking record(s) dropped by --decontaminate)" if dropped else "")


# ---------------------------------------------------------------------------------------------- plain n-grams


_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int = 13) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams (the decontamination unit of GPT-3 and lm-eval)."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def drop_ngram_overlap(train: list[dict[str, Any]], eval_prompts: list[str], n: int = 13) -> tuple[list[dict[str, Any]], int]:
    """The training records (``prompt``/``completion`` dicts) that share no n-gram at all with the evaluation
    prompts, and how many were dropped: stricter than :func:`check`, for records that must share nothing."""
    banned: set[tuple[str, ...]] = set()
    for prompt in eval_prompts:
        banned |= ngrams(prompt, n)
    kept = [r for r in train if ngrams(r["prompt"] + " " + r["completion"], n).isdisjoint(banned)]
    return kept, len(train) - len(kept)
