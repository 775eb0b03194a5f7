/* Pictures of a board, as inline SVG: a task x submission heatmap (each task scaled from its random
   baseline to the best score of a non-reference row on the board, or shown as it is where no row beats the baseline), a sweep's All-Around against the capabilities or tasks in its
   training mixture (a line per LoRA rank), and the lineage of trained adapters: base -> adapters. */
"use strict";
(function () {
  var E = ECOM, el = E.el, svg = E.svg, $ = E.$;
  var st = E.state();
  var view = { board: +st.board || 0, n: +st.n || 30, x: st.x === "tasks" ? "tasks" : "capabilities" };
  var board = null, lineage = [];
  var MAX_BASELINE = 0.95;  // stats.MAX_BASELINE: a task with a baseline this high is scaled from 0

  function save() { E.setState({ board: view.board || "", n: view.n === 30 ? "" : view.n, x: view.x === "tasks" ? "tasks" : "" }); }

  function colour(v) {  // 0: near white, 1: deep blue
    var a = [247, 251, 255], b = [8, 81, 156];
    return "rgb(" + a.map(function (x, i) { return Math.round(x + (b[i] - x) * v); }).join(",") + ")";
  }

  function heatmap() {
    var d = board.data, tasks = board.tasks, n = Math.min(view.n, d.name.length), C = 18, L = 230, T = 150;
    var box = E.clear($("heatmap"));
    if (!tasks.length || !n) { box.appendChild(el("p", { text: "No task scores on this board." })); return; }
    var best = E.dict(), scaled = E.dict();
    var models = d.reference.some(function (r) { return !r; });  // the oracle would make every real model white
    tasks.forEach(function (t) {
      var col = d["task:" + t] || [], m = null;
      col.forEach(function (v, i) { if (v !== null && (!models || !d.reference[i]) && (m === null || v > m)) m = v; });
      best[t] = m;
      var b = board.baselines[t];
      b = b === null || b >= MAX_BASELINE ? 0 : b;
      // from the baseline (white) to the best row (blue); where no row beats the baseline (a task every row
      // scored 0 on, say) there is no span to scale by, so the score is shown as it is: 0 white, 1 blue
      scaled[t] = function (v) { return Math.max(0, Math.min(1, m !== null && m > b ? (v - b) / (m - b) : v)); };
    });
    var chart = svg("svg", { id: "heatmap-chart", width: L + C * n + 160, height: T + C * tasks.length + 10, role: "img",
      "aria-label": "task by submission heatmap" });
    for (var i = 0; i < n; i++) {
      var x = L + C * i + C / 2;
      chart.appendChild(svg("text", { x: x, y: T - 6, transform: "rotate(-50 " + x + " " + (T - 6) + ")", "font-size": 11,
        class: d.reference[i] ? "reference" : null, text: String(d.name[i]).slice(0, 28) }));
    }
    tasks.forEach(function (t, j) {
      chart.appendChild(svg("text", { x: L - 6, y: T + C * j + 13, "text-anchor": "end", "font-size": 11, text: t.slice(0, 34) }));
      var col = d["task:" + t] || [];
      for (var i = 0; i < n; i++) {
        var v = col[i];
        if (v === null || v === undefined) continue;
        var s = scaled[t](v);
        chart.appendChild(svg("rect", { x: L + C * i, y: T + C * j, width: C - 1, height: C - 1, fill: colour(s), class: "cell" },
          [svg("title", { text: d.name[i] + " \u00b7 " + t + ": " + E.fmt(v) + " (scaled " + s.toFixed(2) + ")" })]));
      }
    });
    box.appendChild(chart);
    box.appendChild(el("p", { class: "legend", text: "The first " + n + " rows of the board. Each task is scaled from its random baseline " +
      "(0, white; 0 when the task has none) to the best score a submission that is not a reference row has on it (1, blue; " +
      "reference rows such as the oracle can go past it and show as 1). Where no such row beats the baseline, the score is shown " +
      "as it is (0 white, 1 blue): a task nobody solves stays white." }));
  }

  function rowsById() {
    var out = E.dict(), d = board.data;
    for (var i = 0; i < d.submission.length; i++) out[d.submission[i]] = i;
    return out;
  }

  function axes(chart, x0, y0, w, h, xs, ylo, yhi, xlabel, ylabel) {
    chart.appendChild(svg("line", { x1: x0, y1: y0, x2: x0 + w, y2: y0, class: "axis" }));
    chart.appendChild(svg("line", { x1: x0, y1: y0, x2: x0, y2: y0 - h, class: "axis" }));
    xs.forEach(function (v, i) {
      chart.appendChild(svg("text", { x: x0 + (xs.length > 1 ? w * i / (xs.length - 1) : w / 2), y: y0 + 16, "text-anchor": "middle", "font-size": 11, text: v }));
    });
    [ylo, (ylo + yhi) / 2, yhi].forEach(function (v, i) {
      chart.appendChild(svg("text", { x: x0 - 6, y: y0 - h * i / 2 + 4, "text-anchor": "end", "font-size": 11, text: E.fmt(v) }));
    });
    chart.appendChild(svg("text", { x: x0 + w / 2, y: y0 + 34, "text-anchor": "middle", "font-size": 12, text: xlabel }));
    chart.appendChild(svg("text", { x: 14, y: y0 - h / 2, transform: "rotate(-90 14 " + (y0 - h / 2) + ")", "text-anchor": "middle", "font-size": 12, text: ylabel }));
  }

  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

  function sweep() {
    var box = E.clear($("sweep")), where = rowsById(), d = board.data;
    var points = lineage.filter(function (l) { return Object.prototype.hasOwnProperty.call(where, l.id); });
    if (!points.length) { box.appendChild(el("p", { text: "No trained adapters on this board (ecombench train and ecombench sweep record their lineage)." })); return; }
    var groups = E.dict(), xs = [], lo = Infinity, hi = -Infinity;
    points.forEach(function (l) {
      var key = l.base_model + "\u0000" + l.rank, y = d.all_around[where[l.id]];
      (groups[key] = groups[key] || { base: l.base_model, rank: l.rank, pts: [] }).pts.push({ x: l[view.x], y: y, id: l.id });
      if (xs.indexOf(l[view.x]) < 0) xs.push(l[view.x]);
      lo = Math.min(lo, y); hi = Math.max(hi, y);
    });
    xs.sort(function (a, b) { return a - b; });
    if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
    var W = 420, H = 240, X0 = 80, Y0 = 280;
    var chart = svg("svg", { id: "sweep-chart", width: 720, height: 330, role: "img", "aria-label": "All-Around against the training mixture" });
    axes(chart, X0, Y0, W, H, xs, lo, hi, view.x === "tasks" ? "tasks in the training mixture" : "capabilities (tracks) in the training mixture", "All-Around");
    function px(v) { return X0 + (xs.length > 1 ? W * xs.indexOf(v) / (xs.length - 1) : W / 2); }
    function py(v) { return Y0 - H * (v - lo) / (hi - lo); }
    Object.keys(groups).sort().forEach(function (key, g) {
      var grp = groups[key], colour = PALETTE[g % PALETTE.length];
      grp.pts.sort(function (a, b) { return a.x - b.x; });
      chart.appendChild(svg("polyline", { class: "series", stroke: colour, fill: "none",
        points: grp.pts.map(function (p) { return px(p.x).toFixed(1) + "," + py(p.y).toFixed(1); }).join(" ") }));
      grp.pts.forEach(function (p) {
        chart.appendChild(svg("circle", { cx: px(p.x).toFixed(1), cy: py(p.y).toFixed(1), r: 4, fill: colour, class: "point" },
          [svg("title", { text: d.name[where[p.id]] + ": " + E.fmt(p.y) })]));
      });
      chart.appendChild(svg("text", { x: X0 + W + 20, y: 60 + 18 * g, fill: colour, "font-size": 12, text: "rank " + grp.rank + " \u00b7 " + grp.base }));
    });
    box.appendChild(chart);
  }

  function lineageView() {
    var box = E.clear($("lineage")), where = rowsById(), d = board.data;
    var kids = lineage.filter(function (l) { return Object.prototype.hasOwnProperty.call(where, l.id); });
    if (!kids.length) { box.appendChild(el("p", { text: "No trained adapters on this board." })); return; }
    var groups = E.dict();
    kids.forEach(function (l) { var key = (l.base || "") + "\u0000" + l.base_model; (groups[key] = groups[key] || { l: l, kids: [] }).kids.push(l); });
    var keys = Object.keys(groups).sort(), H = 26, height = 20, layout = [];
    keys.forEach(function (k) { layout.push(height); height += H * Math.max(1, groups[k].kids.length) + 24; });
    var chart = svg("svg", { id: "lineage-chart", width: 820, height: height, role: "img", "aria-label": "base models and their adapters" });
    keys.forEach(function (k, g) {
      var grp = groups[k], top = layout[g], base = grp.l.base, bi = base !== null && Object.prototype.hasOwnProperty.call(where, base) ? where[base] : -1;
      var by = top + (H * grp.kids.length) / 2 - H / 2;
      var baseScore = bi >= 0 ? d.all_around[bi] : null;
      chart.appendChild(svg("rect", { x: 4, y: by, width: 280, height: H - 6, class: "node base" }));
      chart.appendChild(svg("text", { x: 10, y: by + 14, "font-size": 12,
        text: bi >= 0 ? (d.name[bi] + ": " + E.fmt(baseScore)).slice(0, 44) : String(grp.l.base_model).slice(0, 20) + ": no run with these settings" },
        [svg("title", { text: bi >= 0 ? "the base's run with the adapters' settings" :
          "no run of " + grp.l.base_model + " on this board with the adapters' settings (protocol, system prompt, chat template, few-shot, limit)" })]));
      grp.kids.sort(function (a, b) { return d.all_around[where[b.id]] - d.all_around[where[a.id]]; });
      grp.kids.forEach(function (l, i) {
        var y = top + H * i, score = d.all_around[where[l.id]];
        chart.appendChild(svg("path", { class: "edge", d: "M284," + (by + (H - 6) / 2) + " C340," + (by + (H - 6) / 2) + " 340," + (y + (H - 6) / 2) + " 400," + (y + (H - 6) / 2) }));
        chart.appendChild(svg("rect", { x: 400, y: y, width: 410, height: H - 6, class: "node adapter" }));
        var delta = baseScore === null ? "" : " (" + (score - baseScore >= 0 ? "+" : "") + E.fmt(score - baseScore) + ")";
        chart.appendChild(svg("text", { x: 406, y: y + 14, "font-size": 12,
          text: (String(d.name[where[l.id]]).slice(0, 30) + " \u00b7 " + l.method + " r" + l.rank + ": " + E.fmt(score) + delta) }));
      });
    });
    box.appendChild(chart);
  }

  function draw() {
    save();
    heatmap(); sweep(); lineageView();
    document.body.setAttribute("data-ready", "1");
  }

  function start() {
    $("nav").appendChild(E.nav("charts.html"));
    var pick = $("chart-board");
    E.site().boards.forEach(function (b, i) { pick.appendChild(el("option", { value: i, text: b.name })); });
    pick.value = String(view.board);
    pick.onchange = function () { view.board = +pick.value; loadBoard(); };
    $("heat-n").value = String(view.n);
    $("heat-n").onchange = function (ev) { view.n = +ev.target.value; draw(); };
    $("sweep-x").value = view.x;
    $("sweep-x").onchange = function (ev) { view.x = ev.target.value; draw(); };
    E.load("data/lineage.js", "lineage").then(function (l) { lineage = l; loadBoard(); }, function (err) { E.failed($("heatmap"), err); });
    E.watch(E.staleBanner);
  }
  function loadBoard() {
    document.body.removeAttribute("data-ready");
    E.board(view.board).then(function (b) { board = b; $("chart-title").textContent = "Charts of " + b.name; draw(); },
      function (err) { E.failed($("heatmap"), err); });
  }
  start();
})();
