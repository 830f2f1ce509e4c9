// searchkit's page: plain JS, no build step, nothing loaded from elsewhere.
// Every piece of document text goes into the page as a text node (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#0b57d0", "#d93025", "#1a7f37", "#b35900", "#8430ce", "#00838f", "#c2185b", "#555"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// ``text`` with the [start, end) ``spans`` wrapped in <mark>, as nodes.
function marked(text, spans) {
  const frag = document.createDocumentFragment();
  let pos = 0;
  for (const [a, b] of [...(spans || [])].sort((x, y) => x[0] - y[0])) {
    if (a < pos) continue;
    frag.append(document.createTextNode(text.slice(pos, a)));
    frag.append(el("mark", {}, text.slice(a, b)));
    pos = b;
  }
  frag.append(document.createTextNode(text.slice(pos)));
  return frag;
}

// A window of about ``limit`` characters of ``text`` around its first span (the whole text
// when short), with the spans moved into the window: [text, spans, cut at start, cut at end].
function snippet(text, spans, limit = 360) {
  if (text.length <= limit) return [text, spans || [], false, false];
  const sorted = [...(spans || [])].sort((x, y) => x[0] - y[0]);
  const first = sorted.length ? sorted[0] : [0, 0];
  let start = Math.max(0, first[0] - Math.floor(limit / 4));
  if (start > 0) start = text.indexOf(" ", start) + 1 || start;
  let end = Math.min(text.length, Math.max(start + limit, first[1]));
  if (end < text.length) end = text.lastIndexOf(" ", end) > first[1] ? text.lastIndexOf(" ", end) : end;
  const inside = sorted.filter(([a, b]) => a >= start && b <= end).map(([a, b]) => [a - start, b - start]);
  return [text.slice(start, end), inside, start > 0, end < text.length];
}

function token() { return sessionStorage.getItem("searchkit-token") || ""; }

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, x));
    else if (v !== "" && v !== null && v !== undefined) url.searchParams.set(k, v);
  }
  const headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  let resp;
  try {
    resp = await fetch(url, { headers });
  } catch (e) {
    throw new ApiError(0, "The server cannot be reached (" + e.message + ").");
  }
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  if (!resp.ok) {
    if (resp.status === 401) $("tokenform").hidden = false;
    throw new ApiError(resp.status, (body && body.error) || ("HTTP " + resp.status));
  }
  return body;
}

function showMessage(text, info) {
  const m = $("message");
  m.textContent = text;
  m.className = info ? "info" : "";
  m.hidden = !text;
}

function location_of(h) {
  if (h.page !== null && h.page !== undefined) return `${h.path}#page=${h.page}`;
  return h.start_line === h.end_line ? `${h.path}:${h.start_line}` : `${h.path}:${h.start_line}-${h.end_line}`;
}

function mode() { return document.querySelector("input[name=mode]:checked").value; }

function filters() {
  const f = {};
  if ($("path").value.trim()) f.path = [$("path").value.trim()];
  if ($("ext").value.trim()) f.ext = $("ext").value.split(",").map((s) => s.trim()).filter(Boolean);
  if ($("after").value) f.modified_after = $("after").value;
  return f;
}

function snippetNode(text, spans) {
  const [part, inside, cutStart, cutEnd] = snippet(text, spans);
  return el("div", { class: "snippet" }, cutStart ? "… " : null, marked(part, inside), cutEnd ? " …" : null);
}

function hitNode(h) {
  const node = el("button", { type: "button", class: "hit", "data-rank": h.rank,
                              "aria-label": `Open ${location_of(h)}` },
    el("span", { class: "loc" }, `${h.rank}. ${location_of(h)}`),
    el("span", { class: "score" }, h.score.toFixed(3)),
    h.title ? el("span", { class: "title" }, h.title) : null,
    snippetNode(h.text, h.highlights));
  node.addEventListener("click", () => openDocument(h.doc_id, h.chunk_id, h.highlights_in_document));
  return node;
}

async function runSearch(q) {
  const data = await api("/api/search", { q, k: $("k").value || 10, method: $("method").value, ...filters() });
  const out = $("results");
  out.replaceChildren();
  if (!data.hits.length) { showMessage("No results.", true); return; }
  out.append(...data.hits.map(hitNode));
}

async function runAsk(q) {
  const a = await api("/api/ask", { q, ...filters() });
  const out = $("results");
  out.replaceChildren();
  if (a.answered) {
    const passage = a.hit ? el("div", { class: "snippet" }, marked(a.passage, a.span ? [a.span] : [])) : null;
    const cite = el("a", { href: "#", class: "cite" }, a.citation);
    cite.addEventListener("click", (e) => {
      e.preventDefault();
      const h = a.hit;
      const spans = a.span ? [[h.start_char + a.span[0], h.start_char + a.span[1]]] : h.highlights_in_document;
      openDocument(h.doc_id, h.chunk_id, spans);
    });
    out.append(el("div", { class: "answer", id: "answer" },
      el("div", { class: "text" }, a.text),
      el("div", {}, "— ", cite, el("span", { class: "muted" },
        `  confidence ${a.confidence.toFixed(2)} (threshold ${a.threshold.toFixed(2)})`)),
      passage));
  } else {
    out.append(el("div", { class: "answer none", id: "answer" },
      el("div", { class: "text" }, "The indexed documents hold no answer to this question."),
      el("div", { class: "muted" },
        `Best evidence ${a.confidence.toFixed(2)} is below the threshold ${a.threshold.toFixed(2)}.`)));
  }
  if (a.supporting.length) {
    out.append(el("h2", {}, a.answered ? "Supporting passages" : "Related passages"));
    out.append(...a.supporting.map(hitNode));
  }
}

function plot(r) {
  const w = 420, h = 300, pad = 16;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("class", "plot");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `The ${r.sampled} uses of "${r.word}" projected on two axes, coloured by sense`);
  const xs = r.points.map((p) => p[0]), ys = r.points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x) => pad + (x - x0) / ((x1 - x0) || 1) * (w - 2 * pad);
  const sy = (y) => h - pad - (y - y0) / ((y1 - y0) || 1) * (h - 2 * pad);
  r.points.forEach((p, i) => {
    const c = document.createElementNS(SVG, "circle");
    c.setAttribute("cx", sx(p[0]).toFixed(1));
    c.setAttribute("cy", sy(p[1]).toFixed(1));
    c.setAttribute("r", "4");
    c.setAttribute("fill", COLOURS[r.labels[i] % COLOURS.length]);
    c.setAttribute("fill-opacity", "0.75");
    svg.append(c);
  });
  return svg;
}

async function runSenses(word) {
  const r = await api("/api/senses", { word });
  const out = $("results");
  out.replaceChildren();
  out.append(el("p", {}, `"${r.word}": ${r.uses} uses in ${r.documents} documents; ` +
    `${r.k} sense${r.k === 1 ? "" : "s"} among the ${r.sampled} clustered.`));
  if (r.points.length) out.append(plot(r));
  for (const s of r.senses) {
    const words = s.words.slice(0, 6).map((w) => w[0]).join(", ");
    const head = el("h3", {}, `Sense ${s.id + 1} (${s.size} uses)` + (words ? `: ${words}` : ""));
    head.style.color = COLOURS[s.id % COLOURS.length];  // CSSOM: allowed by the page's CSP
    out.append(el("div", { class: "sense" }, head,
      ...s.examples.map((e) => el("div", { class: "snippet" },
        el("span", { class: "muted" }, `${e.path}:${e.line}  `), marked(e.sentence, [e.span])))));
  }
}

async function openDocument(docId, chunkId, spans) {
  let d;
  try {
    d = await api(`/api/documents/${encodeURIComponent(docId)}`, { chunk_id: chunkId });
  } catch (e) { showMessage(e.message); return; }
  $("doctitle").textContent = d.title || d.path;
  const where = d.page !== null ? `page ${d.page}` : `lines ${d.start_line}-${d.end_line}`;
  $("docloc").textContent = `${d.path} · ${where}`;
  const pre = $("doctext");
  pre.replaceChildren();
  const a = d.start_char, b = d.end_char;
  const inside = (spans || []).filter(([s, e]) => s >= a && e <= b).map(([s, e]) => [s - a, e - a]);
  const passage = el("mark", { class: "passage", id: "passage" }, marked(d.text.slice(a, b), inside));
  pre.append(document.createTextNode(d.text.slice(0, a)), passage, document.createTextNode(d.text.slice(b)));
  $("layout").classList.add("split");
  $("doc").hidden = false;
  const target = passage.querySelector("mark") || passage;
  if (window.matchMedia("(max-width: 800px)").matches) {
    target.scrollIntoView({ block: "center" });  // one column: the page scrolls
  } else {  // beside the hits: only the document pane scrolls, the search box stays
    pre.scrollTop = Math.max(0, target.offsetTop - pre.offsetTop - pre.clientHeight / 3);
  }
  $("close").focus({ preventScroll: true });
}

function closeDocument() {
  $("doc").hidden = true;
  $("layout").classList.remove("split");
  $("q").focus();
}

async function submit(e) {
  if (e) e.preventDefault();
  const q = $("q").value.trim();
  if (!q) return;
  showMessage("");
  $("go").disabled = true;
  try {
    const m = mode();
    if (m === "ask") await runAsk(q);
    else if (m === "senses") await runSenses(q);
    else await runSearch(q);
  } catch (err) {
    $("results").replaceChildren();
    showMessage(err.status === 401 ? "This server needs a token: enter it below." : err.message);
  } finally {
    $("go").disabled = false;
  }
}

async function loadStats() {
  try {
    const s = await api("/api/stats");
    $("stats").textContent = `${s.path}: ${s.documents} documents, ${s.chunks} passages, encoder ${s.encoder}`;
  } catch (e) {
    if (e.status !== 401) showMessage(e.message);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("form").addEventListener("submit", submit);
  $("close").addEventListener("click", closeDocument);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("doc").hidden) closeDocument(); });
  for (const r of document.querySelectorAll("input[name=mode]")) {
    r.addEventListener("change", () => {
      $("go").textContent = { search: "Search", ask: "Ask", senses: "Find senses" }[mode()];
    });
  }
  $("tokenform").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("searchkit-token", $("token").value);
    $("tokenform").hidden = true;
    showMessage("");
    loadStats();
    if ($("q").value.trim()) submit();
  });
  loadStats();
});
