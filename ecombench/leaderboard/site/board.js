/* The leaderboard page: one board at a time (picked from the boards the submissions cover), a page of rows
   at a time, so 10,000 submissions open as fast as ten. Search by name, hide flagged or reference rows,
   choose columns, sort by any column, pick rows to see side by side. */
"use strict";
(function () {
  var E = ECOM, el = E.el, $ = E.$;
  var PAGE = 100;
  var st = E.state();
  var current = { board: +st.board || 0, q: st.q || "", hf: st.hf === "1", hr: st.hr === "1", sort: st.sort || "",
                  dir: st.dir === "desc" ? "desc" : "asc", page: +st.page || 0, cols: st.cols ? st.cols.split(",") : null };
  var data = null, shown = [], picked = [];
  var TEXT = { name: 1, model: 1, base: 1, flags: 1, note: 1, date: 1, submission: 1 };
  var WRAP = { flags: 1, note: 1 };  // free text wraps between words; a name never does

  function save() {
    E.setState({ board: current.board || "", q: current.q, hf: current.hf ? "1" : "", hr: current.hr ? "1" : "",
                 sort: current.sort, dir: current.sort ? current.dir : "", page: current.page || "",
                 cols: current.cols ? current.cols.join(",") : "" });
  }

  // who is who first (rank, name, All-Around: on the first screen at 1280 px), then the other scores, what each
  // row's flags and notes say, and where it came from; model, base, source and date are in the column picker
  var FIRST = ["rank", "name", "all_around", "ci95", "win_rate"];
  var LATER = ["flags", "note", "held_out", "lora_rank"];
  var HIDDEN = { submission: 1, model: 1, base: 1, source: 1, date: 1 };
  var LABEL = { all_around: "All-Around", ci95: "\u00b1 95%", win_rate: "win rate", held_out: "held out", lora_rank: "LoRA rank" };
  function place(c) {
    var i = FIRST.indexOf(c), j = LATER.indexOf(c);
    if (i >= 0) return i;
    if (c.indexOf("track:") === 0) return FIRST.length;
    if (c.indexOf("task:") === 0) return FIRST.length + 1;
    return j >= 0 ? FIRST.length + 2 + j : FIRST.length + 2 + LATER.length;
  }
  function ordered(cols) {
    return cols.map(function (c, i) { return [place(c), i, c]; })
      .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; }).map(function (x) { return x[2]; });
  }
  // a header as shown: a track by its first word ("concept", "user"), a task without its suite's prefix; the
  // column's full name is its tooltip
  function label(c) {
    if (LABEL[c]) return LABEL[c];
    if (c.indexOf("track:") === 0) return c.slice(6).split("_")[0];
    if (c.indexOf("task:") === 0) return c.slice(5);
    if (c.indexOf("efficiency:") === 0) return c.slice(11).replace(/_/g, " ");
    return c;
  }
  function defaultColumns(cols) {
    return cols.filter(function (c) { return c.indexOf("task:") !== 0 && !HIDDEN[c]; });
  }
  function visible() {
    var cols = data.columns;
    return ordered(current.cols ? cols.filter(function (c) { return current.cols.indexOf(c) >= 0; }) : defaultColumns(cols));
  }

  function controls() {
    var pick = $("board-pick");
    E.site().boards.forEach(function (b, i) { pick.appendChild(el("option", { value: i, text: b.name + " (" + b.rows + " rows)" })); });
    pick.value = String(Math.min(current.board, E.site().boards.length - 1));
    pick.addEventListener("change", function () {
      current.board = +pick.value; current.page = 0; current.sort = ""; current.cols = null; picked = []; load();
    });
    var search = $("search"), timer = null;
    search.value = current.q;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { current.q = search.value; current.page = 0; filter(); }, 150);
    });
    $("hide-flagged").checked = current.hf;
    $("hide-flagged").addEventListener("change", function (ev) { current.hf = ev.target.checked; current.page = 0; filter(); });
    $("hide-reference").checked = current.hr;
    $("hide-reference").addEventListener("change", function (ev) { current.hr = ev.target.checked; current.page = 0; filter(); });
  }

  function columnChooser() {
    var box = E.clear($("column-list")), chosen = visible();
    data.columns.forEach(function (c) {
      var input = el("input", { type: "checkbox", "data-col": c, checked: chosen.indexOf(c) >= 0 ? "checked" : null });
      input.addEventListener("change", function () {
        var on = Array.prototype.filter.call(box.querySelectorAll("input"), function (i) { return i.checked; })
          .map(function (i) { return i.getAttribute("data-col"); });
        current.cols = on.length ? on : ["name"];
        render();
      });
      box.appendChild(el("label", { title: c }, [input, " " + c.replace(/^(track|task):/, "")]));
    });
  }

  function load() {
    E.board(current.board).then(function (b) {
      data = b;
      $("board-title").textContent = b.name;
      $("board-description").textContent = b.description;
      var notes = E.clear($("notes"));
      b.notes.forEach(function (n) { notes.appendChild(el("p", { text: n })); });
      columnChooser();
      filter();
      document.body.setAttribute("data-ready", "1");
    }, function (err) { E.failed($("notes"), err); });
  }

  function filter() {
    var d = data.data, n = d.name.length, q = current.q.toLowerCase();
    shown = [];
    for (var i = 0; i < n; i++) {
      var ref = d.reference[i], flagged = !ref && d.flags[i];
      if (current.hf && flagged) continue;
      if (current.hr && ref) continue;
      if (q && String(d.name[i]).toLowerCase().indexOf(q) < 0 && String(d.model[i] || "").toLowerCase().indexOf(q) < 0) continue;
      shown.push(i);
    }
    if (current.sort && Object.prototype.hasOwnProperty.call(d, current.sort)) {
      var col = d[current.sort], asc = current.dir === "asc";
      shown.sort(function (a, b) { return E.compare(col[a], col[b], asc) || a - b; });
    }
    render();
  }

  function render() {
    var cols = visible(), d = data.data, table = $("board");
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    current.page = Math.max(0, Math.min(current.page, pages - 1));
    var head = E.clear(table.tHead), body = E.clear(table.tBodies[0]);
    var tr = el("tr", {}, [el("th", { class: "pick", title: "pick rows to see side by side", text: "pick" })]);
    cols.forEach(function (c) {
      tr.appendChild(el("th", { class: (TEXT[c] ? "text " : "") + "col-" + c.split(":")[0], "data-col": c, text: label(c),
        title: c.replace(/^track:/, "track: ").replace(/^task:/, "task: ") + " (click to sort)",
        "data-order": current.sort === c ? current.dir : null, onclick: function () {
          current.dir = current.sort === c && current.dir === "asc" ? "desc" : "asc";
          current.sort = c; current.page = 0; filter();
        } }));
    });
    head.appendChild(tr);
    shown.slice(current.page * PAGE, (current.page + 1) * PAGE).forEach(function (i) {
      var sid = d.submission[i], ref = d.reference[i];
      var box = el("input", { type: "checkbox", "data-sid": sid, checked: picked.indexOf(sid) >= 0 ? "checked" : null,
        onchange: function (ev) { toggle(sid, ev.target.checked); } });
      var row = el("tr", { class: ref ? "reference" : d.flags[i] ? "flagged" : null }, [el("td", { class: "pick" }, [box])]);
      cols.forEach(function (c) {
        var v = d[c][i];
        if (c === "name") row.appendChild(el("td", { class: "text name" }, [el("a", { href: E.subLink(sid), text: v })]));
        else if (c === "rank" && ref) row.appendChild(el("td", { class: "badge", title: "reference row: shown for scale, not ranked", text: "ref" }));
        else if (c === "base" && d.model && v === d.model[i]) row.appendChild(el("td", { class: "text same", title: "the model itself", text: "" }));
        else row.appendChild(el("td", { class: (TEXT[c] ? "text" : "") + (WRAP[c] ? " wrap" : "") + (c === "all_around" ? " main" : ""), text: E.fmt(v, c) }));
      });
      body.appendChild(row);
    });
    E.pager($("board-pager"), "board", current.page, pages, shown.length, PAGE, function (p) { current.page = p; render(); });
    pickedLink();
    save();
  }

  function toggle(sid, on) {
    picked = picked.filter(function (s) { return s !== sid; });
    if (on) picked.push(sid);
    pickedLink();
  }
  function pickedLink() {
    var a = $("compare-picked");
    a.textContent = "side by side (" + picked.length + " picked)";
    if (picked.length >= 2) a.setAttribute("href", "compare.html#ids=" + picked.map(encodeURIComponent).join(","));
    else a.removeAttribute("href");
  }

  $("nav").appendChild(E.nav("index.html"));
  controls();
  load();
  E.watch(function () { location.reload(); });  // the fragment keeps the filters across the reload
})();
