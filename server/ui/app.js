// shopsync status page. Plain ES2020, no dependencies. API text is only ever
// written with textContent: contact data is untrusted.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const lang = navigator.language || undefined;
  const numFmt = new Intl.NumberFormat(lang);
  const dateFmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });

  const OUTCOMES = ["applied", "unchanged", "duplicate", "stale", "ignored"];
  const TRIGGERS = { button: "Sync now", schedule: "Schedule", cli: "Command line", reconcile: "Sweep" };
  const CONSENT = {
    subscribed: "Subscribed", not_subscribed: "Not subscribed", pending: "Waiting for confirmation",
    unsubscribed: "Unsubscribed", redacted: "Redacted", invalid: "Invalid",
  };
  const CHANGED_BY = { import: "full import", refetch: "re-fetch", reconcile: "sweep" };

  let csrf = "";
  let pollTimer = 0;
  let watching = null; // run id returned by POST /sync, until status shows it
  let watchTries = 0;
  let wasRunning = false;
  let lastRunId = null;
  let signedIn = false;
  let searchSeq = 0;
  let contactSeq = 0;

  // ---------- helpers ----------
  const num = (n) => (typeof n === "number" && isFinite(n) ? numFmt.format(n) : "–");
  const parseTime = (s) => {
    if (!s) return null;
    const d = new Date(s);
    return isNaN(d.getTime()) ? null : d;
  };
  const date = (s) => {
    const d = parseTime(s);
    return d ? dateFmt.format(d) : "–";
  };
  function duration(ms) {
    if (!(ms >= 0)) return "–";
    const s = Math.round(ms / 1000);
    if (s < 60) return `${num(s)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${num(m)} min ${num(s % 60)} s`;
    return `${num(Math.floor(m / 60))} h ${num(m % 60)} min`;
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text != null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function setText(id, text) { $(id).textContent = text == null ? "" : String(text); }
  function show(node, on) { node.hidden = !on; }
  function badge(node, state) {
    node.textContent = state;
    node.className = `badge badge-${state}`;
  }
  function emptyRow(tbody, td) {
    const tr = el("tr");
    tr.append(td);
    tbody.append(tr);
  }
  function notice(text) {
    setText("notice", text || "");
    show($("notice"), !!text);
  }

  class AuthError extends Error {}

  async function api(path, opts = {}) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (opts.method === "POST") {
      init.method = "POST";
      init.headers["X-CSRF-Token"] = csrf;
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      notice("Cannot reach shopsync. Retrying…");
      throw e;
    }
    if (res.status === 401) {
      showLogin();
      throw new AuthError("signed out");
    }
    notice("");
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok && !(opts.accept || []).includes(res.status)) {
      const err = new Error((body && body.error) || `HTTP ${res.status}`);
      err.status = res.status;
      throw err;
    }
    return { status: res.status, body: body || {} };
  }

  // Swallow errors of background refreshes (already reported in #notice).
  const quiet = (p) => p.catch(() => {});

  // ---------- session ----------
  function showLogin() {
    signedIn = false;
    clearTimeout(pollTimer);
    show($("loading"), false);
    show($("app"), false);
    show($("nav"), false);
    show($("login-view"), true);
    if (new URLSearchParams(location.search).get("login") === "failed") {
      setText("login-error", "That token is not right.");
      show($("login-error"), true);
    }
    $("token").focus();
  }

  async function start() {
    let res;
    try {
      res = await api("/api/session");
    } catch (e) {
      if (!(e instanceof AuthError)) setTimeout(start, 5000);
      return;
    }
    csrf = res.body.csrf || "";
    signedIn = true;
    if (location.search) history.replaceState(null, "", location.pathname + location.hash);
    show($("loading"), false);
    show($("login-view"), false);
    show($("app"), true);
    show($("nav"), true);
    await quiet(Promise.all([refreshOverview(true), refreshRuns()]));
    pollStatus();
    route();
  }

  async function signOut() {
    try { await api("/logout", { method: "POST" }); } catch (e) { /* reload anyway */ }
    location.reload();
  }

  // ---------- overview ----------
  async function refreshOverview(first) {
    const { body: o } = await api("/api/overview");
    setText("shop", o.shop || "");
    if (o.shop) document.title = `${o.shop} · shopsync`;
    const c = o.connection || {};
    const cs = $("connection-state");
    if (!c.last_call_at && !c.last_status) {
      cs.textContent = "not yet used"; cs.className = "badge";
      setText("connection-detail", "No API call since the daemon started.");
    } else if (c.ok) {
      cs.textContent = "ok"; cs.className = "badge badge-succeeded";
      setText("connection-detail", "Shopify answered the last call.");
    } else {
      cs.textContent = "error"; cs.className = "badge badge-failed";
      setText("connection-detail", `The last call failed${c.last_status ? ` (HTTP ${c.last_status})` : ""}.`);
    }
    setText("last-call", c.last_call_at ? date(c.last_call_at) : "None yet");
    let v = c.served_version || c.configured_version || "–";
    if (c.served_version && c.configured_version && c.served_version !== c.configured_version) {
      v = `${c.served_version} (configured ${c.configured_version})`;
    }
    setText("api-version", v);
    setText("token-kind", c.token_kind || "–");
    renderCounts(o.contacts, o.next_run, o.refetch_pending);
    renderLastRun(o.last_run);
    renderWebhooks(o.webhooks || {});
    if (first) lastRunId = o.last_run ? o.last_run.id : null;
  }

  function renderCounts(contacts, nextRun, refetch) {
    if (contacts) {
      setText("contacts-active", num(contacts.active));
      setText("contacts-deleted", num(contacts.deleted));
    }
    setText("next-run", nextRun ? date(nextRun) : "Not scheduled");
    setText("refetch-pending", typeof refetch === "number"
      ? (refetch === 0 ? "None" : `${num(refetch)} contacts`) : "–");
  }

  function renderLastRun(run) {
    show($("last-run-summary"), !!run);
    if (!run) { setText("last-run-when", "No runs yet"); return; }
    setText("run-created", num(run.created));
    setText("run-updated", num(run.updated));
    const when = run.finished_at || run.started_at;
    setText("last-run-when", `· ${run.state} · ${TRIGGERS[run.trigger] || run.trigger || ""} · ${date(when)}`);
  }

  // ---------- webhooks ----------
  function renderWebhooks(w) {
    const table = $("deliveries");
    const thead = table.tHead, tbody = table.tBodies[0];
    thead.replaceChildren(); tbody.replaceChildren();
    const deliveries = Array.isArray(w.deliveries) ? w.deliveries : [];
    const outcomes = OUTCOMES.slice();
    const byTopic = new Map();
    for (const d of deliveries) {
      if (!outcomes.includes(d.outcome)) outcomes.push(d.outcome);
      if (!byTopic.has(d.topic)) byTopic.set(d.topic, {});
      const row = byTopic.get(d.topic);
      row[d.outcome] = (row[d.outcome] || 0) + (d.count || 0);
    }
    const hr = document.createElement("tr");
    hr.append(el("th", "Topic"));
    for (const o of outcomes) hr.append(el("th", o, "num"));
    hr.append(el("th", "total", "num"));
    for (const th of hr.children) th.scope = "col";
    thead.append(hr);
    if (byTopic.size === 0) {
      const td = el("td", "No webhooks in the last 24 hours", "empty");
      td.colSpan = outcomes.length + 2;
      emptyRow(tbody, td);
    }
    for (const [topic, counts] of [...byTopic].sort((a, b) => String(a[0]).localeCompare(String(b[0])))) {
      const tr = el("tr");
      const th = el("th", topic); th.scope = "row";
      tr.append(th);
      let total = 0;
      for (const o of outcomes) {
        total += counts[o] || 0;
        tr.append(el("td", counts[o] ? num(counts[o]) : "–", "num"));
      }
      tr.append(el("td", num(total), "num"));
      tbody.append(tr);
    }
    const rej = w.rejected || 0;
    setText("webhooks-rejected", rej
      ? `${num(rej)} deliveries rejected (wrong signature, another shop, or not valid JSON).`
      : "No deliveries rejected.");
    const s = w.subscriptions || {};
    const missing = Array.isArray(s.missing) ? s.missing : [];
    let text;
    switch (s.state) {
      case "not_configured": text = "Subscriptions: Set webhooks.address to keep Shopify's subscriptions in place."; break;
      case "ok": text = `Subscriptions: all in place${s.address ? ` for ${s.address}` : ""}.`; break;
      case "missing": text = `Subscriptions missing${s.address ? ` for ${s.address}` : ""}: ${missing.join(", ") || "some topics"}. shopsync re-creates them after the next scheduled sync.`; break;
      default: text = "Subscriptions: not checked yet.";
    }
    setText("subscriptions", text);
    $("subscriptions").className = `small${s.state === "missing" ? " error" : ""}`;
  }

  // ---------- runs ----------
  async function refreshRuns() {
    const { body } = await api("/sync/runs?limit=20");
    const tbody = $("runs").tBodies[0];
    tbody.replaceChildren();
    const runs = Array.isArray(body.runs) ? body.runs : [];
    if (runs.length === 0) {
      const td = el("td", "No runs yet", "empty"); td.colSpan = 8;
      emptyRow(tbody, td);
    }
    for (const r of runs) {
      const tr = el("tr");
      tr.dataset.state = r.state || "";
      tr.append(el("td", TRIGGERS[r.trigger] || r.trigger || "–"));
      tr.append(el("td", date(r.started_at)));
      const st = parseTime(r.started_at), fin = parseTime(r.finished_at);
      tr.append(el("td", st && fin ? duration(fin - st) : (r.state === "running" ? "running" : "–")));
      for (const k of ["created", "updated", "unchanged", "deleted"]) tr.append(el("td", num(r[k]), "num"));
      const res = el("td");
      const b = el("span"); badge(b, r.state || "unknown");
      res.append(b);
      if (r.state === "failed" && r.error) res.append(el("div", r.error, "error small"));
      tr.append(res);
      tbody.append(tr);
    }
  }

  // ---------- sync ----------
  function schedulePoll(ms) {
    clearTimeout(pollTimer);
    if (signedIn) pollTimer = setTimeout(pollStatus, ms);
  }

  async function pollStatus() {
    clearTimeout(pollTimer);
    try {
      const { body } = await api("/sync/status");
      applyStatus(body);
    } catch (e) {
      if (!(e instanceof AuthError)) schedulePoll(5000);
    }
  }

  function applyStatus(s) {
    renderCounts(s.contacts, s.next_run, s.refetch_pending);
    const run = s.last_run || null;
    let running = !!s.running;
    // The run we started may not be visible yet: keep watching for a moment.
    if (!running && watching != null && (!run || run.id < watching) && watchTries++ < 20) running = true;
    if (run && watching != null && run.id >= watching) watching = null;
    renderProgress(run, running);
    setBusy(running);
    const id = run ? run.id : null;
    if ((wasRunning && !running) || id !== lastRunId) {
      quiet(refreshOverview());
      quiet(refreshRuns());
    } else if (run) {
      renderLastRun(run);
    }
    wasRunning = running;
    lastRunId = id;
    schedulePoll(running ? 500 : 5000);
  }

  function setBusy(running) {
    const b = $("sync-now");
    b.disabled = running;
    b.textContent = running ? "Syncing…" : "Sync now";
  }

  function renderProgress(run, running) {
    const p = $("sync-progress");
    const err = $("run-error");
    if (!run || (running && run.state !== "running")) {
      badge($("run-state"), running ? "running" : "none");
      if (!run && !running) $("run-state").textContent = "No runs yet";
      p.removeAttribute("value");
      setText("sync-progress-text", running ? "Starting…" : "");
      show(err, false);
      return;
    }
    badge($("run-state"), run.state);
    const fetched = run.fetched || 0, total = run.total || 0;
    if (total > 0) {
      p.max = total;
      p.value = run.state === "succeeded" ? total : Math.min(fetched, total);
    } else if (run.state === "succeeded") {
      p.max = 1; p.value = 1;
    } else if (run.state === "running") {
      p.removeAttribute("value");
    } else {
      p.max = 1; p.value = 0;
    }
    const st = parseTime(run.started_at);
    const end = parseTime(run.finished_at) || (run.state === "running" ? new Date() : null);
    const ms = st && end ? Math.max(0, end - st) : 0;
    if (run.engine === "bulk" && run.state === "running" && fetched === 0) {
      // Shopify is writing every customer to a file (a bulk operation):
      // its count so far is the progress until the download starts.
      const prepared = run.prepared || 0;
      if (total > 0) { p.max = total; p.value = Math.min(prepared, total); }
      const prep = [`Shopify is preparing the export: ${num(prepared)}` + (total > 0 ? ` of ${num(total)} customers` : " customers")];
      if (ms > 0) prep.push(duration(ms));
      setText("sync-progress-text", prep.join(" · "));
      show(err, false);
      return;
    }
    const parts = [total > 0 ? `${num(fetched)} of ${num(total)} customers` : `${num(fetched)} customers`];
    if (ms > 0) {
      parts.push(duration(ms));
      if (ms >= 1000) parts.push(`${num(Math.round(fetched / (ms / 1000)))}/s`);
    }
    setText("sync-progress-text", parts.join(" · "));
    if (run.state === "failed") {
      setText("run-error", `The sync stopped: ${run.error || "no reason was recorded"}.`);
      show(err, true);
    } else {
      show(err, false);
    }
  }

  async function syncNow() {
    const b = $("sync-now");
    b.disabled = true;
    setText("sync-message", "");
    try {
      const { status, body } = await api("/sync", { method: "POST", accept: [409] });
      if (status === 409) {
        setText("sync-message", `Could not start a sync: ${body.error || "the daemon refused"}.`);
        setBusy(false);
        return;
      }
      if (body.started === false) setText("sync-message", "A sync was already running; showing it.");
      if (typeof body.run_id === "number") { watching = body.run_id; watchTries = 0; }
      show($("run-error"), false);
      badge($("run-state"), "running");
      setBusy(true);
    } catch (e) {
      if (e instanceof AuthError) return;
      setText("sync-message", `Could not start a sync: ${e.message}.`);
    }
    pollStatus();
  }

  // ---------- contacts ----------
  const contactName = (c) => [c.first_name, c.last_name].filter(Boolean).join(" ").trim();

  async function search(q) {
    const seq = ++searchSeq;
    const list = $("results");
    if (!q) { list.replaceChildren(); setText("results-status", ""); return; }
    setText("results-status", "Searching…");
    let body;
    try {
      ({ body } = await api(`/api/contacts?q=${encodeURIComponent(q)}&limit=50`));
    } catch (e) {
      if (seq === searchSeq && !(e instanceof AuthError)) setText("results-status", `Search failed: ${e.message}`);
      return;
    }
    if (seq !== searchSeq) return;
    const contacts = Array.isArray(body.contacts) ? body.contacts : [];
    list.replaceChildren();
    for (const c of contacts) {
      const id = String(c.id);
      const a = el("a", `${contactName(c) || "(no name)"} — ${c.email || "(no email)"}`);
      a.href = `#/contacts/${encodeURIComponent(id)}`;
      a.dataset.id = id;
      const li = el("li");
      li.append(a);
      if (c.phone) li.append(el("span", ` ${c.phone}`, "muted small"));
      list.append(li);
    }
    setText("results-status", contacts.length === 0 ? `No contacts match “${q}”.`
      : contacts.length === 50 ? "Showing the first 50 matches; type more to narrow." : `${num(contacts.length)} found.`);
  }

  function formatValue(key, v) {
    if (v === null || v === undefined || v === "") return "—";
    if (typeof v === "boolean") return v ? "Yes" : "No";
    if (typeof v === "number") return num(v);
    if (typeof v === "string" && /_at$/.test(key) && parseTime(v)) return date(v);
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  const who = (by) => (by ? (CHANGED_BY[by] || (by.includes("/") || by.includes(".") ? `webhook ${by}` : by)) : "—");
  const consentWords = (s) => (s ? (CONSENT[s] || s) : "No consent recorded");

  function addFact(dl, label, value) {
    dl.append(el("dt", label), el("dd", value));
  }

  async function showContact(id) {
    const seq = ++contactSeq;
    const sec = $("contact");
    show(sec, true);
    show($("contact-body"), false);
    show($("contact-missing"), false);
    setText("contact-name", "Loading…");
    setText("contact-email", "");
    let res;
    try {
      res = await api(`/api/contacts/${encodeURIComponent(id)}`, { accept: [404] });
    } catch (e) {
      if (seq === contactSeq && !(e instanceof AuthError)) {
        setText("contact-name", "Contact");
        setText("contact-missing", `Could not load this contact: ${e.message}`);
        show($("contact-missing"), true);
      }
      return;
    }
    if (seq !== contactSeq) return;
    if (res.status === 404 || !res.body.contact) {
      setText("contact-name", "Contact not found");
      setText("contact-missing", "This contact is not in the copy: unknown, deleted or redacted.");
      show($("contact-missing"), true);
      sec.focus();
      return;
    }
    const c = res.body.contact;
    const changed = res.body.changed || {};
    const attrs = c.attributes || {};
    setText("contact-name", contactName(c) || "(no name)");
    setText("contact-email", c.email || "(no email)");
    const f = $("contact-fields");
    f.replaceChildren();
    addFact(f, "Phone", c.phone || "—");
    addFact(f, "State", c.state || "—");
    addFact(f, "Created in Shopify", date(c.shopify_created_at));
    addFact(f, "Updated in Shopify", date(c.shopify_updated_at));
    addFact(f, "Shopify id", String(c.id));
    const tags = $("contact-tags");
    tags.replaceChildren();
    const tagList = Array.isArray(c.tags) ? c.tags : [];
    if (tagList.length === 0) tags.append(el("li", "No tags", "muted"));
    for (const t of tagList) tags.append(el("li", t, "tag"));
    const cons = $("contact-consent");
    cons.replaceChildren();
    addFact(cons, "Email", consentWords(attrs.email_marketing_consent) +
      (attrs.email_marketing_consent_updated_at ? ` (since ${date(attrs.email_marketing_consent_updated_at)})` : ""));
    addFact(cons, "SMS", consentWords(attrs.sms_marketing_consent) +
      (attrs.sms_marketing_consent_updated_at ? ` (since ${date(attrs.sms_marketing_consent_updated_at)})` : ""));
    setText("contact-changed", changed.updated_at
      ? `Last changed ${date(changed.updated_at)} by ${who(changed.changed_by)}.` : "");
    const tbody = $("contact-attributes").tBodies[0];
    tbody.replaceChildren();
    const perAttr = changed.attributes || {};
    const keys = Object.keys(attrs).sort();
    if (keys.length === 0) {
      const td = el("td", "No attributes", "empty"); td.colSpan = 4;
      emptyRow(tbody, td);
    }
    for (const k of keys) {
      const ch = perAttr[k] || {};
      const tr = el("tr");
      const th = el("th", k); th.scope = "row";
      tr.append(th, el("td", formatValue(k, attrs[k])), el("td", ch.updated_at ? date(ch.updated_at) : "—"), el("td", who(ch.changed_by)));
      tbody.append(tr);
    }
    show($("contact-body"), true);
    sec.focus();
  }

  // ---------- routing ----------
  function route() {
    if (!signedIn) return;
    const h = location.hash;
    const m = /^#\/contacts\/(.+)$/.exec(h);
    if (m) {
      let id;
      try { id = decodeURIComponent(m[1]); } catch (e) { id = m[1]; }
      showContact(id);
      return;
    }
    contactSeq++;
    show($("contact"), false);
    if (h === "#/contacts") {
      $("contacts").scrollIntoView();
      $("search").focus();
    } else if (h === "#/" ) {
      window.scrollTo(0, 0);
    }
  }

  // ---------- wiring ----------
  document.addEventListener("DOMContentLoaded", () => {
    $("sync-now").addEventListener("click", syncNow);
    $("sign-out").addEventListener("click", signOut);
    let debounce = 0;
    $("search-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      clearTimeout(debounce);
      search($("search").value.trim());
    });
    $("search").addEventListener("input", (ev) => {
      clearTimeout(debounce);
      if (ev.isComposing) return; // wait for the IME to finish (CJK input)
      debounce = setTimeout(() => search($("search").value.trim()), 300);
    });
    $("search").addEventListener("compositionend", () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => search($("search").value.trim()), 300);
    });
    window.addEventListener("hashchange", route);
    start();
  });
})();
