/* ecombench report: helpers shared by every page. No framework, nothing fetched from elsewhere.
   Data arrives as scripts (under data/ and items/) that call ECOM.put(key, value); pages add them with
   ECOM.load from file:// (where fetch is refused); over HTTP ECOM.load fetches the same values as JSON. Every string from a
   submission reaches the page through textContent or setAttribute, never through innerHTML. */
"use strict";
var ECOM = (function () {
  var store = new Map(), pending = new Map();  // keyed by names from submissions: never a plain object
  var SVG = "http://www.w3.org/2000/svg";
  var ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;  // submission ids are file names (submissions.FileSafe)

  // Every object of the data gets no prototype, so that a task or track named "constructor" or "__proto__"
  // is an ordinary key: it neither finds Object.prototype's members nor writes into Object.prototype.
  function bare(value) {
    if (Array.isArray(value)) { for (var i = 0; i < value.length; i++) if (value[i] && typeof value[i] === "object") value[i] = bare(value[i]); return value; }
    if (!value || typeof value !== "object") return value;
    var out = Object.create(null);
    Object.keys(value).forEach(function (k) { var v = value[k]; out[k] = v && typeof v === "object" ? bare(v) : v; });
    return out;
  }
  function dict() { return Object.create(null); }
  function put(key, value) { store.set(key, bare(value)); }

  function load(src, key, fresh) {
    if (!fresh && store.has(key)) return Promise.resolve(store.get(key));
    if (!fresh && pending.has(src)) return pending.get(src);
    var promise = /^https?:$/.test(location.protocol) ? fetchJson(src, key, fresh) : new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src + (fresh ? "?t=" + Date.now() : "");
      s.onload = function () {
        s.remove();
        if (store.has(key)) resolve(store.get(key)); else reject(new Error("no data in " + src));
      };
      s.onerror = function () { s.remove(); pending.delete(src); reject(new Error("cannot load " + src)); };
      document.head.appendChild(s);
    });
    if (!fresh) pending.set(src, promise);
    return promise;
  }

  // Over HTTP (report --serve) data is JSON fetched from the same origin: a page elsewhere cannot include it.
  function fetchJson(src, key, fresh) {
    var url = src.replace(/\.js$/, ".json") + (fresh ? "?t=" + Date.now() : "");
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("cannot load " + url);
      return r.json();
    }).then(function (value) { put(key, value); return store.get(key); }, function (e) { pending.delete(src); throw e; });
  }

  function node(doc, tag, attrs, children) {
    var n = doc(tag);
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") n.textContent = String(v);
      else if (k.slice(0, 2) === "on") n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, String(v));
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      n.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    });
    return n;
  }
  function el(tag, attrs, children) { return node(function (t) { return document.createElement(t); }, tag, attrs, children); }
  function svg(tag, attrs, children) { return node(function (t) { return document.createElementNS(SVG, t); }, tag, attrs, children); }

  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
  function $(id) { return document.getElementById(id); }

  var INTEGERS = { rank: 1, lora_rank: 1, n: 1, "n paired": 1, "same answers": 1 };
  function decimals(v) { return Math.abs(v) <= 1.5 ? 4 : 2; }  // stats.shown_decimals
  function fmt(v, column) {
    if (v === null || v === undefined || (typeof v === "number" && isNaN(v))) return "-";
    if (typeof v === "boolean") return v ? "yes" : "";
    if (typeof v !== "number") return String(v);
    if (INTEGERS[column]) return String(Math.round(v));
    return v.toFixed(column === "ci95" || column === "stderr" ? 4 : decimals(v));
  }

  function validId(sid) { return typeof sid === "string" && ID.test(sid) && sid.length <= 200; }

  function shardOf(sid, shards) {  // sitedata.shard_of: 32-bit FNV-1a of the id's (ASCII) characters
    var h = 0x811c9dc5;
    for (var i = 0; i < sid.length; i++) { h ^= sid.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
    return h % shards;
  }

  function site() { return store.get("site"); }

  function detail(sid) {
    if (!validId(sid)) return Promise.reject(new Error("not a submission id"));
    var k = shardOf(sid, site().shards);
    return load("data/subs/" + k + ".js", "subs:" + k).then(function (shard) {
      if (!Object.prototype.hasOwnProperty.call(shard, sid)) throw new Error("no submission " + sid + " in this report");
      return shard[sid];
    });
  }
  // A submission's item index: in its bundle (siteitems: the indexes of small submissions, by shardOf over
  // site().item_bundles), or alone in items/<id>.js (sitedata.index_file) when it is big.
  function itemIndex(sid) {
    if (!validId(sid)) return Promise.reject(new Error("not a submission id"));
    var own = function () { return load("items/" + sid + ".js", "items:" + sid); };
    var bundles = site().item_bundles;
    if (!bundles) return own();
    var k = shardOf(sid, bundles);
    return load("items/bundles/" + k + ".js", "bundle:" + k).then(function (bundle) {
      return Object.prototype.hasOwnProperty.call(bundle, sid) ? bundle[sid] : own();
    }, own);
  }
  var TEXTS = /^[0-9a-f]{16}$/;
  function texts(key) {  // a task's [prompt, target] per row of its data, stored once for every run of that data
    return TEXTS.test(key) ? load("items/texts/" + key + ".js", "texts:" + key) : Promise.reject(new Error("not a texts key"));
  }
  // Items k * chunk onwards as [doc_id, prompt, target, answer, parsed]; a prompt and target left null in the
  // chunk are the task data's row doc_id (sitedata.item_payload), read from the task's texts file.
  function chunk(sid, k) {
    return itemIndex(sid).then(function (idx) {  // a submission of one chunk keeps its rows in the index
      return Promise.all([idx.rows ? idx.rows.slice(k * idx.chunk, (k + 1) * idx.chunk) : load("items/chunks/" + sid + "." + k + ".js", "items:" + sid + ":" + k), idx]);
    }).then(function (got) {
      var rows = got[0], idx = got[1], start = k * idx.chunk, keys = [];
      rows.forEach(function (r, j) {
        var key = r[1] === null && idx.texts ? idx.texts[idx.task[start + j]] : null;
        if (key && keys.indexOf(key) < 0) keys.push(key);
      });
      if (!keys.length) return rows;
      return Promise.all(keys.map(texts)).then(function (files) {
        return rows.map(function (r, j) {
          if (r[1] !== null) return r;
          var text = files[keys.indexOf(idx.texts[idx.task[start + j]])][r[0]] || ["", ""];
          return [r[0], text[0], text[1], r[3], r[4]];
        });
      });
    });
  }
  function board(i) {
    var boards = site().boards;
    i = Math.max(0, Math.min(boards.length - 1, i | 0));
    return load("data/" + boards[i].file, "board:" + i);
  }

  // Page state lives in the URL fragment (#key=value&...), so every view can be linked to.
  function state() {
    var out = dict();
    new URLSearchParams(location.hash.slice(1)).forEach(function (v, k) { out[k] = v; });
    return out;
  }
  function setState(values) {
    var p = new URLSearchParams();
    Object.keys(values).forEach(function (k) { if (values[k] !== "" && values[k] !== null && values[k] !== undefined) p.set(k, values[k]); });
    var hash = p.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  function subLink(sid, extra) {  // only ids that are file names ever become links
    return validId(sid) ? "sub.html#id=" + encodeURIComponent(sid) + (extra || "") : null;
  }

  // Rows per page; shows "rows a-b of n" and previous / next buttons; calls back with the new page.
  function pager(container, prefix, page, pages, total, size, onPage) {
    clear(container);
    var first = total ? page * size + 1 : 0, last = Math.min(total, (page + 1) * size);
    container.appendChild(el("button", { id: prefix + "-prev", type: "button", disabled: page <= 0 ? "disabled" : null,
      onclick: function () { onPage(page - 1); } }, ["previous"]));
    container.appendChild(el("span", { id: prefix + "-info", class: "info",
      text: first + "\u2013" + last + " of " + total + " (page " + (pages ? page + 1 : 0) + " of " + pages + ")" }));
    container.appendChild(el("button", { id: prefix + "-next", type: "button", disabled: page >= pages - 1 ? "disabled" : null,
      onclick: function () { onPage(page + 1); } }, ["next"]));
  }

  // A sortable table of a few hundred rows (tasks of a submission, deltas): click a header to sort.
  function table(id, headers, rows, numeric) {
    var body = el("tbody");
    var t = el("table", { id: id, class: "sortable" }, [el("thead", {}, [el("tr", {}, headers.map(function (h, col) {
      return el("th", { class: numeric[col] ? "" : "text", text: h, onclick: function (ev) { sortBy(ev.target, col); } });
    }))]), body]);
    function fill(order) {
      clear(body);
      order.forEach(function (r) {
        body.appendChild(el("tr", { class: r.cls || null }, r.cells.map(function (c, col) {
          return c && c.nodeType ? el("td", { class: numeric[col] ? "" : "text" }, [c]) :
            el("td", { class: (numeric[col] ? "" : "text") + (r.cellCls && r.cellCls[col] ? " " + r.cellCls[col] : ""), text: fmt(c, headers[col]) });
        })));
      });
    }
    function sortBy(th, col) {
      var asc = th.getAttribute("data-order") !== "asc";
      Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("data-order"); });
      th.setAttribute("data-order", asc ? "asc" : "desc");
      fill(rows.slice().sort(function (a, b) { return compare(a.keys ? a.keys[col] : a.cells[col], b.keys ? b.keys[col] : b.cells[col], asc); }));
    }
    fill(rows);
    return t;
  }

  function compare(x, y, asc) {  // numbers as numbers, text as text, missing values last either way
    var nx = x === null || x === undefined || x === "", ny = y === null || y === undefined || y === "";
    if (nx || ny) return nx === ny ? 0 : nx ? 1 : -1;
    var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return asc ? c : -c;
  }

  // Served by `ecombench report --serve`: look for a rebuild every few seconds.
  function watch(onChange) {
    if (location.protocol !== "http:" && location.protocol !== "https:") return;
    setInterval(function () {
      load("data/stamp.js", "stamp", true).then(function (stamp) {
        if (stamp !== site().stamp) onChange();
      }, function () {});
    }, 3000);
  }
  function staleBanner() {
    if ($("stale")) return;
    document.body.insertBefore(el("p", { id: "stale", class: "banner" }, ["The report was rebuilt with new submissions. ",
      el("button", { type: "button", onclick: function () { location.reload(); } }, ["reload"])]), document.body.firstChild);
  }

  function nav(current) {
    var links = [["index.html", "leaderboard"], ["compare.html", "side by side"], ["charts.html", "charts"]];
    return el("nav", {}, links.map(function (l) {
      return el("a", { href: l[0], class: l[0] === current ? "current" : null }, [l[1]]);
    }));
  }

  function failed(where, err) {
    where.appendChild(el("p", { class: "error", text: "Could not show this: " + err.message }));
  }

  return { put: put, load: load, dict: dict, el: el, svg: svg, clear: clear, $: $, fmt: fmt, validId: validId, shardOf: shardOf,
           site: site, detail: detail, itemIndex: itemIndex, chunk: chunk, board: board, state: state, setState: setState,
           subLink: subLink, pager: pager, table: table, compare: compare, watch: watch, staleBanner: staleBanner, nav: nav,
           failed: failed };
})();
