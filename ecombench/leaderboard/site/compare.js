/* Side by side: any two or more submissions. Per task, each against the first (the reference, A): both
   scores, the delta, and the paired test of `ecombench compare` as the report computed it in Python
   (data/pairs.js, `sitepairs`: exact tests, Holm's correction across the tasks of one pair, 95% intervals;
   the same figures as `ecombench compare --format json`). The report holds them for the pairs among the first
   runs of each board; for another pair the page says so. Then the items where they differ, the answers next
   to each other. */
"use strict";
(function () {
  var E = ECOM, el = E.el, $ = E.$;
  var ALPHA = 0.05, PAGE = 20;
  var st = E.state();
  var ids = (st.ids || "").split(",").filter(E.validId);
  var view = { mode: st.mode === "answer" ? "answer" : "score", task: st.task || "", page: +st.page || 0 };
  var names = [], subs = [], pairs = E.dict(), token = 0;

  function save() {
    E.setState({ ids: ids.join(","), mode: view.mode === "score" ? "" : view.mode, task: view.task, page: view.page || "" });
  }

  function tested(a, b) {  // sitepairs.pair_payload: task -> compare.task_json of the pair, oriented b against a; null if not held
    var key = a < b ? a + "|" + b : b + "|" + a, got = Object.prototype.hasOwnProperty.call(pairs, key) ? pairs[key] : null;
    if (!got || a < b) return got;
    var out = E.dict();  // stored as (b, a): the same test and p-values, the interval mirrored
    Object.keys(got).forEach(function (t) {
      var r = got[t], ci = r.ci95 ? [-r.ci95[1], -r.ci95[0]] : null;
      out[t] = { test: r.test, p: r.p, p_holm: r.p_holm, ci95: ci, ci95_note: r.ci95_note,
                 shown: [r.shown[0], ci ? "[" + fixed(ci[0]) + ", " + fixed(ci[1]) + "]" : "-"] };
    });
    return out;
  }

  function letter(slot) { return slot < 26 ? String.fromCharCode(65 + slot) : "B" + slot; }  // compare.run_letters: A, B, C, ...

  function cls(s) { return s > 0 ? (s === 1 ? 2 : 1) : 0; }  // compare's flip: across "> 0" or across "== 1"

  function byKey(sub) {  // task -> item hash -> item (the last of equal hashes, as compare's dict keeps)
    var out = E.dict();
    if (!sub.idx) return out;
    for (var i = 0; i < sub.idx.n; i++) {
      var t = sub.idx.tasks[sub.idx.task[i]];
      (out[t] = out[t] || E.dict())[sub.idx.key[i]] = i;
    }
    return out;
  }

  function pickers() {
    var box = E.clear($("pickers"));
    ids.forEach(function (sid, slot) {
      var select = el("select", { "data-slot": slot, "aria-label": slot ? "submission " + letter(slot) : "reference A" });
      names.forEach(function (n) { select.appendChild(el("option", { value: n[0], text: n[1] + " (" + n[0] + ")" })); });
      select.value = sid;
      select.onchange = function () { ids[slot] = select.value; view.page = 0; run(); };
      var label = slot === 0 ? "A (reference)" : letter(slot);
      var remove = ids.length > 2 ? el("button", { type: "button", text: "remove", onclick: function () { ids.splice(slot, 1); run(); } }) : null;
      box.appendChild(el("div", { class: "picker" }, [el("span", { text: label + " " }), select, remove]));
    });
    box.appendChild(el("button", { id: "add-picker", type: "button", text: "add a submission", onclick: function () {
      var next = names.filter(function (n) { return ids.indexOf(n[0]) < 0; })[0];
      if (next) { ids.push(next[0]); run(); }
    } }));
  }

  function load(sid) {
    return E.detail(sid).then(function (d) {
      return (d.items ? E.itemIndex(sid) : Promise.resolve(null)).then(function (idx) {
        var s = { id: sid, d: d, idx: idx };
        s.keys = byKey(s);
        return s;
      });
    });
  }

  function deltas(a, b) {  // compare.compare's deltas, with its paired tests from the report's data
    var tracks = E.dict(), scores = E.dict(), tests = tested(a.id, b.id);
    b.d.tasks.forEach(function (t) { scores[t[0]] = t[4]; });
    var shared = a.d.tasks.filter(function (t) { return Object.prototype.hasOwnProperty.call(scores, t[0]); });
    var out = [];
    shared.forEach(function (t) {
      var ka = a.keys[t[0]] || E.dict(), kb = b.keys[t[0]] || E.dict(), n = 0, same = 0;
      Object.keys(ka).forEach(function (key) {
        if (!Object.prototype.hasOwnProperty.call(kb, key)) return;
        n++;
        if (a.idx.answer[ka[key]] === b.idx.answer[kb[key]]) same++;
      });
      var r = tests && Object.prototype.hasOwnProperty.call(tests, t[0]) ? tests[t[0]] : null;
      out.push({ task: t[0], track: t[1], a: t[4], b: scores[t[0]], n: n, same: same, p: r ? r.p_holm : null,
                 shown: r ? r.shown : null, why: r ? (r.test + (r.ci95 ? "" : "; " + r.ci95_note)) : "" });
      (tracks[t[1]] = tracks[t[1]] || []).push(out[out.length - 1]);
    });
    return { rows: out, tracks: tracks, tested: tests !== null };
  }
  function fixed(v) { return (v >= 0 ? "+" : "") + v.toFixed(3); }

  function deltaTable(k, a, b, res) {
    var body = res.rows.map(function (r) {
      var sig = r.p !== null && r.p < ALPHA;
      var ci = r.shown ? r.shown[1] : null, p = r.shown ? document.createTextNode(r.shown[0]) : null;  // as ecombench compare prints them
      return { cells: [r.task, r.track, r.a, r.b, r.b - r.a, ci, r.n, r.same, p], keys: [r.task, r.track, r.a, r.b, r.b - r.a, ci, r.n, r.same, r.p],
               cls: sig ? "significant" : null, title: r.why,
               cellCls: { 4: sig ? (r.b >= r.a ? "sig win" : "sig loss") : "" } };  // a significant regression is not a win
    });
    var top = [], all = [0, 0], trackNames = Object.keys(res.tracks).sort();  // All-Around and the tracks on top, as the terminal's compare
    trackNames.forEach(function (track) {
      var rs = res.tracks[track], ma = 0, mb = 0;
      rs.forEach(function (r) { ma += r.a; mb += r.b; });
      ma /= rs.length; mb /= rs.length;
      all[0] += ma / trackNames.length; all[1] += mb / trackNames.length;
      top.push({ cells: ["track: " + track, "", ma, mb, mb - ma, null, null, null, null], cls: "track" });
    });
    if (trackNames.length) top.unshift({ cells: ["All-Around", "", all[0], all[1], all[1] - all[0], null, null, null, null], cls: "track" });
    body = top.concat(body);
    var box = el("section", { class: "pair" }, [el("h3", { text: "A: " + a.d.name + " vs " + letter(k) + ": " + b.d.name })]);
    if (!a.idx || !b.idx) box.appendChild(el("p", { text: "No paired test: the items of " + (!a.idx ? a.d.name : b.d.name) + " are not in this report." }));
    else if (!res.tested) box.appendChild(el("p", { class: "untested", text: "No paired test for this pair in this report (it holds them for the " +
      "first runs with items of each board, scored by the same rules): ecombench compare " + a.id + " " + b.id + " computes it." }));
    var t = E.table("deltas-" + k, ["task", "track", "A", "B", "delta", "95% CI", "n paired", "same answers", "p (Holm)"], body,
      [false, false, true, true, true, false, true, true, true]);
    Array.prototype.forEach.call(t.tBodies[0].rows, function (tr, i) {  // signs on deltas
      var r = body[i]; if (r && typeof r.cells[4] === "number") tr.cells[4].textContent = (r.cells[4] >= 0 ? "+" : "") + r.cells[4].toFixed(4);
      if (r && r.title) tr.title = r.title;  // the test, and why a task has no interval
    });
    box.appendChild(t);
    return box;
  }

  function differing() {  // items in every picked submission whose result class (or raw answer) is not the same in all
    var a = subs[0], out = [];
    if (!a.idx || subs.some(function (s) { return !s.idx; })) return out;
    for (var i = 0; i < a.idx.n; i++) {
      var task = a.idx.tasks[a.idx.task[i]], key = a.idx.key[i];
      if (a.keys[task][key] !== i) continue;  // a repeated hash: the last one stands for it
      if (view.task && task !== view.task) continue;
      var at = [i], differs = false, missing = false;
      for (var k = 1; k < subs.length; k++) {
        var m = subs[k].keys[task], j = m && Object.prototype.hasOwnProperty.call(m, key) ? m[key] : -1;
        if (j < 0) { missing = true; break; }
        at.push(j);
        if (view.mode === "score" ? cls(subs[k].idx.score[j]) !== cls(a.idx.score[i]) : subs[k].idx.answer[j] !== a.idx.answer[i]) differs = true;
      }
      if (!missing && differs) out.push(at);
    }
    return out;
  }

  function items() {
    var mine = ++token, hits = differing(), pages = Math.max(1, Math.ceil(hits.length / PAGE));
    view.page = Math.max(0, Math.min(view.page, pages - 1));
    save();
    $("diff-count").textContent = hits.length + " items " + (view.mode === "score" ? "scored differently (one right, one wrong or partial)" : "answered differently");
    E.pager($("diff-pager"), "diff", view.page, pages, hits.length, PAGE, function (p) { view.page = p; items(); });
    var page = hits.slice(view.page * PAGE, (view.page + 1) * PAGE);
    var wanted = [];
    page.forEach(function (at) { at.forEach(function (j, k) { wanted.push(item(subs[k], j)); }); });
    return Promise.all(wanted).then(function (texts) {
      if (mine !== token) return;
      var head = E.clear($("diff-items").tHead), body = E.clear($("diff-items").tBodies[0]);
      head.appendChild(el("tr", {}, [el("th", { class: "text", text: "task" }), el("th", { class: "text", text: "prompt" }),
        el("th", { class: "text", text: "target" })].concat(subs.map(function (s, k) {
          return el("th", { class: "text", text: letter(k) + ": " + s.d.name });
        }))));
      var n = 0;
      page.forEach(function (at) {
        var first = texts[n], a = subs[0];
        var cells = [el("td", { class: "text", text: a.idx.tasks[a.idx.task[at[0]]] }), el("td", { class: "text prompt", text: first[1] }),
                     el("td", { class: "text", text: first[2] })];
        at.forEach(function (j, k) {
          var t = texts[n++], s = subs[k].idx.score[j];
          cells.push(el("td", { class: "text answer " + (s >= 1 ? "correct" : s <= 0 ? "wrong" : "partial") }, [
            el("pre", { text: t[3] }), el("span", { class: "score", text: "score " + E.fmt(s) })]));
        });
        body.appendChild(el("tr", {}, cells));
      });
      document.body.setAttribute("data-ready", "1");
    });
  }
  function item(sub, j) {
    var k = Math.floor(j / sub.idx.chunk);
    return E.chunk(sub.id, k).then(function (c) { return c[j - k * sub.idx.chunk]; });
  }

  function run() {
    var mine = ++token;
    document.body.removeAttribute("data-ready");
    save();
    pickers();
    $("status").textContent = "loading\u2026";
    E.clear($("deltas"));
    Promise.all(ids.map(load)).then(function (loaded) {
      subs = loaded;
      subs.slice(1).forEach(function (b, k) {
        if (mine === token) $("deltas").appendChild(deltaTable(k + 1, subs[0], b, deltas(subs[0], b)));
      });
      return Promise.resolve().then(function () {
        if (mine !== token) return;
        $("status").textContent = "Paired tests of ecombench compare over items matched by task and item hash (McNemar's exact test for " +
          "0/1 item scores, a sign-flip permutation test for others; hover a row for its test), p-values Holm-corrected across the tasks " +
          "of each pair; bold deltas are significant at " + ALPHA + ". The 95% interval is of the mean item-score difference.";
        var task = $("diff-task");
        E.clear(task).appendChild(el("option", { value: "", text: "every task" }));
        subs[0].d.tasks.forEach(function (t) { task.appendChild(el("option", { value: t[0], text: t[0] })); });
        task.value = view.task;
        task.onchange = function () { view.task = task.value; view.page = 0; items(); };
        $("diff-mode").value = view.mode;
        $("diff-mode").onchange = function (ev) { view.mode = ev.target.value; view.page = 0; items(); };
        return items();
      });
    }).catch(function (err) { E.failed($("status"), err); });
  }

  $("nav").appendChild(E.nav("compare.html"));
  Promise.all([E.board(0), E.load("data/names.js", "names"), E.load("data/pairs.js", "pairs")]).then(function (got) {
    var b = got[0];
    names = got[1];
    pairs = got[2];
    if (ids.length < 2) {  // the top two ranked rows of the first board, the runner-up as reference (as the first report did)
      var ranked = [];
      for (var i = 0; i < b.data.rank.length; i++) if (b.data.rank[i] !== null) ranked.push(b.data.submission[i]);
      ids = ranked.length >= 2 ? [ranked[1], ranked[0]] : names.slice(0, 2).map(function (n) { return n[0]; });
    }
    if (ids.length < 2) {
      $("status").textContent = "Side by side needs two submissions; this report has one.";
      document.body.setAttribute("data-ready", "1");
      return;
    }
    run();
  }, function (err) { E.failed($("status"), err); });
  E.watch(E.staleBanner);
})();
