/* A submission's page: settings, a profile over tracks, per-task scores, and the item explorer (every item's
   prompt, raw output, parsed answer, target and score), filtered by task, track, result and free text.
   Filters run on a compact index of every item; the text of an item is loaded in chunks, only for the
   page shown (free-text search loads them all once). #id=ID&item=N opens one item. */
"use strict";
(function () {
  var E = ECOM, el = E.el, $ = E.$;
  var PAGE = 50, CUT = 300;
  var sid = null, idx = null, hay = null, f = null, token = 0;

  function readState() {
    var st = E.state();
    sid = st.id;
    f = { task: st.task || "", track: st.track || "", res: st.res || "", q: st.q || "", page: +st.page || 0,
          item: st.item !== undefined && st.item !== "" ? +st.item : null };
  }
  function save() {
    E.setState({ id: sid, task: f.task, track: f.track, res: f.res, q: f.q, page: f.page || "", item: f.item === null ? "" : f.item });
  }

  function filters() {  // the list's filters as a fragment tail, kept by the links to one item and back
    var p = new URLSearchParams();
    ["task", "track", "res", "q"].forEach(function (k) { if (f[k]) p.set(k, f[k]); });
    if (f.page) p.set("page", f.page);
    var tail = p.toString();
    return tail ? "&" + tail : "";
  }

  function cut(s) { s = String(s); return s.length > CUT ? s.slice(0, CUT) + "\u2026" : s; }

  function header(d) {
    document.title = d.name + " - ecombench";
    $("sub-name").textContent = d.name;
    $("sub-summary").textContent = "All-Around " + E.fmt(d.all_around) + "; overall task mean " + E.fmt(d.overall_task_mean) +
      (d.kind === "reference" ? " (a reference row: shown for scale, not ranked)" : "");
    var settings = E.clear($("settings"));
    d.settings.forEach(function (r) { settings.appendChild(el("tr", {}, [el("th", { class: "text", text: r[0] }), el("td", { class: "text", text: r[1] })])); });
    var tracks = E.dict();  // each track's mean task score (the record's track scores, recomputed from its tasks)
    d.tasks.forEach(function (t) { (tracks[t[1]] = tracks[t[1]] || []).push(t[4]); });
    Object.keys(tracks).forEach(function (k) { tracks[k] = tracks[k].reduce(function (a, b) { return a + b; }, 0) / tracks[k].length; });
    profile(tracks);
    var rows = d.tasks.map(function (t) {
      return { cells: [t[0] + (t[7] ? " (held in)" : ""), t[1], t[2], t[3], t[4], t[5], t[6]] };
    });
    E.clear($("tasks")).appendChild(E.table("task-table", ["task", "track", "metric", "n", "score", "stderr", "version"], rows,
      [false, false, false, true, true, true, false]));
  }

  function profile(tracks) {  // one bar per track, 0 to 1
    var names = Object.keys(tracks).sort(), W = 300, H = 24;
    var chart = E.svg("svg", { id: "profile-chart", width: 620, height: H * names.length + 10, role: "img",
      "aria-label": "score per track" });
    names.forEach(function (name, i) {
      var v = Math.max(0, Math.min(1, tracks[name])), y = H * i + 4;
      chart.appendChild(E.svg("text", { x: 0, y: y + 13, "font-size": 12, text: name }));
      chart.appendChild(E.svg("rect", { x: 230, y: y, width: W, height: 16, class: "frame" }));
      chart.appendChild(E.svg("rect", { x: 230, y: y, width: (W * v).toFixed(1), height: 16, class: "bar" },
        [E.svg("title", { text: name + ": " + E.fmt(tracks[name]) })]));
      chart.appendChild(E.svg("text", { x: 236 + W, y: y + 13, "font-size": 12, text: E.fmt(tracks[name]) }));
    });
    E.clear($("profile")).appendChild(chart);
  }

  function controls() {
    var task = $("f-task"), track = $("f-track");
    E.clear(task).appendChild(el("option", { value: "", text: "every task" }));
    idx.tasks.forEach(function (t) { task.appendChild(el("option", { value: t, text: t })); });
    E.clear(track).appendChild(el("option", { value: "", text: "every track" }));
    idx.tracks.filter(function (t, i, all) { return all.indexOf(t) === i; }).sort()
      .forEach(function (t) { track.appendChild(el("option", { value: t, text: t })); });
    task.value = f.task; track.value = f.track; $("f-result").value = f.res; $("f-text").value = f.q;
    task.onchange = function () { f.task = task.value; f.page = 0; list(); };
    track.onchange = function () { f.track = track.value; f.page = 0; list(); };
    $("f-result").onchange = function (ev) { f.res = ev.target.value; f.page = 0; list(); };
    var timer = null;
    $("f-text").oninput = function (ev) {
      clearTimeout(timer);
      timer = setTimeout(function () { f.q = ev.target.value; f.page = 0; list(); }, 200);
    };
  }

  function chunks() { return Math.ceil(idx.n / idx.chunk); }
  function item(i) {  // [doc_id, prompt, target, answer, parsed] of item i (its chunk loaded)
    var k = Math.floor(i / idx.chunk);
    return E.chunk(sid, k).then(function (c) { return c[i - k * idx.chunk]; });
  }
  function loadText() {  // every chunk, for free-text search
    if (hay) return Promise.resolve(hay);
    var all = [];
    for (var k = 0; k < chunks(); k++) all.push(E.chunk(sid, k));
    return Promise.all(all).then(function (cs) {
      hay = [];
      cs.forEach(function (c) {
        c.forEach(function (it) { hay.push((idx.tasks[idx.task[hay.length]] + "\n" + it[1] + "\n" + it[2] + "\n" + it[3] + "\n" + it[4]).toLowerCase()); });
      });
      return hay;
    });
  }

  function result(s) { return s >= 1 ? "correct" : s <= 0 ? "wrong" : "partial"; }

  function matching() {
    var out = [], ti = f.task ? idx.tasks.indexOf(f.task) : -2, q = f.q.toLowerCase();
    for (var i = 0; i < idx.n; i++) {
      var t = idx.task[i];
      if (f.task && t !== ti) continue;
      if (f.track && idx.tracks[t] !== f.track) continue;
      if (f.res && result(idx.score[i]) !== f.res) continue;
      if (q && hay[i].indexOf(q) < 0) continue;
      out.push(i);
    }
    return out;
  }

  function list() {
    var mine = ++token;
    save();
    $("item").hidden = true;
    $("item-list").hidden = $("item-controls").hidden = $("items-status").hidden = false;
    var ready = f.q ? ($("items-status").textContent = "loading every item for the search\u2026", loadText()) : Promise.resolve();
    ready.then(function () {
      if (mine !== token) return;
      var hits = matching(), pages = Math.max(1, Math.ceil(hits.length / PAGE));
      f.page = Math.max(0, Math.min(f.page, pages - 1));
      save();
      $("items-status").textContent = hits.length + " of " + idx.n + " items";
      var page = hits.slice(f.page * PAGE, (f.page + 1) * PAGE);
      E.pager($("items-pager"), "items", f.page, pages, hits.length, PAGE, function (p) { f.page = p; list(); });
      return Promise.all(page.map(item)).then(function (its) {
        if (mine !== token) return;
        var body = E.clear($("items").tBodies[0]);
        page.forEach(function (i, n) {
          var it = its[n], s = idx.score[i];
          body.appendChild(el("tr", { class: result(s), "data-item": i }, [
            el("td", {}, [el("a", { href: E.subLink(sid, filters() + "&item=" + i), text: "#" + i })]),
            el("td", { class: "text", text: idx.tasks[idx.task[i]] }), el("td", { text: E.fmt(s) }),
            el("td", { class: "text prompt", text: cut(it[1]) }), el("td", { class: "text", text: cut(it[3]) }),
            el("td", { class: "text", text: cut(it[4]) }), el("td", { class: "text", text: cut(it[2]) }),
          ]));
        });
        document.body.setAttribute("data-ready", "1");
      });
    }).catch(function (err) { E.failed($("items-status"), err); });
  }

  function one(i) {
    $("item-list").hidden = $("item-controls").hidden = $("items-status").hidden = true;
    var box = $("item");
    box.hidden = false;
    if (!(i >= 0 && i < idx.n)) { E.clear(box).appendChild(el("p", { text: "No item " + i + " in this submission." })); return; }
    item(i).then(function (it) {
      E.clear(box);
      box.appendChild(el("p", {}, [el("a", { href: E.subLink(sid, filters()), text: "all items" })]));
      box.appendChild(el("h3", { text: "Item #" + i + " of " + idx.n }));
      var rows = [["task", idx.tasks[idx.task[i]]], ["track", idx.tracks[idx.task[i]]], ["doc_id", it[0]], ["score", E.fmt(idx.score[i])],
                  ["prompt", it[1]], ["raw output", it[3]], ["parsed answer", it[4]], ["target", it[2]]];
      box.appendChild(el("dl", { id: "item-fields" }, rows.reduce(function (out, r) {
        return out.concat([el("dt", { text: r[0] }), el("dd", {}, [el("pre", { text: r[1] })])]);
      }, [])));
      box.scrollIntoView();
      document.body.setAttribute("data-ready", "1");
    }, function (err) { E.failed(box, err); });
  }

  function show() {
    if (f.item !== null) one(f.item); else list();
  }

  function start() {
    readState();
    $("nav").appendChild(E.nav(""));
    if (!E.validId(sid)) { $("sub-name").textContent = "No submission chosen: pick one on the leaderboard."; return; }
    E.detail(sid).then(function (d) {
      header(d);
      if (!d.items) {
        $("items-status").textContent = "No items in this report for this submission: its items file is missing, empty or could not be read.";
        $("item-controls").hidden = true;
        document.body.setAttribute("data-ready", "1");
        return;
      }
      return E.itemIndex(sid).then(function (index) { idx = index; controls(); show(); });
    }).catch(function (err) { E.failed($("items-status"), err); });
    window.addEventListener("hashchange", function () {
      var before = sid;
      readState();
      if (sid !== before) { location.reload(); return; }
      if (idx) { controls(); show(); }
    });
    E.watch(E.staleBanner);
  }
  start();
})();
