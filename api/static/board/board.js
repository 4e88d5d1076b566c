/* The berth board: one plan from /v1/board/... drawn with vis-timeline (vendored under
   /static/vendor). Plain script, no build step, nothing fetched from outside this server.
   Timing marks for tests and people: window.boardTiming.{data,rendered} in ms since navigation. */
"use strict";
(function () {
  const $ = (s) => document.querySelector(s);
  const params = new URLSearchParams(location.search);
  const JOB = params.get("job"), LIVE = params.get("live");
  const KEY_STORE = "portsync-api-key";
  const CODES = {rail_ferry: "RF", ro_ro: "RR", container: "CT", general: "GC", dry_bulk: "DB", grain: "GR", liquid_bulk: "LB"};
  const STATUS_TEXT = {departed: "departed", at_berth: "at berth", frozen: "fixed (frozen)", planned: "planned"};
  const HOUR = 3600e3;
  window.boardTiming = {};

  const state = {data: null, timeline: null, items: null, groups: null, tz: "UTC", offsetMin: 0,
    byId: new Map(), search: "", hits: [], version: null, latest: null, follow: true,
    lastEventId: null, streamAbort: null, pollTimer: null, retryTimer: null, collapsed: false, file: false, wired: false};

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else if (v != null) e.setAttribute(k, v);
    }
    for (const k of kids) if (k != null) e.append(k);
    return e;
  }

  // ---- the API, with the key if the server wants one
  function headers(extra) {
    const h = Object.assign({Accept: "application/json"}, extra || {});
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) h["X-API-Key"] = key;
    return h;
  }
  async function api(path, opts) {
    const r = await fetch(path, Object.assign({}, opts, {headers: headers((opts || {}).headers)}));
    if (r.status === 401) { askKey(); throw new Error("an API key is needed"); }
    const body = r.headers.get("content-type") && r.headers.get("content-type").includes("json") ? await r.json() : await r.text();
    if (!r.ok) throw Object.assign(new Error((body && body.detail) || r.statusText), {status: r.status, body});
    return body;
  }
  function askKey() {
    const f = $("#keyform");
    f.hidden = false;
    $("#key").focus();
  }
  $("#keyform").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY_STORE, $("#key").value.trim());
    location.reload();
  });
  function banner(text) {
    const b = $("#banner");
    b.textContent = text || "";
    b.hidden = !text;
  }

  // ---- time: UTC or one zone, named on screen
  const partsFmt = new Map();
  function offsetOf(tz, ms) {
    if (tz === "UTC") return 0;
    if (!partsFmt.has(tz)) partsFmt.set(tz, new Intl.DateTimeFormat("en-GB", {timeZone: tz, hourCycle: "h23", year: "numeric",
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"}));
    const parts = partsFmt.get(tz).formatToParts(new Date(ms));
    const g = (t) => +parts.find((p) => p.type === t).value;
    const asUtc = Date.UTC(g("year"), g("month") - 1, g("day"), g("hour"), g("minute"), g("second"));
    return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
  }
  function fmtOffset(min) {
    const s = min < 0 ? "-" : "+", a = Math.abs(min);
    return `UTC${s}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
  }
  const fmtCache = new Map();
  function fmt(sec, tz) {
    if (sec == null) return "—";
    const key = tz || "UTC";
    if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat("en-GB", {timeZone: key, weekday: "short", day: "2-digit",
      month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23"}));
    return fmtCache.get(key).format(new Date(sec * 1000));
  }
  function portTz(portId) {
    const p = state.data.ports.find((x) => x.id === portId);
    return p && p.tz ? p.tz : "UTC";
  }
  function both(sec, portId) {
    const tz = portTz(portId);
    if (sec == null) return "—";
    return tz === "UTC" ? `${fmt(sec, "UTC")} UTC` : `${fmt(sec, tz)} local (${fmtOffset(offsetOf(tz, sec * 1000))}) · ${fmt(sec, "UTC")} UTC`;
  }
  function hm(min) {
    if (min == null) return "—";
    const a = Math.abs(min), h = Math.floor(a / 60), m = Math.round(a % 60);
    return `${min < 0 ? "-" : ""}${h} h ${String(m).padStart(2, "0")} min`;
  }
  function setZone(tz) {
    state.tz = tz;
    const [s, e] = state.data.view;
    state.offsetMin = offsetOf(tz, ((s + e) / 2) * 1000);
    const endOff = offsetOf(tz, e * 1000), startOff = offsetOf(tz, s * 1000);
    const ports = state.data.ports.filter((p) => p.tz === tz).map((p) => p.title.split(" · ")[0]);
    $("#zone-name").textContent = tz === "UTC" ? "Axis in UTC" :
      `Axis in local time: ${tz} (${fmtOffset(state.offsetMin)}${startOff !== endOff ? ", DST change in view: " + fmtOffset(startOff) + " → " + fmtOffset(endOff) : ""})${ports.length ? " · " + ports.join(", ") : ""}`;
    $("#zone-name").dataset.tz = tz;
    if (state.timeline) state.timeline.setOptions({moment: momentFor()});
  }
  function momentFor() {
    const off = state.offsetMin;
    return (date) => vis.moment(date).utcOffset(off);
  }

  // ---- the listing (no plan chosen)
  async function listing() {
    $("#listing").hidden = false;
    $("#title").firstChild.textContent = "Berth board";
    try {
      const [lives, jobs] = await Promise.all([api("/v1/live-plans"), api("/v1/schedules?limit=100")]);
      const lb = $("#live-list tbody"), jb = $("#job-list tbody");
      for (const p of lives.items) lb.append(el("tr", {}, el("td", {}, el("a", {href: `/board?live=${encodeURIComponent(p.id)}`, text: p.name || p.id})),
        el("td", {text: p.status}), el("td", {text: String(p.version)}), el("td", {text: p.now.replace("T", " ").slice(0, 16)}), el("td", {text: p.id})));
      for (const j of jobs.items) jb.append(el("tr", {}, el("td", {}, el("a", {href: `/board?job=${encodeURIComponent(j.id)}`, text: j.problem_name || j.id})),
        el("td", {text: j.status}), el("td", {text: String(j.calls)}), el("td", {text: String(j.created_at || "").replace("T", " ").slice(0, 16)}), el("td", {text: j.id})));
      if (!lives.items.length) lb.append(el("tr", {}, el("td", {colspan: 5, class: "muted", text: "No live plans yet (POST /v1/live-plans)."})));
      if (!jobs.items.length) jb.append(el("tr", {}, el("td", {colspan: 5, class: "muted", text: "No jobs yet (POST /v1/schedules)."})));
      await studies();
    } catch (err) { banner(`Could not list plans: ${err.message}`); }
  }
  // Capacity studies: each with its months per status; its plots drawn below on a click (fetched
  // with the API key, shown as images).
  async function studies() {
    const list = await api("/v1/studies"), sb = $("#study-list tbody");
    for (const s of list.items) {
      const done = s.counts.done || 0, all = Object.values(s.counts).reduce((a, b) => a + b, 0);
      const files = el("td", {});
      for (const f of ["demand.svg", "congestion.svg", "summary.csv", "knees.csv", "points.csv"]) {
        const a = el("a", {href: "#", text: f, class: "study-file"});
        a.addEventListener("click", (e) => { e.preventDefault(); openStudyFile(s, f); });
        files.append(a, " ");
      }
      sb.append(el("tr", {}, el("td", {text: s.name || s.id}), el("td", {text: s.status}),
        el("td", {text: `${done} / ${all} lived`}), el("td", {text: String(s.created_at).replace("T", " ").slice(0, 16)}),
        done ? files : el("td", {class: "muted", text: "no month lived yet"})));
    }
    if (!list.items.length) sb.append(el("tr", {}, el("td", {colspan: 5, class: "muted", text: "No capacity studies yet (POST /v1/studies, portsync study capacity)."})));
  }
  async function openStudyFile(s, name) {
    const r = await fetch(`/v1/studies/${encodeURIComponent(s.id)}/files/${name}`, {headers: headers({Accept: "*/*"})});
    if (!r.ok) { banner(`Could not fetch ${name}: ${r.statusText}`); return; }
    const url = URL.createObjectURL(await r.blob());
    if (name.endsWith(".csv")) { const a = el("a", {href: url, download: `study-${s.id.slice(0, 8)}-${name}`}); document.body.append(a); a.click(); a.remove(); return; }
    const box = $("#study-plots");
    box.replaceChildren(el("h3", {text: `${s.name || s.id}: ${name}`}), el("img", {src: url, alt: `${name} of study ${s.name || s.id}`, class: "study-plot"}));
  }

  // ---- one plan
  function dataUrl(version) {
    if (JOB) return `/v1/board/jobs/${encodeURIComponent(JOB)}`;
    return `/v1/board/live-plans/${encodeURIComponent(LIVE)}` + (version ? `?version=${version}` : "");
  }
  async function loadPlan(version) {
    for (let attempt = 0; ; attempt++) {
      try { return await api(dataUrl(version)); } catch (err) {
        if (err.status === 409 && attempt < 600) { banner(`${err.message}`); await sleep(1000); continue; }
        throw err;
      }
    }
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function callItem(c) {
    const fact = c.st !== "planned";
    const cls = ["call", `k-${c.k || ""}`, fact ? "fact" : "planned", `st-${c.st}`];
    if (c.l > 0) cls.push("late");
    if (state.data.changes[c.id]) cls.push("changed");
    if (c.br) cls.push("breach");
    return {id: c.id, group: c.b, start: c.s * 1000, end: c.e * 1000, className: cls.join(" "), label: c.n,
      code: (c.br ? "⚠ " : "") + (CODES[c.k] || "?")};
  }
  function tooltip(c) {
    const lines = [`<b>${esc(c.n)}</b> · ${esc(c.id)}${c.imo ? " · IMO " + esc(c.imo) : ""}`,
      `${esc(state.data.cargo[c.k] || c.k || "")} · ${esc(STATUS_TEXT[c.st])} · berth ${esc(c.b)}`,
      `RTA ${esc(both(c.a, c.p))}`, `berth ${esc(both(c.s, c.p))}`, `leaves ${esc(both(c.e, c.p))}`];
    if (c.w > 0) lines.push(`waits ${hm(c.w)} at anchorage`);
    if (c.sp != null) lines.push(`inbound ${c.sp} kn`);
    if (c.l > 0) lines.push(`late ${hm(c.l)}`);
    if (c.br) lines.push(`<b>⚠ breaks: ${esc(c.br.join(", ").replace(/_/g, " "))}</b>`);
    return lines.join("<br>");
  }
  function buildItems(d) {
    const out = [];
    for (const c of d.calls) {
      if (!visibleCall(c)) continue;
      out.push(callItem(c));
      if (c.a < c.s) out.push({id: `w:${c.id}`, group: c.b, start: c.a * 1000, end: c.s * 1000, className: "wait", type: "range"});
    }
    for (const p of d.ports) {
      if (!visiblePort(p)) continue;
      for (const [s, e, why] of p.closures || []) for (const b of p.berths) {
        if (visibleBerth(b.id)) out.push({id: `c:${p.id}:${s}:${b.id}`, group: b.id, start: s * 1000, end: e * 1000, type: "background", className: "closure", tip: `closure of ${p.title}: ${why}`});
      }
    }
    for (const [bid, ws] of Object.entries(d.maintenance || {})) {
      if (!visibleBerth(bid)) continue;
      for (const [s, e, why] of ws) out.push({id: `m:${bid}:${s}`, group: bid, start: s * 1000, end: e * 1000, type: "background", className: "maint", tip: `maintenance: ${why}`});
    }
    const [hs, he] = d.problem.horizon, [vs, ve] = d.view;
    if (vs < hs) out.push({id: "out:l", start: vs * 1000, end: hs * 1000, type: "background", className: "outside"});
    if (ve > he) out.push({id: "out:r", start: he * 1000, end: ve * 1000, type: "background", className: "outside"});
    return out;
  }
  function buildGroups(d) {
    const out = [];
    let order = 0;
    for (const p of d.ports) {
      if (!visiblePort(p)) continue;
      const berths = p.berths.filter((b) => visibleBerth(b.id));
      if (!berths.length) continue;
      out.push({id: `port:${p.id}`, port: true, title: p.title, sub: p.sub, order: order++, nestedGroups: berths.map((b) => b.id),
        showNested: !state.collapsed, className: "port", treeLevel: 1});
      for (const b of berths) out.push({id: b.id, title: b.label, sub: b.sub, order: order++, className: "berth", treeLevel: 2});
    }
    return out;
  }

  // ---- filters and search
  function f(id) { return $(id).value; }
  function visiblePort(p) { return !f("#f-port") || p.id === f("#f-port"); }
  function visibleBerth(bid) { return !f("#f-berth") || bid === f("#f-berth"); }
  function visibleCall(c) {
    if (f("#f-port") && c.p !== f("#f-port")) return false;
    if (f("#f-berth") && c.b !== f("#f-berth")) return false;
    if (f("#f-vessel") && c.vid !== f("#f-vessel") && c.n !== f("#f-vessel")) return false;
    if (f("#f-cargo") && c.k !== f("#f-cargo")) return false;
    if (f("#f-status") && c.st !== f("#f-status")) return false;
    return true;
  }
  function matches(c, q) {
    return c.id.toLowerCase().includes(q) || (c.n || "").toLowerCase().includes(q) || (c.imo || "").includes(q) || (c.vid || "").toLowerCase() === q;
  }
  function fillFilters(d) {
    const opt = (sel, value, text) => $(sel).append(el("option", {value, text}));
    const keep = (sel) => $(sel).value;
    const prev = {port: keep("#f-port"), berth: keep("#f-berth"), vessel: keep("#f-vessel"), cargo: keep("#f-cargo"), status: keep("#f-status")};
    for (const s of ["#f-port", "#f-berth", "#f-vessel", "#f-cargo", "#f-status"]) $(s).length = 1;
    for (const p of d.ports) opt("#f-port", p.id, p.title);
    for (const p of d.ports) for (const b of p.berths) opt("#f-berth", b.id, b.label);
    const vessels = new Map();
    for (const c of d.calls) vessels.set(c.vid || c.n, c.n);
    [...vessels.entries()].sort((a, b) => String(a[1]).localeCompare(String(b[1]))).forEach(([id, n]) => opt("#f-vessel", id, n === id ? n : `${n} (${id})`));
    for (const [k, label] of Object.entries(d.cargo)) opt("#f-cargo", k, `${label} [${CODES[k] || k}]`);
    for (const [k, label] of Object.entries(STATUS_TEXT)) if (d.calls.some((c) => c.st === k)) opt("#f-status", k, label);
    $("#f-port").value = prev.port; $("#f-berth").value = prev.berth; $("#f-vessel").value = prev.vessel;
    $("#f-cargo").value = prev.cargo; $("#f-status").value = prev.status;
  }
  function applyFilters() {
    const d = state.data;
    state.groups.clear(); state.groups.add(buildGroups(d));
    state.items.clear(); state.items.add(buildItems(d));
    applySearch();
  }
  function applySearch() {
    const q = $("#search").value.trim().toLowerCase();
    state.search = q;
    const list = $("#search-results");
    list.textContent = "";
    const updates = [];
    state.hits = [];
    for (const it of state.items.get({filter: (x) => x.className && x.className.startsWith("call")})) {
      const c = state.byId.get(it.id);
      const hit = q && matches(c, q);
      if (hit) state.hits.push(c);
      const base = it.className.replace(/ (hit|dim)\b/g, "");
      const cls = q ? `${base} ${hit ? "hit" : "dim"}` : base;
      if (cls !== it.className) updates.push({id: it.id, className: cls});
    }
    if (updates.length) state.items.update(updates);
    const unservedHits = q ? state.data.unserved.filter((u) => u.id.toLowerCase().includes(q) || (u.n || "").toLowerCase().includes(q) || (u.imo || "").includes(q)) : [];
    $("#search-count").textContent = q ? `${state.hits.length} call(s) on the board${unservedHits.length ? `, ${unservedHits.length} unserved` : ""}` : "";
    list.hidden = !q || (!state.hits.length && !unservedHits.length);
    for (const c of state.hits.slice(0, 50)) {
      list.append(el("li", {tabindex: 0, "data-call": c.id, text: `${c.n} · ${c.id}${c.imo ? " · IMO " + c.imo : ""} · ${c.b} · ${fmt(c.s, portTz(c.p))}`,
        onclick: () => openCall(c.id, true), onkeydown: (e) => { if (e.key === "Enter") openCall(c.id, true); }}));
    }
    for (const u of unservedHits.slice(0, 20)) {
      list.append(el("li", {tabindex: 0, "data-call": u.id, text: `${u.n || ""} · ${u.id} · unserved (${u.text})`,
        onclick: () => openUnserved(u.id), onkeydown: (e) => { if (e.key === "Enter") openUnserved(u.id); }}));
    }
  }

  // ---- the panel
  function dl(rows) {
    const d = el("dl");
    for (const [k, v] of rows) if (v != null && v !== "") d.append(el("dt", {text: k}), el("dd", {text: v}));
    return d;
  }
  function closePanel() { $("#panel").hidden = true; if (state.timeline) state.timeline.setSelection([]); }
  function openCall(id, focus) {
    const c = state.byId.get(id);
    if (!c) return;
    if (focus && state.timeline) {
      if (!state.items.get(id)) { for (const s of ["#f-port", "#f-berth", "#f-vessel", "#f-cargo", "#f-status"]) $(s).value = ""; applyFilters(); }
      state.timeline.setSelection([id]);
      state.timeline.focus(id, {animation: false});
    }
    const p = $("#panel");
    p.textContent = "";
    p.append(el("button", {class: "close", text: "✕", "aria-label": "Close", onclick: closePanel}),
      el("h3", {text: `${c.n} · ${c.id}`}));
    const tz = portTz(c.p);
    p.append(dl([["IMO", c.imo], ["port · berth", `${c.p} · ${c.b}`], ["cargo", `${state.data.cargo[c.k] || c.k || "?"} [${CODES[c.k] || "?"}]`],
      ["status", STATUS_TEXT[c.st]], ["RTA", both(c.a, c.p)], ["berths", both(c.s, c.p)], ["leaves", both(c.e, c.p)],
      ["inbound", c.sp != null ? `${c.sp} kn over ${c.nm} nm` : "first call of its voyage (no leg)"],
      ["fuel saved", c.fu != null ? `${c.fu} t (estimate)` : null],
      ["waiting", c.w > 0 ? `${hm(c.w)} at anchorage` : "none"], ["waiting at sea", c.sea ? hm(c.sea) : null],
      ["earliest start", c.es ? both(c.es, c.p) : null], ["requested departure", c.rd ? both(c.rd, c.p) : null],
      ["lateness", c.rd ? (c.l > 0 ? `${hm(c.l)} past the requested departure` : "on time") : "no requested departure"],
      ["latest departure", c.ld ? both(c.ld, c.p) : null]]));
    p.append(el("h4", {text: "Why it waited"}));
    const why = el("ul");
    if (!c.wf || !c.wf.length) why.append(el("li", {text: c.w > 0 ? "no reason recorded" : "it did not wait"}));
    for (const w of c.wf || []) {
      const li = el("li", {text: `${w.kind.replace(/_/g, " ")}: ${w.detail}${w.until ? ` (until ${fmt(w.until, tz)} local)` : ""}`});
      if (w.call) li.append(" ", el("a", {href: "#", text: `open ${w.call}`, onclick: (e) => { e.preventDefault(); openCall(w.call, true); }}));
      why.append(li);
    }
    p.append(why);
    const breaches = (state.data.breaches || []).filter((b) => b.id === c.id);
    if (breaches.length) {
      p.append(el("h4", {text: `⚠ Rule breaches (${breaches.length})`}));
      const ul = el("ul", {class: "breaches"});
      for (const b of breaches) ul.append(el("li", {text: `${b.kind.replace(/_/g, " ")}: ${b.detail}`}));
      p.append(ul);
    }
    if (c.lk && c.lk.length) {
      p.append(el("h4", {text: "Linked calls"}));
      const ul = el("ul");
      for (const k of c.lk) {
        const gap = `${k.min_h || 0} h${k.max_h != null ? ` to ${k.max_h} h` : " or more"}`;
        const li = el("li", {text: k.role === "after" ? `starts ${gap} after ${k.other} ends` : `${k.other} starts ${gap} after this ends`});
        li.append(" ", el("a", {href: "#", text: "open", onclick: (e) => { e.preventDefault(); openCall(k.other, true); }}));
        if (k.reason) li.append(el("div", {class: "muted", text: k.reason}));
        ul.append(li);
      }
      p.append(ul);
    }
    if (LIVE && !state.file) {
      p.append(el("h4", {text: `Change since version ${(state.version || 1) - 1}`}));
      const ch = state.data.changes[c.id];
      if (!ch) p.append(el("p", {class: "muted", text: state.version > 1 ? "unchanged" : "version 1: the first plan"}));
      else {
        p.append(dl([["cause", `${ch.cause || "?"}${ch.forced === true ? " (the repair had to move it)" : ch.forced === false ? " (the search chose to move it)" : ""}`],
          ["why", ch.reason], ["berth", ch.berth_before !== ch.berth_after ? `${ch.berth_before || "unserved"} → ${ch.berth_after || "unserved"}` : null],
          ["start moved", ch.start_shift != null ? hm(ch.start_shift) : null], ["RTA moved", ch.rta_shift != null ? hm(ch.rta_shift) : null],
          ["other call", ch.call]]));
        for (const ev of ch.events || []) p.append(el("p", {class: "event", text: `event ${ev.id}: ${ev.type || "?"} ${ev.event ? summary(ev.event) : ""}`}));
      }
    }
    const src = state.data.source || {};
    if (src.links) p.append(el("p", {}, el("a", {href: src.kind === "live" ? src.links.version : src.links.self, target: "_blank", rel: "noopener", text: "The plan as JSON"})));
    p.hidden = false;
  }
  function summary(ev) {
    const parts = [];
    for (const k of ["call_id", "port_id", "berth_id", "eta", "time", "start", "end", "now", "reason"]) if (ev[k]) parts.push(`${k} ${ev[k]}`);
    return parts.join(", ");
  }
  function openUnserved(id) {
    const u = state.data.unserved.find((x) => x.id === id);
    if (!u) return;
    const p = $("#panel");
    p.textContent = "";
    p.append(el("button", {class: "close", text: "✕", "aria-label": "Close", onclick: closePanel}), el("h3", {text: `${u.n || ""} · ${u.id}: unserved`}),
      dl([["IMO", u.imo], ["port", u.p], ["cargo", state.data.cargo[u.k] || u.k], ["kind", u.text]]));
    const ul = el("ul");
    for (const r of u.reasons) ul.append(el("li", {text: r}));
    p.append(el("h4", {text: "Reasons"}), ul);
    p.hidden = false;
  }

  // ---- KPIs, solver facts, unserved, warnings
  function facts(d) {
    const src = d.source || {};
    $("#title").firstChild.textContent = d.title;
    document.title = `${d.title} · berth board`;
    const nb = d.ports.reduce((n, p) => n + p.berths.length, 0);
    $("#facts").textContent = `${d.problem.name} · ${d.ports.map((p) => p.title).join(" · ")} · ${nb} berths · ${d.calls.length} calls on the board, ${d.unserved.length} unserved · horizon ${fmt(d.problem.horizon[0], "UTC")} to ${fmt(d.problem.horizon[1], "UTC")} UTC`;
    $("#json-link").hidden = !src.links;  // a plan opened from files has no address
    if (src.links) $("#json-link").href = src.kind === "live" ? src.links.version : src.links.self;
    const k = $("#kpis");
    k.textContent = "";
    if (d.kpis) {
      k.append(el("p", {class: "headline", text: d.kpis.headline}));
      for (const s of d.kpis.sections) {
        const t = el("table", {class: "kpis"});
        t.append(el("caption", {text: s.title}));
        const head = el("tr");
        d.kpis.columns.forEach((c) => head.append(el("th", {text: c})));
        t.append(el("thead", {}, head));
        const tb = el("tbody");
        for (const r of s.rows) {
          const tr = el("tr");
          r.forEach((cell, i) => {
            const td = el("td", {text: cell});
            if (d.kpis.columns[i] === "saving" && /^-?\d/.test(cell) && parseFloat(cell) !== 0) td.className = cell.startsWith("-") ? "worse" : "better";
            tr.append(td);
          });
          tb.append(tr);
        }
        t.append(tb);
        k.append(t);
      }
      for (const n of d.kpis.notes) k.append(el("p", {class: "muted", text: n}));
    }
    const s = d.solver || {};
    const by = src.kind === "file" ? `Plan from files (${src.shape === "plan" ? "a Plan" : "bare assignments"}), not solved here${d.solver && d.solver.status ? `; its solver facts: ${s.summary}` : ""}` : `Solver: ${s.summary || "no facts"}`;
    $("#solver").textContent = `${by} · ${s.served} served, ${s.unserved} unserved (${s.proven || 0} proven, ${s.not_found || 0} not found)`;
    const u = $("#unserved");
    u.textContent = "";
    if (d.unserved.length) {
      u.append(el("h2", {text: `Calls left unserved (${d.unserved.length})`}));
      const t = el("table", {id: "unserved-table"});
      t.append(el("thead", {}, el("tr", {}, ...["Call", "Vessel", "Port", "Kind", "Why"].map((h) => el("th", {text: h})))));
      const tb = el("tbody");
      for (const x of d.unserved) {
        tb.append(el("tr", {"data-call": x.id}, el("td", {}, el("a", {href: "#", text: x.id, onclick: (e) => { e.preventDefault(); openUnserved(x.id); }})),
          el("td", {text: x.n || ""}), el("td", {text: x.p || ""}), el("td", {text: x.text}), el("td", {text: x.reasons.join("; ")})));
      }
      t.append(tb);
      u.append(t);
    }
    breachList(d);
    const w = $("#warnings");
    w.textContent = "";
    if (d.warnings.length) {
      w.append(el("h2", {text: `Warnings (${d.warnings.length})`}));
      const ul = el("ul");
      for (const x of d.warnings) ul.append(el("li", {text: `${x.id || ""} ${x.kind}: ${x.detail}`}));
      w.append(ul);
    }
  }
  function breachList(d) {
    // a plan opened from files: every rule the independent checker finds it breaks
    const b = $("#breaches");
    b.textContent = "";
    if (!d.breaches) return;
    const frozen = (d.check && d.check.frozen_facts) || [];
    if (frozen.length) b.append(el("p", {class: "muted", text: `Frozen calls that break a rule by themselves (facts the plan keeps, not its fault): ${frozen.map((x) => `${x.id || ""} ${x.kind}`).join(", ")}`}));
    if (!d.breaches.length) { b.append(el("p", {class: "ok", text: "Rule check: the plan breaks no rule (independent checker)."})); return; }
    b.append(el("h2", {text: `⚠ Rule breaches (${d.breaches.length}): ${Object.entries(d.check.kinds).map(([k, n]) => `${k.replace(/_/g, " ")} ×${n}`).join(", ")}`}));
    const ul = el("ul", {id: "breach-list"});
    for (const x of d.breaches.slice(0, 500)) {
      const li = el("li", {"data-call": x.id || null, "data-kind": x.kind}, el("span", {class: "kind", text: x.kind.replace(/_/g, " ")}), " ");
      if (x.id && state.byId.has(x.id)) li.append(el("a", {href: "#", text: x.id, onclick: (e) => { e.preventDefault(); openCall(x.id, true); }}), " ");
      else if (x.id && d.unserved.some((u) => u.id === x.id)) li.append(el("a", {href: "#", text: x.id, onclick: (e) => { e.preventDefault(); openUnserved(x.id); }}), " ");
      else if (x.id) li.append(`${x.id} `);
      li.append(`— ${x.detail}`);
      ul.append(li);
    }
    if (d.breaches.length > 500) ul.append(el("li", {class: "muted", text: `… and ${d.breaches.length - 500} more (the counts per kind are in the heading)`}));
    b.append(ul);
  }
  function legend(d) {
    const L = $("#legend");
    L.textContent = "";
    for (const [k, label] of Object.entries(d.cargo)) {
      L.append(el("span", {}, el("span", {class: "sw", style: `background:var(--${k});border-color:var(--${k})`}), `${label} [${CODES[k] || k}]`));
    }
    L.append(el("span", {}, el("span", {class: "sw", style: "background:#fff;border-style:dashed"}), "planned (outlined, dashed)"),
      el("span", {}, el("span", {class: "sw", style: "background:#52606d"}), "at berth, departed or fixed (solid)"),
      el("span", {}, el("span", {class: "sw", style: "height:3px;background:#52606d;border:none"}), "waiting at anchorage"),
      el("span", {}, el("span", {class: "sw", style: "background:repeating-linear-gradient(135deg,rgba(213,94,0,.5) 0 4px,#fff 4px 8px);border:none"}), "port closure"),
      el("span", {}, el("span", {class: "sw", style: "background:repeating-linear-gradient(45deg,#555 0 2px,#fff 2px 6px);border:none"}), "berth maintenance"),
      el("span", {text: "! late · black ring: changed in this version · pink ring: search match · red line: now"}));
    if (d.breaches && d.breaches.length) L.append(el("span", {}, el("span", {class: "sw", style: "box-shadow:0 0 0 3px #b00020"}), "⚠ breaks a rule (listed below the board)"));
  }

  // ---- drawing
  function zoneChoices(d) {
    const sel = $("#tz");
    sel.length = 0;
    const zones = [...new Set(d.ports.map((p) => p.tz).filter(Boolean))];
    for (const z of zones) {
      const names = d.ports.filter((p) => p.tz === z).map((p) => p.title.split(" · ")[0]).join(", ");
      sel.append(el("option", {value: z, text: `local ${z} (${names})`}));
    }
    sel.append(el("option", {value: "UTC", text: "UTC"}));
    const saved = localStorage.getItem("portsync-board-tz");
    sel.value = saved && [...sel.options].some((o) => o.value === saved) ? saved : zones[0] || "UTC";
    return sel.value;
  }
  function groupTemplate(g) {
    if (!g) return "";
    const e = el("div", {class: "glabel", title: g.sub || ""}, g.title);
    if (g.sub) e.append(el("small", {text: g.sub}));
    return e;
  }
  function itemTemplate(item) {
    if (!item.label) return "";
    return el("span", {"data-call": item.id}, el("span", {class: "code", text: item.code}), item.label);
  }
  function firstWindow(d) {
    // A week opens whole; a longer plan on its first day, a live plan around its now
    const [vs, ve] = [d.view[0] * 1000, d.view[1] * 1000];
    const days = ve - vs > 14 * 24 * HOUR ? 1 : 7;
    if (d.now != null) {
      const s = Math.max(vs, d.now * 1000 - 6 * HOUR);
      return [s, Math.min(ve, s + days * 24 * HOUR)];
    }
    return [vs, Math.min(ve, vs + days * 24 * HOUR)];
  }
  function nowMs(d) { return d.now != null ? d.now * 1000 : Date.now(); }
  function render(d) {
    state.data = d;
    state.byId = new Map(d.calls.map((c) => [c.id, c]));
    $("#board").hidden = false;  // before the timeline is made: it measures its container
    fillFilters(d);
    facts(d);
    legend(d);
    if (!state.timeline) {
      setZone(zoneChoices(d));
      // The first screen gets the items it shows (and a day either side); the rest follow once
      // it is drawn, so a month opens as fast as a week.
      const [first0, first1] = firstWindow(d);
      const all = buildItems(d), lo = first0 - 24 * HOUR, hi = first1 + 24 * HOUR;
      const first = [], rest = [];
      for (const it of all) (it.end >= lo && it.start <= hi ? first : rest).push(it);
      state.items = new vis.DataSet(first);
      state.groups = new vis.DataSet(buildGroups(d));
      const drawn = () => requestAnimationFrame(() => requestAnimationFrame(() => {
        // drawn and shown (the library keeps the board hidden until its first full draw), painted
        window.boardTiming.rendered = performance.now();
        performance.mark("board-rendered");
        document.body.dataset.rendered = "1";
        setTimeout(() => {
          state.items.add(rest);
          applySearch();
          window.boardTiming.complete = performance.now();
          document.body.dataset.complete = "1";
        }, 0);
      }));
      const options = {stack: false, orientation: {axis: "top", item: "top"}, start: first0, end: first1,
        min: d.view[0] * 1000 - 7 * 24 * HOUR, max: d.view[1] * 1000 + 7 * 24 * HOUR, zoomMin: 15 * 60e3, zoomMax: 92 * 24 * HOUR,
        verticalScroll: true, maxHeight: Math.max(420, window.innerHeight - 220), groupOrder: "order", selectable: true,
        margin: {item: {horizontal: 0, vertical: 4}, axis: 4},
        template: itemTemplate, groupTemplate, moment: momentFor(), showCurrentTime: d.now == null, showMajorLabels: true,
        horizontalScroll: false, onInitialDrawComplete: drawn};
      const tl = new vis.Timeline($("#timeline"), state.items, state.groups, options);
      // vis-timeline 8.5.4 (pinned) shows itself at a redraw after its first range change; the
      // range is given here (start, end), so that change has nothing to wait for
      tl.initialRangeChangeDone = true;
      state.timeline = tl;
      // The library shows itself at the first redraw after its first range change, which nothing
      // asks for until its resize watch ticks (up to a second later): ask for it at once.
      tl.once("rangechanged", () => setTimeout(() => tl.redraw(), 0));
      if (d.now != null) tl.addCustomTime(d.now * 1000, "now");
      const tip = $("#tip");
      tl.on("itemover", (p) => {
        const c = state.byId.get(p.item);
        const it = state.items.get(p.item);
        tip.innerHTML = c ? tooltip(c) : it && it.tip ? esc(it.tip) : "";
        if (!tip.innerHTML) return;
        tip.hidden = false;
        const r = p.event.target.getBoundingClientRect ? p.event.target.getBoundingClientRect() : {left: 0, bottom: 0};
        tip.style.left = `${Math.min(r.left + window.scrollX, window.innerWidth - 440)}px`;
        tip.style.top = `${r.bottom + window.scrollY + 6}px`;
      });
      tl.on("itemout", () => { tip.hidden = true; });
      const zoomClass = () => {
        const [a, b] = windowSpan();
        $("#timeline").dataset.zoom = b - a > 4 * 24 * HOUR ? "far" : "near";
      };
      zoomClass();
      tl.on("rangechanged", zoomClass);
      tl.on("select", (p) => { if (p.items.length && state.byId.has(p.items[0])) openCall(p.items[0], false); });
    } else {
      applyFilters();
      if (d.now != null) {
        try { state.timeline.setCustomTime(d.now * 1000, "now"); } catch (e) { state.timeline.addCustomTime(d.now * 1000, "now"); }
      }
    }
    applySearch();
  }
  function windowSpan() { const w = state.timeline.getWindow(); return [w.start.getTime(), w.end.getTime()]; }
  function zoomTo(hours, centre) {
    // kept inside the plan's span: a month of a week's plan is the whole plan
    const [s, e] = windowSpan();
    const [vs, ve] = [state.data.view[0] * 1000, state.data.view[1] * 1000];
    const span = Math.min(hours * HOUR, ve - vs);
    let a = (centre != null ? centre : (s + e) / 2) - span / 2;
    a = Math.min(Math.max(a, vs), ve - span);
    state.timeline.setWindow(a, a + span, {animation: false});
  }
  function pan(frac) {
    const [s, e] = windowSpan();
    const dx = (e - s) * frac;
    state.timeline.setWindow(s + dx, e + dx, {animation: false});
  }
  function zoomBy(factor) { const [s, e] = windowSpan(); zoomTo(((e - s) / HOUR) * factor, (s + e) / 2); }
  function fit() { const [vs, ve] = state.data.view; state.timeline.setWindow(vs * 1000, ve * 1000, {animation: false}); }
  function goNow() {
    const [vs, ve] = state.data.view;
    let n = nowMs(state.data);
    if (n < vs * 1000 || n > ve * 1000) n = Math.min(Math.max(n, vs * 1000), ve * 1000);
    const [s, e] = windowSpan();
    zoomTo(Math.min((e - s) / HOUR, 24), n);
  }

  // ---- exports
  function download(name, blob) {
    const a = el("a", {href: URL.createObjectURL(blob), download: name});
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function csv() {
    const d = state.data;
    const q = (v) => { const s = v == null ? "" : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
    const iso = (s) => (s == null ? "" : new Date(s * 1000).toISOString().replace(".000Z", "Z"));
    const local = (s, p) => (s == null ? "" : `${fmt(s, portTz(p))} ${fmtOffset(offsetOf(portTz(p), s * 1000))}`);
    const head = ["call_id", "vessel", "vessel_id", "imo", "port", "berth", "cargo", "status", "arrival_utc", "berth_start_utc", "berth_end_utc",
      "arrival_local", "berth_start_local", "berth_end_local", "waiting_minutes", "lateness_minutes", "inbound_speed_kn", "waited_for", "reasons"];
    const rows = [head.join(",")];
    for (const c of d.calls) {
      rows.push([c.id, c.n, c.vid, c.imo, c.p, c.b, c.k, c.st, iso(c.a), iso(c.s), iso(c.e), local(c.a, c.p), local(c.s, c.p), local(c.e, c.p),
        c.w, c.l || 0, c.sp, (c.wf || []).map((w) => w.kind).join(" "), ""].map(q).join(","));
    }
    for (const u of d.unserved) rows.push([u.id, u.n, "", u.imo, u.p, "", u.k, `unserved ${u.text}`, "", "", "", "", "", "", "", "", "", "", u.reasons.join("; ")].map(q).join(","));
    const name = `${(d.problem.name || "plan").replace(/[^\w.-]+/g, "_")}${state.version ? "-v" + state.version : ""}.csv`;
    download(name, new Blob([rows.join("\n") + "\n"], {type: "text/csv"}));
    return rows.length - 1;
  }
  function png() {
    // Drawn from the board's data (not the page's pixels): the visible window and the rows shown.
    const d = state.data, [ws, we] = windowSpan();
    const groups = state.groups.get({order: "order"});
    const rows = [];
    for (const g of groups) {
      if (g.port) rows.push({port: true, g});
      else if (!state.collapsed) rows.push({port: false, g});
    }
    const L = 200, W = 1600, RH = 26, TOP = 60, H = TOP + rows.length * RH + 30;
    const cv = el("canvas", {width: W, height: H});
    const x = cv.getContext("2d");
    const X = (ms) => L + ((ms - ws) / (we - ws)) * (W - L - 10);
    x.fillStyle = "#fff"; x.fillRect(0, 0, W, H);
    x.fillStyle = "#111"; x.font = "bold 15px sans-serif";
    x.fillText(`${d.title} · ${$("#zone-name").textContent}`, 10, 20);
    x.font = "12px sans-serif";
    x.fillText(`${new Date(ws).toISOString().slice(0, 16)}Z to ${new Date(we).toISOString().slice(0, 16)}Z`, 10, 38);
    const step = [1, 3, 6, 12, 24, 48, 168].find((h) => ((h * HOUR) / (we - ws)) * (W - L) > 70) || 168;
    const off = state.offsetMin * 60e3;
    for (let t = Math.ceil((ws + off) / (step * HOUR)) * step * HOUR - off; t < we; t += step * HOUR) {
      x.strokeStyle = "#e5e9ef"; x.beginPath(); x.moveTo(X(t), TOP - 8); x.lineTo(X(t), H - 20); x.stroke();
      x.fillStyle = "#52606d";
      x.fillText(fmt(t / 1000, state.tz), X(t) + 2, TOP - 10);
    }
    const rowY = new Map();
    rows.forEach((r, i) => {
      const y = TOP + i * RH;
      x.fillStyle = r.port ? "#eef2f6" : i % 2 ? "#fafbfc" : "#fff"; x.fillRect(0, y, W, RH);
      x.fillStyle = "#111"; x.font = r.port ? "bold 12px sans-serif" : "12px sans-serif";
      x.fillText(r.g.title.slice(0, 28), 6, y + 17);
      if (!r.port) rowY.set(r.g.id, y);
    });
    const colour = (k) => getComputedStyle(document.documentElement).getPropertyValue(`--${k}`).trim() || "#999";
    for (const it of state.items.get()) {
      const y = rowY.get(it.group);
      if (y == null || it.end < ws || it.start > we) continue;
      const x0 = Math.max(X(it.start), L), x1 = Math.min(X(it.end), W - 10);
      if (it.className === "closure") { x.fillStyle = "rgba(213,94,0,.25)"; x.fillRect(x0, y, x1 - x0, RH); continue; }
      if (it.className === "maint") { x.fillStyle = "rgba(60,60,60,.25)"; x.fillRect(x0, y, x1 - x0, RH); continue; }
      if (it.className === "wait") { x.fillStyle = "#52606d"; x.fillRect(x0, y + 21, x1 - x0, 2); continue; }
      const c = state.byId.get(it.id);
      if (!c) continue;
      const fact = c.st !== "planned";
      x.fillStyle = fact ? colour(c.k) : "#fff"; x.fillRect(x0, y + 3, x1 - x0, 17);
      x.strokeStyle = colour(c.k); x.lineWidth = 2; x.setLineDash(fact ? [] : [4, 2]); x.strokeRect(x0, y + 3, x1 - x0, 17); x.setLineDash([]);
      x.fillStyle = "#111"; x.font = "11px sans-serif";
      x.save(); x.beginPath(); x.rect(x0, y, Math.max(x1 - x0, 0) + 60, RH); x.clip();
      x.fillText(`${CODES[c.k] || "?"} ${c.n}`, x0 + 3, y + 16); x.restore();
    }
    const n = nowMs(d);
    if (n >= ws && n <= we) { x.strokeStyle = "#a8071a"; x.lineWidth = 2; x.beginPath(); x.moveTo(X(n), TOP - 8); x.lineTo(X(n), H - 20); x.stroke(); }
    x.fillStyle = "#52606d"; x.font = "11px sans-serif";
    x.fillText("Solid: at berth / departed / fixed · outlined: planned · codes: RF rail ferry, RR Ro-Ro, CT container, GC general, DB dry bulk, GR grain, LB liquid bulk", 10, H - 6);
    cv.toBlob((b) => download(`${(d.problem.name || "plan").replace(/[^\w.-]+/g, "_")}-board.png`, b), "image/png");
    return {width: W, height: H, rows: rows.length};
  }

  // ---- live plans: stream, fallback polling, versions, events
  async function showVersion(n) {
    if (state.file) return;  // a plan opened from files replaced the live plan on this page
    const d = await loadPlan(n);
    if (state.file) return;
    state.version = d.source.version;
    state.latest = Math.max(state.latest || 0, d.source.latest);
    render(d);
    liveBar();
    document.body.dataset.version = String(state.version);
  }
  function liveBar() {
    $("#live-bar").hidden = false;
    const v = $("#version");
    v.max = String(state.latest);
    v.value = String(state.version);
    const ch = Object.keys(state.data.changes).length;
    $("#version-text").textContent = `version ${state.version} of ${state.latest}${state.version < state.latest ? " (looking back: the board follows the newest version again at the last step)" : ""} · ${ch} call(s) changed against version ${state.version - 1}` +
      (state.data.source.event_ids.length ? ` · events ${state.data.source.event_ids.join(", ")}` : "");
    const dlist = $("#ev-calls");
    if (dlist.childElementCount !== state.data.calls.length) {
      dlist.textContent = "";
      for (const c of state.data.calls) if (c.st === "planned") dlist.append(el("option", {value: c.id, text: `${c.n} ${fmt(c.a, portTz(c.p))}`}));
    }
    const ports = $("#ev-port");
    if (ports.length === 1) for (const p of state.data.ports) ports.append(el("option", {value: p.id, text: p.title}));
  }
  async function onNewVersion(n) {
    state.latest = Math.max(state.latest || 0, n);
    if (state.follow) await showVersion(n); else liveBar();
  }
  function setStream(text, broken) {
    $("#stream-state").textContent = text;
    banner(broken ? "Disconnected from the live plan's stream: reconnecting, and polling every 3 s meanwhile. The board may be behind." : "");
    document.body.dataset.stream = broken ? "down" : "up";
  }
  async function stream() {
    if (state.streamAbort) state.streamAbort.abort();
    const ctl = new AbortController();
    state.streamAbort = ctl;
    const h = headers({Accept: "text/event-stream"});
    const url = `/v1/live-plans/${encodeURIComponent(LIVE)}/stream` + (state.lastEventId == null ? `?after=${state.version || 0}` : "");
    if (state.lastEventId != null) h["Last-Event-ID"] = String(state.lastEventId);
    try {
      const r = await fetch(url, {headers: h, signal: ctl.signal, cache: "no-store"});
      if (!r.ok || !r.body) throw new Error(`stream answered ${r.status}`);
      setStream("following the stream", false);
      stopPolling();
      const reader = r.body.getReader(), dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += dec.decode(value, {stream: true});
        let i;
        while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
          const block = buf.slice(0, i); buf = buf.slice(i).replace(/^\r?\n\r?\n/, "");
          let id = null, type = "message", data = "";
          for (const line of block.split(/\r?\n/)) {
            if (line.startsWith("id:")) id = line.slice(3).trim();
            else if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (type === "version" && id) {
            state.lastEventId = +id;
            const n = JSON.parse(data).version;
            if (n > (state.latest || 0) || n > (state.version || 0)) await onNewVersion(n);
          }
        }
      }
      throw new Error("the stream ended");
    } catch (err) {
      if (ctl.signal.aborted && state.streamAbort !== ctl) return;
      setStream(`stream lost (${err.message}); retrying`, true);
      startPolling();
      clearTimeout(state.retryTimer);
      state.retryTimer = setTimeout(stream, 5000);
    }
  }
  function startPolling() {
    if (state.pollTimer) return;
    state.pollTimer = setInterval(async () => {
      try {
        const p = await api(`/v1/live-plans/${encodeURIComponent(LIVE)}`);
        if (p.version > (state.latest || 0)) { state.lastEventId = p.version; await onNewVersion(p.version); }
      } catch (e) { $("#stream-state").textContent = `polling failed: ${e.message}`; }
    }, 3000);
  }
  function stopPolling() { clearInterval(state.pollTimer); state.pollTimer = null; }
  function localInput(sec) { return new Date(sec * 1000).toISOString().slice(0, 16); }
  async function postEvent(e) {
    e.preventDefault();
    const kind = $("#ev-type").value, out = $("#ev-result");
    const id = `board-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const utc = (v) => (v ? `${v.slice(0, 16)}:00Z` : null);
    let body;
    if (kind === "eta") body = {event_id: id, type: "eta", source: "berth board", call_id: $("#ev-call").value.trim(), eta: utc($("#ev-eta").value)};
    else body = {event_id: id, type: "closure", source: "berth board", port_id: $("#ev-port").value || null, start: utc($("#ev-start").value), end: utc($("#ev-end").value), reason: $("#ev-reason").value};
    out.textContent = "posting…";
    try {
      const r = await api(`/v1/live-plans/${encodeURIComponent(LIVE)}/events`, {method: "POST", body: JSON.stringify(body), headers: {"Content-Type": "application/json"}});
      out.textContent = `accepted (${r.accepted.join(", ")}): it goes into version ${r.version}`;
      state.follow = true;
    } catch (err) {
      const errs = err.body && err.body.errors ? err.body.errors.map((x) => `${x.field}: ${x.msg}`).join("; ") : err.message;
      out.textContent = `refused: ${errs}`;
    }
  }
  $("#ev-type").addEventListener("change", () => {
    const eta = $("#ev-type").value === "eta";
    document.querySelector(".ev.eta").hidden = !eta;
    document.querySelector(".ev.closure").hidden = eta;
    // only the shown fields are required (a hidden required field would block the form)
    $("#ev-call").required = eta;
    $("#ev-eta").required = eta;
    $("#ev-start").required = !eta;
    $("#ev-end").required = !eta;
  });
  $("#ev-call").addEventListener("change", () => {
    const c = state.byId.get($("#ev-call").value.trim());
    if (c) $("#ev-eta").value = localInput(c.a);
  });
  $("#event-form").addEventListener("submit", postEvent);
  $("#version").addEventListener("change", async () => {
    const n = +$("#version").value;
    state.follow = n >= state.latest;
    await showVersion(n);
  });

  // ---- controls and keys
  function wire() {
    if (state.wired) return;
    state.wired = true;
    document.querySelectorAll("[data-span]").forEach((b) => b.addEventListener("click", () => zoomTo(+b.dataset.span)));
    $("#now-btn").addEventListener("click", goNow);
    $("#fit-btn").addEventListener("click", fit);
    $("#pan-left").addEventListener("click", () => pan(-0.5));
    $("#pan-right").addEventListener("click", () => pan(0.5));
    $("#tz").addEventListener("change", () => { localStorage.setItem("portsync-board-tz", $("#tz").value); setZone($("#tz").value); });
    for (const s of ["#f-port", "#f-berth", "#f-vessel", "#f-cargo", "#f-status"]) $(s).addEventListener("change", () => {
      if (s === "#f-port" && $(s).value) { const tz = portTz($(s).value); if ($("#tz").value !== "UTC" && tz !== "UTC") { $("#tz").value = tz; setZone(tz); } }
      applyFilters();
    });
    let t = null;
    $("#search").addEventListener("input", () => { clearTimeout(t); t = setTimeout(applySearch, 120); });
    $("#search").addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); applySearch(); if (state.hits.length) openCall(state.hits[0].id, true); else { const li = $("#search-results li"); if (li) li.click(); } }
      if (e.key === "ArrowDown") { const li = $("#search-results li"); if (li) { e.preventDefault(); li.focus(); } }
      if (e.key === "Escape") { $("#search").value = ""; applySearch(); }
    });
    $("#collapse-btn").addEventListener("click", () => {
      state.collapsed = !state.collapsed;
      $("#collapse-btn").textContent = state.collapsed ? "Expand ports" : "Collapse ports";
      $("#collapse-btn").setAttribute("aria-pressed", String(state.collapsed));
      state.groups.update(state.groups.get({filter: (g) => g.port}).map((g) => ({id: g.id, showNested: !state.collapsed})));
    });
    $("#csv-btn").addEventListener("click", csv);
    $("#png-btn").addEventListener("click", png);
    $("#timeline").addEventListener("keydown", (e) => {
      if (e.target !== $("#timeline")) return;
      const k = e.key;
      if (k === "ArrowLeft") pan(-0.2); else if (k === "ArrowRight") pan(0.2);
      else if (k === "+" || k === "=") zoomBy(0.5); else if (k === "-" || k === "_") zoomBy(2);
      else if (k === "n") goNow(); else if (k === "Home") fit();
      else if (k === "Enter") { const s = state.timeline.getSelection(); if (s.length) openCall(s[0], false); }
      else if (k === "[" || k === "]") stepSelection(k === "]" ? 1 : -1);
      else return;
      e.preventDefault();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "/" && !/INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName)) { e.preventDefault(); $("#search").focus(); }
      if (e.key === "Escape" && !$("#panel").hidden) { closePanel(); $("#timeline").focus(); }
    });
  }
  function stepSelection(dir) {
    // [ and ]: the previous / next call in time among the calls in view
    const [s, e] = windowSpan();
    const inView = state.items.get({filter: (it) => state.byId.has(it.id) && it.end >= s && it.start <= e}).sort((a, b) => a.start - b.start);
    if (!inView.length) return;
    const cur = state.timeline.getSelection()[0];
    let i = inView.findIndex((it) => it.id === cur);
    i = i < 0 ? (dir > 0 ? 0 : inView.length - 1) : (i + dir + inView.length) % inView.length;
    state.timeline.setSelection([inView[i].id]);
    openCall(inView[i].id, false);
  }
  // ---- a plan made elsewhere, opened from files: posted to /v1/board/plans, drawn, nothing stored
  async function readJson(input, what) {
    const file = input.files[0];
    if (!file) return undefined;
    const text = await file.text();
    try { return JSON.parse(text); } catch (err) {
      throw Object.assign(new Error(`the ${what} file ${file.name} is not JSON: ${err.message}`), {local: true});
    }
  }
  function showOpenError(err) {
    const box = $("#open-result");
    box.textContent = "";
    box.append(el("strong", {text: err.local ? err.message : `The server refused the files (${err.status || "no answer"}): ${err.message}`}));
    const list = (err.body && err.body.errors) || [];
    if (list.length) {
      const ul = el("ul");
      for (const e of list.slice(0, 20)) ul.append(el("li", {text: `${e.field}: ${e.msg}`}));
      if (list.length > 20) ul.append(el("li", {text: `… and ${list.length - 20} more`}));
      box.append(ul);
    }
    if (err.status === 409) box.append(el("p", {text: "Tick \u201copen a plan made for another problem\u201d to open it anyway."}));
  }
  async function openFiles(e) {
    e.preventDefault();
    const box = $("#open-result"), button = $("#open-form button[type=submit]");
    box.textContent = "";
    button.disabled = true;
    try {
      const first = await readJson($("#open-problem"), "problem");
      const second = await readJson($("#open-plan"), "plan");
      let body;
      if (first && typeof first === "object" && !Array.isArray(first) && "problem" in first && "plan" in first && second === undefined) body = first;
      else if (second === undefined) throw Object.assign(new Error("choose a plan file too (or one JSON with both \"problem\" and \"plan\")"), {local: true});
      else body = {problem: first, plan: second};
      const names = [$("#open-problem"), $("#open-plan")].map((i) => i.files[0] && i.files[0].name).filter(Boolean);
      body = Object.assign({}, body, {force: $("#open-force").checked || body.force === true});
      if (!body.title) body.title = `${names.join(" + ")} · plan from files`;
      const d = await api("/v1/board/plans", {method: "POST", body: JSON.stringify(body), headers: {"Content-Type": "application/json"}});
      showFile(d);
      $("#open-box").open = false;
    } catch (err) {
      showOpenError(err);
      $("#open-result").focus();
    } finally {
      button.disabled = false;
    }
  }
  function showFile(d) {
    // whatever this page showed before (a list, a job, a live plan) makes way for the file's plan
    state.file = true;
    if (state.streamAbort) { const ctl = state.streamAbort; state.streamAbort = null; ctl.abort(); }
    stopPolling();
    clearTimeout(state.retryTimer);
    banner("");
    $("#live-bar").hidden = true;
    $("#listing").hidden = true;
    closePanel();
    if (state.timeline) { state.timeline.destroy(); state.timeline = null; }
    for (const s of ["#f-port", "#f-berth", "#f-vessel", "#f-cargo", "#f-status"]) $(s).value = "";
    $("#search").value = "";
    delete document.body.dataset.rendered;
    delete document.body.dataset.complete;
    delete document.body.dataset.version;
    wire();
    render(d);
    document.body.dataset.source = "file";
  }
  $("#open-result").setAttribute("tabindex", "-1");
  $("#open-form").addEventListener("submit", openFiles);

  window.board = {zoomTo, pan, fit, goNow, csv, png, openCall, state, setZone, windowSpan};

  // The plan's data is asked for before anything else (the library is still being read)
  async function first() {
    // the page's inline script asked for the data already; anything but a plain answer (a key to
    // ask for, no plan yet) goes the usual way
    const r = window.boardEarly ? await window.boardEarly.catch(() => null) : null;
    return r && r.ok ? r.json() : loadPlan();
  }
  const early = JOB || LIVE ? first().then((d) => { window.boardTiming.data = performance.now(); return d; }) : null;
  if (early) early.catch(() => {});
  async function ready() {
    if (window.vis) return;
    await new Promise((r) => window.addEventListener("DOMContentLoaded", r, {once: true}));
  }

  async function main() {
    if (!JOB && !LIVE) return listing();
    wire();
    try {
      const d = await early;
      await ready();
      if (JOB) {
        render(d);
        banner("");
        if (d.source.status === "solving" || d.source.status === "queued") {
          setInterval(async () => { try { const n = await loadPlan(); if (!state.file && n.solver.summary !== state.data.solver.summary) render(n); } catch (e) { /* kept: next try */ } }, 5000);
        }
      } else {
        state.version = d.source.version; state.latest = d.source.latest;
        render(d);
        banner("");
        liveBar();
        document.body.dataset.version = String(state.version);
        stream();
      }
    } catch (err) {
      banner(`Could not open the plan: ${err.message}`);
    }
  }
  main();
})();
