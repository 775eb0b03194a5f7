"""``ecombench report``: a static web site that works offline (no CDN, no external request).

Pages: ``index.html`` (sortable leaderboard table and per-track bar charts as inline SVG), one
page per submission (settings, model identity, per-task scores), and ``compare.html`` (the top
two submissions: task deltas and the items that flipped). Every string that comes from a
submission (names, prompts, model outputs) goes through ``html.escape``; no submission text is
ever placed in a URL, a script or an event handler.
"""

from __future__ import annotations

import html
from pathlib import Path

from ecombench.io import atomic_write_text
from ecombench.leaderboard.compare import Comparison
from ecombench.leaderboard.render import columns
from ecombench.leaderboard.stats import shown_decimals
from ecombench.leaderboard.table import BoardTable
from ecombench.submissions import GenerationSettings, Submission

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th{background:#f3f3f3;cursor:pointer}
td.text,th.text{text-align:left}.flag{color:#a60}.sig{font-weight:bold;color:#060}pre{white-space:pre-wrap;max-width:60rem}
"""
# Sorts the table whose header is clicked; numbers compare as numbers. No data reaches this code.
SORT_JS = """document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.addEventListener('click', function(){
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.getAttribute('data-order') !== 'asc';
    th.closest('tr').querySelectorAll('th').forEach(function(h){ h.removeAttribute('data-order'); });
    th.setAttribute('data-order', asc ? 'asc' : 'desc');
    rows.sort(function(a, b){
      var x = a.cells[col].getAttribute('data-value'), y = b.cells[col].getAttribute('data-value');
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
      return asc ? c : -c;
    });
    rows.forEach(function(r){ body.appendChild(r); });
  });
});"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, body: str, script: bool = False) -> str:
    js = f"<script>{SORT_JS}</script>" if script else ""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}{js}</body></html>\n")


def _cell(value: object, column: str) -> str:
    if value is None or value != value:  # None or NaN
        return "<td data-value=''>-</td>"
    if column == "lora_rank":
        return f"<td data-value='{int(value)}'>{int(value)}</td>"
    if isinstance(value, float):
        shown = f"{value:.{4 if column == 'ci95' else shown_decimals(value)}f}"
        return f"<td data-value='{value!r}'>{shown}</td>"
    text = str(value)
    return f"<td class='text' data-value='{_e(text)}'>{_e(text)}</td>"


def _bars(table: BoardTable) -> str:
    """One horizontal bar chart per track, as inline SVG."""
    out = []
    tracks = [c for c in table.frame.columns if c.startswith("track:")]
    top = table.frame.head(15)
    for track in tracks:
        values = [(str(n), float(v)) for n, v in zip(top["name"], top[track], strict=True) if v == v]
        scale = max([abs(v) for _, v in values] + [1e-9])
        height = 22 * len(values) + 10
        bars = "".join(
            f"<text x='0' y='{22 * i + 16}' font-size='12'>{_e(n[:30])}</text>"
            f"<rect x='220' y='{22 * i + 4}' width='{300 * max(v, 0) / scale:.1f}' height='16' fill='#4a7'></rect>"
            f"<text x='{225 + 300 * max(v, 0) / scale:.1f}' y='{22 * i + 16}' font-size='12'>{v:.3f}</text>"
            for i, (n, v) in enumerate(values)
        )
        out.append(f"<h3>{_e(track.removeprefix('track:'))}</h3><svg width='600' height='{height}' role='img'>{bars}</svg>")
    return "".join(out)


def _index(table: BoardTable, has_compare: bool) -> str:
    cols = columns(table)
    head = "".join(f"<th class='{'text' if c in ('name', 'model', 'base', 'flags', 'date', 'submission') else ''}'>{_e(c)}</th>" for c in cols)
    rows = []
    for record in table.frame[cols].to_dict(orient="records"):
        cells = []
        for c in cols:
            if c == "name":
                cells.append(f"<td class='text' data-value='{_e(record[c])}'><a href='sub/{_e(record['submission'])}.html'>{_e(record[c])}</a></td>")
            else:
                value = record[c]
                cells.append(_cell(None if value is None or str(value) == "<NA>" else value, c))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    board = table.board
    link = "<p><a href='compare.html'>Comparison of the top two submissions</a></p>" if has_compare else ""
    body = (f"<h1>{_e(board.name)}</h1><p>{_e(board.description)}</p>"
            f"<p>Aggregation: task score, mean per track, All-Around = mean of tracks{'; tasks normalised against their random-guess baselines' if board.normalize else ''}. "
            f"Ranked by {_e(board.ranking)}; ci95 is the half-width of the 95% interval. Flagged rows are not ranked. Click a header to sort.</p>"
            + "".join(f"<p>{_e(note)}</p>" for note in table.notes) +
            f"{link}<table class='sortable' id='board'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<h2>Per track</h2>{_bars(table)}")
    return _page(f"{board.name} leaderboard", body, script=True)


def _lineage_rows(sub: Submission) -> list[tuple[str, object]]:
    lin = sub.lineage
    if lin is None:
        return []
    mixture = ", ".join(f"{t} ({n})" for t, n in lin.mixture.items())
    return [
        ("training", f"{lin.method} rank {lin.rank}, alpha {lin.alpha:g}, {lin.steps} steps, lr {lin.lr:g}, effective batch {lin.effective_batch}"),
        ("training mixture", mixture), ("training data sha256", lin.training_data_sha256),
        ("held out (never trained on)", f"{len(lin.held_out)} tasks"), ("contamination", f"{lin.contamination.get('ngram_13', 0)} records share a 13-gram"),
    ]


def _layout(gen: GenerationSettings) -> str:
    """How the answers were generated: ``hf, 2 processes`` or ``vllm, tensor parallel 4 x 2 replicas``."""
    if gen.backend == "vllm":
        return f"vllm, tensor parallel {gen.tensor_parallel} x {gen.data_parallel} replica{'s' if gen.data_parallel > 1 else ''}"
    return f"{gen.backend}, {gen.processes} process{'es' if gen.processes > 1 else ''}, batch size {gen.batch_size}"


def _submission_page(sub: Submission) -> str:
    held_in = set(sub.lineage.held_in) if sub.lineage else set()
    rows = "".join(
        f"<tr><td class='text'>{_e(t)}{' (held in)' if t in held_in else ''}</td><td class='text'>{_e(r.track)}</td><td class='text'>{_e(r.metric)}</td><td>{r.n}</td>"
        f"<td>{r.score:.4f}</td><td>{'-' if r.stderr is None else f'{r.stderr:.4f}'}</td><td class='text'>{_e(r.version)}</td></tr>"
        for t, r in sub.tasks.items()
    )
    settings = "".join(f"<tr><th class='text'>{_e(k)}</th><td class='text'>{_e(v)}</td></tr>" for k, v in [
        ("id", sub.id), ("created", sub.created.isoformat()), ("model", sub.model.spec), ("kind", sub.model.kind),
        ("base model", sub.model.base_model), ("weights sha256", sub.model.weights_sha256), ("adapter sha256", sub.model.adapter_sha256 or "-"),
        ("dtype", sub.model.dtype), ("protocol", sub.generation.protocol), ("system prompt", sub.generation.system_prompt or "-"),
        ("limit", sub.generation.limit or "-"), ("backend", _layout(sub.generation)), ("device", sub.hardware.device), ("duration", f"{sub.duration_s:.1f} s"),
        ("ecombench / lm-eval", f"{sub.ecombench_version} / {sub.lm_eval_version}"), ("skipped tasks", ", ".join(sub.skipped_tasks) or "-"),
        *_lineage_rows(sub),
    ])
    body = (f"<p><a href='../index.html'>back to the leaderboard</a></p><h1>{_e(sub.name)}</h1>"
            f"<p>All-Around {sub.all_around:.4f}; overall task mean {sub.overall_task_mean:.4f}</p>"
            f"<table>{settings}</table><h2>Tasks</h2><table class='sortable'><thead><tr><th class='text'>task</th><th class='text'>track</th>"
            f"<th class='text'>metric</th><th>n</th><th>score</th><th>stderr</th><th class='text'>version</th></tr></thead><tbody>{rows}</tbody></table>")
    return _page(sub.name, body, script=True)


def _compare_page(result: Comparison) -> str:
    rows = "".join(
        f"<tr><td class='text'>{_e(d.task)}</td><td>{d.a:.4f}</td><td>{d.b:.4f}</td><td class='{'sig' if d.significant else ''}'>{d.delta:+.4f}</td>"
        f"<td>{d.n_paired}</td><td>{d.same_answers}</td><td>{'-' if d.p_adjusted is None else f'{d.p_adjusted:.4f}'}</td></tr>"
        for d in result.tasks
    )
    flips = "".join(
        f"<h4>{_e(f.task)}</h4><pre>{_e(f.prompt)}</pre><p>target: <code>{_e(f.target)}</code></p>"
        f"<p>A ({f.score_a:.2f}): <code>{_e(f.prediction_a)}</code><br>B ({f.score_b:.2f}): <code>{_e(f.prediction_b)}</code></p>"
        for f in result.flips[:200]
    )
    body = (f"<p><a href='index.html'>back to the leaderboard</a></p><h1>{_e(result.b.name)} (B) vs {_e(result.a.name)} (A)</h1>"
            "<p>Paired bootstrap over items matched by content; p-values Holm-corrected across tasks; bold deltas are significant at 0.05.</p>"
            f"<table class='sortable'><thead><tr><th class='text'>task</th><th>A</th><th>B</th><th>delta</th><th>n paired</th><th>same answers</th><th>p (Holm)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table><h2>Flipped items ({len(result.flips)})</h2>{flips}")
    return _page("comparison", body, script=True)


def write_report(out: Path, table: BoardTable, subs: dict[str, Submission], comparison: Comparison | None) -> Path:
    """Write the site into ``out``; returns the index page."""
    (out / "sub").mkdir(parents=True, exist_ok=True)
    for sid in table.frame["submission"]:
        atomic_write_text(out / "sub" / f"{sid}.html", _submission_page(subs[sid]))
    if comparison is not None:
        atomic_write_text(out / "compare.html", _compare_page(comparison))
    atomic_write_text(out / "index.html", _index(table, comparison is not None))
    return out / "index.html"
