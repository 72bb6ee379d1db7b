// Keeps the page live: polls the API and renders the answers. No framework, no inline script (the CSP forbids it).
"use strict";

const REFRESH_MS = 5000;

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body, headers: response.headers };
}

function showCard(key, check) {
  const card = document.getElementById(`card-${key}`);
  if (!card) return;
  const ok = check && check.status === "ok";
  card.dataset.state = ok ? "ok" : "fail";
  card.querySelector(".state").textContent = ok ? "ready" : "failing";
  card.querySelector(".latency").textContent = ok ? `${check.latency_ms} ms` : (check && check.error) || "no answer";
}

function formatUptime(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderItems(items) {
  const body = document.getElementById("items-body");
  body.replaceChildren();
  if (items.length === 0) {
    const row = document.createElement("tr");
    const td = cell("No items yet.", "muted");
    td.colSpan = 5;
    row.append(td);
    body.append(row);
    return;
  }
  for (const item of items) {
    const row = document.createElement("tr");
    row.dataset.id = item.id;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "delete";
    button.dataset.id = item.id;
    button.textContent = "Delete";
    const actions = document.createElement("td");
    actions.append(button);
    row.append(
      cell(item.name), cell(item.description), cell(String(item.quantity), "num"),
      cell(item.created_at.slice(0, 19).replace("T", " ")), actions,
    );
    body.append(row);
  }
}

function showError(message) {
  const el = document.getElementById("items-error");
  el.textContent = message || "";
  el.hidden = !message;
}

async function refresh() {
  try {
    const [health, status, items] = await Promise.all([
      getJson("/api/health"), getJson("/api/status"), getJson("/api/items?limit=10"),
    ]);
    const checks = health.body.checks || {};
    showCard("postgres", checks.postgres);
    showCard("redis", checks.redis);
    if (status.ok) {
      document.getElementById("status-uptime").textContent = `up ${formatUptime(status.body.uptime_seconds)}`;
      document.getElementById("status-host").textContent = `${status.body.version} on ${status.body.hostname}`;
      const cache = status.body.cache || {};
      if (cache.status === "ok") document.getElementById("page-hits").textContent = cache.page_hits;
    }
    if (items.ok) {
      renderItems(items.body.items);
      document.getElementById("items-cache").textContent = items.headers.get("X-Cache") || "?";
      showError("");
    } else {
      showError((items.body.error && items.body.error.message) || `items: HTTP ${items.status}`);
    }
  } catch (err) {
    showCard("postgres", null);
    showCard("redis", null);
    showError(`The service did not answer: ${err}`);
  }
}

async function send(method, url, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    showError((answer.error && answer.error.message) || `HTTP ${response.status}`);
  }
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("item-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    // form.name is the form's own name attribute, so read the fields through form.elements.
    const field = (name) => form.elements.namedItem(name).value;
    send("POST", "/api/items", {
      name: field("name"),
      description: field("description"),
      quantity: Number.parseInt(field("quantity") || "0", 10),
    }).then(() => form.reset());
  });
  document.getElementById("items-body").addEventListener("click", (event) => {
    const id = event.target.dataset && event.target.dataset.id;
    if (event.target.classList.contains("delete") && id) send("DELETE", `/api/items/${id}`);
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
});
