// Paceline dashboard: status and events arrive by server-sent events (/api/v1/stream); actions
// are POSTs to /api/v1 with the token kept in this tab's sessionStorage. No framework, no build.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { token: sessionStorage.getItem("paceline-token") || "", role: null, status: null, cursor: 0 };
const RESOURCE_ACTIONS = ["cleanup", "restart", "move", "ban", "clear"];
const NODE_ACTIONS = ["standby", "online", "maintenance", "fence"];

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function say(text, error = false) {
  const m = $("#message");
  m.hidden = false;
  m.textContent = text;
  m.className = error ? "error" : "";
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const resp = await fetch("/api/v1/" + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let data = {};
  try { data = await resp.json(); } catch (e) { data = { error: resp.statusText }; }
  return { ok: resp.ok, status: resp.status, data };
}

async function whoami() {
  const r = await api("GET", "whoami");
  state.role = r.ok ? r.data.role : null;
  const role = $("#role");
  role.textContent = r.ok ? (state.role ? state.role + " token" : "read-only") : "invalid token";
  role.className = state.role === "admin" ? "admin" : "";
  if (!r.ok) say("the token was refused: " + (r.data.error || r.status), true);
}

async function act(kind, target, op) {
  if (op === "fence" && !confirm("Fence node " + target + "?")) return;
  say(`${kind} ${op} ${target}: …`);
  const r = await api("POST", `${kind}s/${encodeURIComponent(target)}/${op}`, {});
  if (r.ok) say(r.data.message || "done");
  else say(`${kind} ${op} ${target} refused (${r.status}): ${r.data.error}`, true);
}

function buttons(kind, target, ops) {
  const td = el("td", { class: "actions" });
  for (const op of ops) {
    td.append(el("button", { type: "button", "data-action": op, onclick: () => act(kind, target, op) }, op));
  }
  return td;
}

function renderStatus(s) {
  state.status = s;
  $("#cluster").textContent = s.cluster || "";
  $("#dc").textContent = s.dc || "-";
  $("#config-version").textContent = s.config_version ?? "";
  $("#config-version-label").hidden = s.config_version === undefined;
  const nodes = $("#nodes tbody");
  nodes.replaceChildren(...s.nodes.map((n) => {
    const attrs = Object.entries(n.attributes || {}).map(([k, v]) => `${k}=${v}`).join(" ");
    const fenced = n.fenced ? ` (fenced ${n.fenced.time} by ${n.fenced.method})` : "";
    return el("tr", { "data-node": n.name },
      el("td", {}, n.name + (n.name === s.dc ? " (DC)" : "")),
      el("td", { class: "state " + n.state }, n.state + fenced + (n.reason ? ": " + n.reason : "")),
      el("td", {}, attrs),
      buttons("node", n.name, NODE_ACTIONS));
  }));
  const rows = $("#resources tbody");
  rows.replaceChildren(...s.resources.map((r) => {
    const fc = r.failcount ? String(r.failcount >= 1000000 ? "INFINITY" : r.failcount) : "";
    const last = r.last_failure ? ` (last ${r.last_failure})` : "";
    const actions = buttons("resource", r.id, RESOURCE_ACTIONS);
    actions.prepend(el("button", { type: "button", "data-action": "explain", onclick: () => explain(r.id) }, "why?"));
    return el("tr", { "data-resource": r.id, "data-node": r.node || "" },
      el("td", {}, r.id), el("td", {}, r.agent),
      el("td", { class: "role " + r.role }, r.role), el("td", { class: "node" }, r.node || "-"),
      el("td", { class: "failcount" }, fc + last), el("td", { class: "why" }, r.reason || ""), actions);
  }));

  // an open "why?" follows the cluster (a moment later, once per burst of changes)
  if (!$("#explain-box").hidden && !state.explainTimer) {
    state.explainTimer = setTimeout(() => { state.explainTimer = null; explain($("#explain-rsc").textContent); }, 300);
  }
}

function addEvents(evs) {
  const list = $("#events");
  for (const e of evs) {
    const when = new Date(e.time * 1000).toISOString().replace("T", " ").slice(0, 19);
    list.prepend(el("li", { class: e.kind, "data-seq": e.seq }, `${when}  ${e.kind.padEnd(15)} ${e.message}`));
    state.cursor = Math.max(state.cursor, e.seq);
  }
  while (list.children.length > 300) list.lastChild.remove();
}

async function explain(rsc) {
  const r = await api("GET", "explain/" + encodeURIComponent(rsc));
  $("#explain-box").hidden = false;
  $("#explain-rsc").textContent = rsc;
  const box = $("#explain");
  if (!r.ok) { box.replaceChildren(el("p", { class: "error" }, r.data.error)); return; }
  box.replaceChildren(...r.data.targets.map((t) => {
    const where = Object.entries(t.placement).map(([n, role]) => `${role} on ${n}`).join(", ") || "runs nowhere";
    return el("div", { class: "target", "data-resource": t.resource },
      el("h3", {}, `${t.resource}: ${where}`),
      el("pre", {}, t.lines.length ? t.lines.join("\n") : "(no score terms)"));
  }));
}

function connect() {
  const src = new EventSource("/api/v1/stream?since=" + state.cursor);
  src.addEventListener("open", () => { $("#live").textContent = "live"; $("#live").className = "on"; });
  src.addEventListener("status", (ev) => renderStatus(JSON.parse(ev.data)));
  src.addEventListener("events", (ev) => addEvents(JSON.parse(ev.data).events));
  src.addEventListener("error", () => {
    $("#live").textContent = "reconnecting"; $("#live").className = "off";
    src.close();
    setTimeout(connect, 1000);  // resumes after the last event seen
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.token = $("#token").value.trim();
    sessionStorage.setItem("paceline-token", state.token);
    $("#token").value = "";
    whoami();
  });
  $("#logout").addEventListener("click", () => {
    state.token = ""; sessionStorage.removeItem("paceline-token"); whoami();
  });
  $("#explain-close").addEventListener("click", () => { $("#explain-box").hidden = true; });
  whoami();
  connect();
});
