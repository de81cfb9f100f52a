// shopsync status page. Plain ES2020, no dependencies. API text is only ever
// written with textContent: contact data is untrusted.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const lang = navigator.language || undefined;
  const numFmt = new Intl.NumberFormat(lang);
  const dateFmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
  const timeFmt = new Intl.DateTimeFormat(lang, { timeStyle: "medium" });

  const OUTCOMES = ["applied", "unchanged", "duplicate", "stale", "ignored"];
  const OUTCOME_WORDS = { applied: "Applied", unchanged: "Unchanged", duplicate: "Duplicate", stale: "Stale", ignored: "Ignored" };
  const TRIGGERS = { button: "Sync now", schedule: "Scheduled import", cli: "Command line", reconcile: "Sweep" };
  const CONSENT = {
    subscribed: "Subscribed", not_subscribed: "Not subscribed", pending: "Waiting for confirmation",
    unsubscribed: "Unsubscribed", redacted: "Redacted", invalid: "Invalid",
  };
  const OPT_IN = { single_opt_in: "Single opt-in", confirmed_opt_in: "Confirmed opt-in (double)", unknown: "Unknown" };
  const ACCOUNT = { enabled: "Account active", disabled: "No account", invited: "Invited to create an account", declined: "Declined the invitation" };
  const LABELS = {
    orders_count: "Orders", total_spent: "Total spent", currency: "Currency", note: "Note",
    email_marketing_consent: "Email consent", email_marketing_opt_in_level: "Email opt-in level",
    email_marketing_consent_updated_at: "Email consent changed", sms_marketing_consent: "SMS consent",
    sms_marketing_opt_in_level: "SMS opt-in level", sms_marketing_consent_updated_at: "SMS consent changed",
    sms_marketing_consent_collected_from: "SMS consent collected from",
    accepts_email_marketing: "Accepts email marketing", accepts_sms_marketing: "Accepts SMS marketing",
    verified_email: "Verified email", tax_exempt: "Tax exempt", last_order_id: "Last order id", last_order_name: "Last order",
    default_address_city: "City", default_address_country_code: "Country", default_address_province_code: "Province or state",
    default_address_zip: "ZIP or postcode", default_address_company: "Company",
  };
  const TOPICS = {
    "customers/create": "customer created", "customers/update": "customer updated",
    "customers/enable": "account enabled", "customers/disable": "account disabled", "customers/delete": "customer deleted",
    "customers_email_marketing_consent/update": "email consent changed", "customers_marketing_consent/update": "SMS consent changed",
    "customers/purchasing_summary": "order placed", "customer.tags_added": "tags added", "customer.tags_removed": "tags removed",
    "customers/redact": "erasure request", "shop/redact": "shop erasure request", "customers/data_request": "data request",
  };
  const CHANGED_BY = {
    import: "by the full import", refetch: "by a re-fetch from Shopify after a webhook",
    reconcile: "by a sweep (a change webhooks missed)",
  };

  let csrf = "";
  let pollTimer = 0;
  let watching = null; // run id returned by POST /sync, until status shows it
  let watchTries = 0;
  let wasRunning = false;
  let lastRunId = null;
  let signedIn = false;
  let searchSeq = 0;
  let contactSeq = 0;
  let runsFilter = "all";
  let runsBefore = null;
  let lastOverview = 0;
  let revealUntil = 0; // after Sync now, keep its progress on screen while the page settles
  let problemAbove = null; // the failed run whose problem the headline shows: said once

  // ---------- helpers ----------
  const num = (n) => (typeof n === "number" && isFinite(n) ? numFmt.format(n) : "–");
  const plural = (n, one, many) => `${num(n)} ${n === 1 ? one : many}`;
  const parseTime = (s) => {
    if (!s) return null;
    const d = new Date(s);
    return isNaN(d.getTime()) || d.getUTCFullYear() < 1900 ? null : d;
  };
  const date = (s) => {
    const d = parseTime(s);
    return d ? dateFmt.format(d) : "–";
  };
  // ago is "12 s ago", "3 min ago", "2 h ago", "4 days ago".
  function ago(s) {
    const d = parseTime(s);
    if (!d) return "–";
    const sec = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
    if (sec < 60) return `${num(sec)} s ago`;
    if (sec < 3600) return `${num(Math.floor(sec / 60))} min ago`;
    if (sec < 48 * 3600) return `${num(Math.floor(sec / 3600))} h ago`;
    return `${num(Math.floor(sec / 86400))} days ago`;
  }
  // when is "3 min ago (14:03:12)": relative, then the exact time.
  const when = (s) => (parseTime(s) ? `${ago(s)} (${date(s)})` : "–");
  function duration(ms) {
    if (!(ms >= 0)) return "–";
    if (ms < 1000) return "under 1 s";
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
  function badge(node, state, text) {
    node.textContent = text || state;
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
  function cell(tag, text, label, cls) {
    const c = el(tag, text, cls);
    if (label) c.dataset.label = label;
    return c;
  }
  // problemBox fills node with a problem: what happened, what to do, and
  // the technical detail one click away.
  function problemBox(node, p, lead) {
    node.replaceChildren();
    node.className = `problem${p.resumes ? " resumes" : ""}`;
    node.append(el("p", `${lead || ""}${p.title || "The run failed."}`, "title"));
    if (p.fix) node.append(el("p", p.fix));
    if (p.detail) {
      const d = el("details");
      d.append(el("summary", "Technical detail"), el("pre", p.detail));
      node.append(d);
    }
  }
  const runWords = (r) => TRIGGERS[r.trigger] || r.trigger || "Run";
  const isImport = (r) => r && r.trigger !== "reconcile";

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
    await quiet(Promise.all([refreshOverview(true), refreshRuns(), loadLastCheck()]));
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
    renderConnection(o.connection || {});
    renderCounts(o.next_run, o.refetch_pending);
    renderCopy(o);
    renderImportTile(o.last_import, o.last_good_import);
    renderWebhookTile(o.webhooks || {});
    renderSweepTile(o.last_sweep, o.last_catch);
    renderCaught(o.last_catch);
    renderWebhooks(o.webhooks || {});
    renderRejected(o.webhooks || {});
    renderOutbound(Array.isArray(o.outbound) ? o.outbound : [], o.changes || {});
    renderSyncCard(o.last_import, !!o.running && !!o.last_import && o.last_import.state === "running");
    show($("check-box"), !!o.can_check);
    show($("downloads"), true);
    if (first) lastRunId = o.last_run ? o.last_run.id : null;
    lastOverview = Date.now();
    if (Date.now() < revealUntil) reveal();
  }

  function renderConnection(c) {
    const cs = $("connection-state");
    if (!c.last_call_at && !c.last_status) {
      badge(cs, "none", "not yet used");
      setText("connection-detail", "No API call since the daemon started.");
    } else if (c.ok) {
      badge(cs, "ok", "ok");
      setText("connection-detail", "Shopify answered the last call.");
    } else {
      badge(cs, "fail", "error");
      setText("connection-detail", c.problem ? c.problem.title : `The last call failed${c.last_status ? ` (HTTP ${c.last_status})` : ""}.`);
    }
    setText("last-call", c.last_call_at ? when(c.last_call_at) : "None yet");
    let v = c.served_version || c.configured_version || "–";
    if (c.served_version && c.configured_version && c.served_version !== c.configured_version) {
      v = `${c.served_version} (you asked for ${c.configured_version}, which Shopify no longer serves)`;
    }
    setText("api-version", v);
    setText("token-kind", c.token_kind || "–");
  }

  function renderCounts(nextRun, refetch) {
    setText("next-run", nextRun ? date(nextRun) : "Not scheduled");
    setText("refetch-pending", typeof refetch === "number"
      ? (refetch === 0 ? "None" : plural(refetch, "contact", "contacts")) : "–");
  }

  // renderCopy is the headline: is the copy exact?
  function renderCopy(o) {
    const c = o.copy || {};
    const sh = c.shopify;
    const shopifyWords = sh
      ? `${plural(sh.count, "customer", "customers")} in Shopify (${sh.source === "import" ? "counted at the last import's start" : "counted"} ${ago(sh.counted_at)})`
      : "Shopify's count not known yet";
    const copyWords = `${plural(c.active || 0, "contact", "contacts")} in the copy`;
    let mark = "!", title = "", detail = "";
    const prob = $("copy-problem");
    show(prob, false);
    problemAbove = null;
    switch (c.state) {
      case "exact":
        mark = "✓"; title = "Your copy is exact";
        detail = `${copyWords}, ${shopifyWords}.`;
        break;
      case "differs": {
        const d = Math.abs(c.difference || 0);
        title = `Your copy differs from Shopify by ${plural(d, "contact", "contacts")}`;
        detail = `${copyWords}, ${shopifyWords}. Webhooks and the next sweep usually settle a small difference within minutes; if it stays, press Sync now.`;
        break;
      }
      case "importing": {
        mark = "↻";
        const r = o.last_import || {};
        title = r.total ? `Importing: ${num(Math.min(r.fetched || 0, r.total))} of ${plural(r.total, "customer", "customers")}` : "Importing…";
        detail = "The copy is complete when the import finishes. Webhooks keep arriving meanwhile.";
        break;
      }
      case "import_failed":
        title = "The first full import did not finish";
        detail = `${copyWords} so far, ${shopifyWords}. Fix the problem below, then press Sync now: it continues where it stopped.`;
        if (o.last_import && o.last_import.problem) {
          problemBox(prob, o.last_import.problem);
          show(prob, true);
          problemAbove = o.last_import.id;
        }
        break;
      case "no_import":
        title = "No full import yet";
        detail = `${copyWords}${c.active ? " (from webhooks)" : ""}; ${shopifyWords}. Press Sync now to copy every customer.`;
        break;
      default:
        mark = "?"; title = "Shopify's count is not known yet";
        detail = `${copyWords}. shopsync asks Shopify for its count after each import and sweep.`;
    }
    $("copy").className = `card wide state-${c.state || "unknown"}`;
    setText("copy-mark", mark);
    setText("copy-state", title);
    setText("copy-detail", detail);
  }

  function tileState(id, state) {
    $(id).className = `tile${state ? ` tile-${state}` : ""}`;
  }

  function renderImportTile(last, good) {
    if (!last) {
      setText("import-summary", "None yet");
      setText("import-when", "Press Sync now for the first one.");
      tileState("tile-import", "warn");
      return;
    }
    if (last.state === "running") {
      setText("import-summary", "Running now");
      setText("import-when", `started ${ago(last.started_at)}`);
      tileState("tile-import", "");
      return;
    }
    if (last.state === "failed") {
      setText("import-summary", `Failed: ${last.problem ? last.problem.title : "see the run history"}`);
      setText("import-when", `${when(last.finished_at || last.started_at)}${good ? ` · the last complete one ${ago(good.finished_at)}` : ""}`);
      tileState("tile-import", "bad");
      return;
    }
    setText("import-summary", `Succeeded: ${plural(last.created, "new contact", "new contacts")}, ${num(last.updated)} updated, ${num(last.deleted)} deleted`);
    setText("import-when", when(last.finished_at));
    tileState("tile-import", "");
  }

  function renderWebhookTile(w) {
    const s = w.subscriptions || {};
    const serious = (w.rejected_by_reason || []).filter((r) => r.serious).reduce((n, r) => n + r.count, 0);
    if (s.state === "not_configured" && !w.last_delivery_at) {
      setText("webhooks-summary", "Not set up");
      setText("webhooks-when", "Set webhooks.address for changes within seconds.");
      tileState("tile-webhooks", "warn");
      return;
    }
    if (w.last_delivery_at) {
      setText("webhooks-summary", `Live: last delivery ${ago(w.last_delivery_at)}`);
    } else {
      setText("webhooks-summary", "No delivery yet");
    }
    let sub = `${plural(w.accepted || 0, "delivery", "deliveries")} in 24 h`;
    if (w.rejected) sub += ` · ${num(w.rejected)} refused`;
    setText("webhooks-when", sub);
    tileState("tile-webhooks", serious ? "bad" : (s.state === "missing" ? "warn" : ""));
  }

  function renderSweepTile(last, caught) {
    if (!last) {
      setText("sweep-summary", "None yet");
      setText("sweep-when", "Sweeps start after the first import.");
      tileState("tile-sweep", "");
      return;
    }
    const lastWords = `last sweep ${ago(last.finished_at || last.started_at)}`;
    tileState("tile-sweep", "");
    if (last.state === "failed") {
      setText("sweep-summary", `Last sweep failed: ${last.problem ? last.problem.title : ""}`);
      setText("sweep-when", lastWords);
      tileState("tile-sweep", "bad");
      return;
    }
    // The last catch within a day, even if later sweeps found nothing new.
    const c = caught && caught.run;
    const at = c && parseTime(c.finished_at || c.started_at);
    if (at && Date.now() - at.getTime() < 24 * 3600 * 1000) {
      const n = (c.created || 0) + (c.updated || 0);
      setText("sweep-summary", `Caught ${plural(n, "change", "changes")} webhooks missed`);
      setText("sweep-when", `${ago(c.finished_at || c.started_at)} · ${lastWords}`);
      return;
    }
    setText("sweep-summary", last.state === "running" ? "Sweeping now" : "Nothing missed by webhooks");
    setText("sweep-when", `${lastWords} (in 24 hours)`);
  }

  // renderCaught lists the contacts the last sweep that caught changes
  // created or updated.
  function renderCaught(c) {
    const sec = $("caught");
    if (!c || !c.run) { show(sec, false); return; }
    show(sec, true);
    const r = c.run;
    const n = (r.created || 0) + (r.updated || 0);
    let text = `The sweep ${ago(r.finished_at || r.started_at)} (${date(r.started_at)}) found ${plural(n, "change", "changes")} webhooks had not brought: ` +
      `${plural(r.created || 0, "new contact", "new contacts")}, ${num(r.updated || 0)} updated.`;
    const list = $("caught-list");
    list.replaceChildren();
    const contacts = Array.isArray(c.contacts) ? c.contacts : [];
    if (contacts.length < n) text += contacts.length ? ` The first ${num(contacts.length)}:` : " (Its list of contacts was not kept.)";
    setText("caught-summary", text);
    for (const k of contacts) {
      const li = el("li");
      if (k.active) {
        const a = el("a", `${k.name || "(no name)"} — ${k.email || "(no email)"}`);
        a.href = `#/contacts/${encodeURIComponent(k.id)}`;
        li.append(a);
      } else {
        li.append(el("span", `Customer ${k.id}`, "muted"));
      }
      li.append(el("span", k.created ? "new" : "updated", "pill"));
      if (!k.active) li.append(el("span", " deleted since", "muted small"));
      list.append(li);
    }
  }

  function renderRejected(w) {
    const sec = $("rejected-warning");
    const serious = (w.rejected_by_reason || []).filter((r) => r.serious);
    if (serious.length === 0) { show(sec, false); return; }
    const n = serious.reduce((s, r) => s + r.count, 0);
    setText("rejected-title", `Shopify's webhooks are being refused: ${plural(n, "delivery", "deliveries")} in the last 24 hours`);
    const ul = $("rejected-reasons");
    ul.replaceChildren();
    for (const r of serious) {
      const li = el("li");
      li.append(el("strong", `${plural(r.count, "delivery", "deliveries")} ${r.what}`));
      li.append(el("span", ` (the last ${ago(r.last_at)}). `, "muted"));
      li.append(el("span", r.fix));
      ul.append(li);
    }
    show(sec, true);
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
    for (const o of outcomes) hr.append(el("th", OUTCOME_WORDS[o] || o, "num"));
    hr.append(el("th", "Total", "num"));
    for (const th of hr.children) th.scope = "col";
    thead.append(hr);
    if (byTopic.size === 0) {
      const td = el("td", "No webhooks in the last 24 hours", "empty");
      td.colSpan = outcomes.length + 2;
      emptyRow(tbody, td);
    }
    for (const [topic, counts] of [...byTopic].sort((a, b) => String(a[0]).localeCompare(String(b[0])))) {
      const tr = el("tr");
      const th = el("th"); th.scope = "row";
      th.append(el("span", TOPICS[topic] ? `${TOPICS[topic]} (${topic})` : topic));
      tr.append(th);
      let total = 0;
      for (const o of outcomes) {
        total += counts[o] || 0;
        tr.append(cell("td", counts[o] ? num(counts[o]) : "–", OUTCOME_WORDS[o] || o, "num"));
      }
      tr.append(cell("td", num(total), "Total", "num"));
      tbody.append(tr);
    }
    const rej = w.rejected || 0;
    let rt = rej
      ? `${plural(rej, "delivery", "deliveries")} refused in the last 24 hours: ` +
        (w.rejected_by_reason || []).map((r) => `${num(r.count)} ${r.what}`).join(", ") + "."
      : "No delivery refused in the last 24 hours.";
    if (w.last_delivery_at) rt += ` Last delivery accepted ${when(w.last_delivery_at)}.`;
    if (w.test_delivery_at) rt += ` Last test delivery ${ago(w.test_delivery_at)}.`;
    setText("webhooks-rejected", rt);
    const s = w.subscriptions || {};
    const missing = Array.isArray(s.missing) ? s.missing : [];
    let text;
    switch (s.state) {
      case "not_configured": text = "Subscriptions: set webhooks.address to keep Shopify's subscriptions in place."; break;
      case "ok": text = `Subscriptions: all in place${s.address ? ` for ${s.address}` : ""}.`; break;
      case "missing": text = `Subscriptions missing${s.address ? ` for ${s.address}` : ""}: ${missing.join(", ") || "some topics"}. shopsync re-creates them after the next scheduled import.`; break;
      default: text = "Subscriptions: not checked yet.";
    }
    setText("subscriptions", text);
    $("subscriptions").className = `small${s.state === "missing" ? " error" : ""}`;
  }

  // ---------- outbound webhooks ----------
  const OUTBOUND_STATES = {
    idle: ["ok", "up to date"], delivering: ["ok", "delivering"], starting: ["none", "starting"],
    retrying: ["warn", "retrying"], paused: ["fail", "paused"],
  };

  function renderOutbound(eps, feed) {
    show($("outbound"), eps.length > 0);
    const tbody = $("outbound-endpoints").tBodies[0];
    tbody.replaceChildren();
    const paused = $("outbound-paused");
    paused.replaceChildren();
    for (const e of eps) {
      const tr = el("tr");
      const th = el("th"); th.scope = "row";
      th.append(el("span", e.name), el("br"), el("span", e.url || "", "muted small"));
      tr.append(th);
      const [state, words] = OUTBOUND_STATES[e.state] || ["none", e.state];
      const st = cell("td", "", "State");
      const b = el("span");
      badge(b, state, words);
      st.append(b);
      if (e.state === "retrying" && e.last_error) {
        st.append(el("span", ` ${e.last_error}; ${plural(e.attempts || 0, "attempt", "attempts")}`, "small"));
      }
      tr.append(st);
      tr.append(cell("td", num(e.behind), "Waiting", "num"));
      tr.append(cell("td", num(e.delivered), "Delivered", "num"));
      tr.append(cell("td", e.last_success_at ? when(e.last_success_at) : "Never", "Last delivery"));
      tbody.append(tr);
      if (e.state === "paused") {
        const li = el("li");
        li.append(el("strong", `${e.name} is paused${e.paused_at ? ` since ${date(e.paused_at)}` : ""}: `));
        li.append(el("span", `${e.pause_reason || "deliveries stopped"}. `));
        li.append(el("span", e.fix || ""));
        const btn = el("button", "Resume now", "outline");
        btn.type = "button";
        btn.addEventListener("click", async () => {
          btn.disabled = true;
          try {
            await api(`/outbound/${encodeURIComponent(e.name)}/resume`, { method: "POST" });
          } catch (err) {
            if (!(err instanceof AuthError)) notice(`Could not resume ${e.name}: ${err.message}.`);
          }
          quiet(refreshOverview());
        });
        li.append(" ", btn);
        paused.append(li);
      }
    }
    show($("outbound-warning"), paused.children.length > 0);
    setText("outbound-feed", eps.length > 0 && typeof feed.last === "number"
      ? `The change feed is at change ${num(feed.last)}; it keeps changes from ${num(feed.oldest)} on (GET /changes).` : "");
  }

  // ---------- runs ----------
  async function refreshRuns(append) {
    const q = new URLSearchParams({ limit: "20" });
    if (runsFilter !== "all") q.set("trigger", runsFilter);
    if (append && runsBefore) q.set("before", String(runsBefore));
    const { body } = await api(`/sync/runs?${q}`);
    const tbody = $("runs").tBodies[0];
    if (!append) tbody.replaceChildren();
    const runs = Array.isArray(body.runs) ? body.runs : [];
    if (runs.length === 0 && !append) {
      const td = el("td", runsFilter === "all" ? "No runs yet" : "No such runs yet", "empty"); td.colSpan = 8;
      emptyRow(tbody, td);
    }
    for (const r of runs) tbody.append(runRow(r));
    runsBefore = body.next_before || null;
    show($("runs-more"), !!runsBefore);
  }

  function runRow(r) {
    const tr = el("tr");
    tr.dataset.state = r.state || "";
    tr.dataset.runId = String(r.id);
    fillRunRow(tr, r);
    return tr;
  }

  function fillRunRow(tr, r) {
    tr.replaceChildren();
    tr.dataset.state = r.state || "";
    tr.append(cell("td", `${runWords(r)} #${r.id}${r.resumed ? " (resumed)" : ""}`, "Run"));
    tr.append(cell("td", date(r.started_at), "Started"));
    const st = parseTime(r.started_at), fin = parseTime(r.finished_at);
    tr.append(cell("td", st && fin ? duration(fin - st) : (r.state === "running" && st ? `${duration(Date.now() - st)} so far` : "–"), "Duration"));
    tr.append(cell("td", num(r.created), "New", "num"));
    tr.append(cell("td", num(r.updated), "Updated", "num"));
    tr.append(cell("td", num(r.unchanged), "Unchanged", "num"));
    tr.append(cell("td", num(r.deleted), "Deleted", "num"));
    const res = cell("td", null, "Result", r.problem ? "wrap" : "");
    const b = el("span"); badge(b, r.state || "unknown");
    res.append(b);
    if (r.state === "failed" && r.problem) {
      const box = el("div");
      problemBox(box, r.problem);
      res.append(box);
    }
    tr.append(res);
  }

  // updateRunRow keeps the running row's counts current between refreshes.
  function updateRunRow(run) {
    if (!run) return;
    const tr = document.querySelector(`#runs tbody tr[data-run-id="${run.id}"]`);
    if (tr) fillRunRow(tr, run);
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
    renderCounts(s.next_run, s.refetch_pending);
    const imp = s.last_import || null;
    let running = !!s.running && !!imp && imp.state === "running";
    // The run we started may not be visible yet: keep watching for a moment.
    if (!running && watching != null && (!imp || imp.id < watching) && watchTries++ < 20) running = true;
    if (imp && watching != null && imp.id >= watching) watching = null;
    renderSyncCard(imp, running);
    const id = s.last_run ? s.last_run.id : null;
    if ((wasRunning && !running) || id !== lastRunId) {
      quiet(refreshOverview());
      quiet(refreshRuns());
    } else if (running) {
      updateRunRow(imp);
      if (Date.now() - lastOverview > 10000) quiet(refreshOverview());
    } else if (Date.now() - lastOverview > 15000) {
      quiet(refreshOverview()); // webhooks, counts and warnings move while idle too
    }
    wasRunning = running;
    lastRunId = id;
    if (Date.now() < revealUntil) reveal();
    schedulePoll(running ? 500 : 5000);
  }

  function setBusy(running) {
    const b = $("sync-now");
    b.disabled = running;
    b.textContent = running ? "Syncing…" : "Sync now";
  }

  // renderSyncCard shows the running full import, or the last one: never a
  // sweep, and nothing moving unless something runs.
  function renderSyncCard(run, running) {
    setBusy(running);
    const p = $("sync-progress");
    const err = $("run-error");
    setText("run-label", running ? "Running now:" : "Last full import:");
    if (!run || (running && run.state !== "running")) {
      if (running) {
        badge($("run-state"), "running");
        show(p, true);
        p.removeAttribute("value"); // indeterminate: starting
        setText("sync-progress-text", "Starting…");
      } else {
        badge($("run-state"), "none", "None yet");
        show(p, false);
        setText("sync-progress-text", "No full import has run yet.");
      }
      show(err, false);
      return;
    }
    badge($("run-state"), run.state);
    const fetched = run.fetched || 0, total = run.total || 0;
    show(p, true);
    if (run.state === "running") {
      if (total > 0) {
        p.max = Math.max(total, fetched);
        p.value = fetched;
      } else {
        p.removeAttribute("value");
      }
    } else if (run.state === "succeeded") {
      p.max = 1; p.value = 1;
    } else {
      p.max = Math.max(total, fetched, 1); p.value = fetched;
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
    let count;
    if (total > 0 && fetched > total) {
      // Customers added during the run: Shopify counted at its start.
      count = `${plural(fetched, "customer", "customers")} (Shopify counted ${num(total)} when the run started; customers were added meanwhile)`;
    } else if (total > 0) {
      count = `${num(fetched)} of ${plural(total, "customer", "customers")}`;
    } else {
      count = plural(fetched, "customer", "customers");
    }
    const parts = [count];
    if (run.state !== "running" || run.created || run.updated) {
      parts.push(`${plural(run.created || 0, "new", "new")}, ${num(run.updated || 0)} updated`);
    }
    if (ms > 0) {
      parts.push(duration(ms));
      if (ms >= 1000 && run.state === "running") parts.push(`${num(Math.round(fetched / (ms / 1000)))}/s`);
    }
    if (run.state !== "running") parts.push(ago(run.finished_at || run.started_at));
    setText("sync-progress-text", parts.join(" · "));
    if (run.state === "failed" && run.id === problemAbove) {
      err.replaceChildren(el("p", "It stopped: why, and what to do, is at the top of the page."));
      err.className = "small";
      show(err, true);
    } else if (run.state === "failed") {
      problemBox(err, run.problem || { title: "The import stopped.", detail: run.error }, "The import stopped: ");
      show(err, true);
    } else {
      show(err, false);
    }
  }

  // reveal brings the progress on screen when it is not (a phone): the
  // sync card to the top, so that the headline growing above it cannot
  // push the bar out again (the browser anchors the scroll).
  function reveal() {
    const r = $("sync-progress").getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) $("sync").scrollIntoView({ block: "start" });
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
      renderSyncCard(null, true);
      revealUntil = Date.now() + 5000;
    } catch (e) {
      if (e instanceof AuthError) return;
      setText("sync-message", `Could not start a sync: ${e.message}.`);
    }
    reveal();
    pollStatus();
  }

  // ---------- connection checks ----------
  const CHECK_WORDS = { ok: "ok", warn: "warning", fail: "failed", skip: "skipped" };

  function renderCheck(rep, running) {
    const list = $("check-results");
    list.replaceChildren();
    if (!rep) {
      setText("check-status", running ? "Checking…" : "Checks the token, the app's access, the webhooks and a test delivery, the clock and the disk.");
      return;
    }
    const fails = rep.checks.filter((c) => c.status === "fail").length;
    const warns = rep.checks.filter((c) => c.status === "warn").length;
    setText("check-status", `${running ? "Checking again… " : ""}Checked ${ago(rep.at)}: ` +
      (fails ? `${plural(fails, "problem", "problems")} to fix` : "no problem") + (warns ? `, ${plural(warns, "warning", "warnings")}` : "") + ".");
    for (const c of rep.checks) {
      const li = el("li");
      li.dataset.check = c.id;
      li.dataset.status = c.status;
      const b = el("span"); badge(b, c.status, CHECK_WORDS[c.status] || c.status);
      const body = el("div");
      body.append(el("p", `${c.name}: ${c.summary}`));
      if (c.fix && (c.status === "fail" || c.status === "warn")) body.append(el("p", `To fix: ${c.fix}`, "fix small"));
      if (c.detail) {
        const d = el("details");
        d.append(el("summary", "Technical detail"), el("pre", c.detail));
        body.append(d);
      }
      li.append(b, body);
      list.append(li);
    }
  }

  async function loadLastCheck() {
    const { body } = await api("/api/check");
    renderCheck(body.report || null, false);
  }

  async function checkNow() {
    const b = $("check-now");
    b.disabled = true;
    setText("check-status", "Checking… (up to 30 s)");
    try {
      const { body } = await api("/api/check", { method: "POST", accept: [202] });
      renderCheck(body.report || null, !!body.running);
    } catch (e) {
      if (!(e instanceof AuthError)) setText("check-status", `The check could not run: ${e.message}.`);
    } finally {
      b.disabled = false;
    }
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
      : contacts.length === 50 ? "Showing the first 50 matches; type more to narrow." : `${plural(contacts.length, "contact", "contacts")} found.`);
  }

  const label = (k) => LABELS[k] || (k.charAt(0).toUpperCase() + k.slice(1).replace(/_/g, " "));

  function formatValue(key, v, attrs) {
    if (v === null || v === undefined || v === "") return "—";
    if (typeof v === "boolean") return v ? "Yes" : "No";
    if (/_consent$/.test(key)) return CONSENT[v] || String(v);
    if (/_opt_in_level$/.test(key)) return OPT_IN[v] || String(v);
    if (key === "total_spent") return money(v, attrs && attrs.currency);
    if (typeof v === "number") return num(v);
    if (typeof v === "string" && /_at$/.test(key) && parseTime(v)) return date(v);
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  // money shows an exact decimal string in the browser's format when a
  // float keeps it exact, else as it is.
  function money(v, currency) {
    const n = Number(v);
    if (!isFinite(n) || Math.abs(n) >= 1e13) return currency ? `${v} ${currency}` : String(v);
    try {
      return new Intl.NumberFormat(lang, currency ? { style: "currency", currency } : { minimumFractionDigits: 2 }).format(n);
    } catch (e) {
      return currency ? `${v} ${currency}` : String(v);
    }
  }

  function who(by) {
    if (!by) return "—";
    if (CHANGED_BY[by]) return CHANGED_BY[by];
    if (by.includes("/") || by.includes(".")) return `by Shopify webhook (${TOPICS[by] || by})`;
    return `by ${by}`;
  }
  const consentWords = (s) => (s ? (CONSENT[s] || s) : "No consent recorded");

  function addFact(dl, name, value) {
    dl.append(el("dt", name), el("dd", value));
  }

  function summaryTile(box, name, value, state) {
    const t = el("div", null, `tile${state ? ` tile-${state}` : ""}`);
    t.append(el("h2", name), el("p", value, "tile-main"));
    box.append(t);
  }

  // timeline groups the attributes by when and by what they last changed:
  // "14:03:12 by Shopify webhook (email consent changed): Email consent → Subscribed".
  function renderTimeline(c, attrs, changed) {
    const ol = $("contact-timeline");
    ol.replaceChildren();
    const groups = new Map();
    const perAttr = changed.attributes || {};
    for (const k of Object.keys(attrs)) {
      const ch = perAttr[k] || { updated_at: changed.updated_at, changed_by: changed.changed_by };
      const key = `${ch.updated_at}|${ch.changed_by}`;
      if (!groups.has(key)) groups.set(key, { at: ch.updated_at, by: ch.changed_by, items: [] });
      groups.get(key).items.push(k);
    }
    const rowKey = `${changed.updated_at}|${changed.changed_by}`;
    if (!groups.has(rowKey)) groups.set(rowKey, { at: changed.updated_at, by: changed.changed_by, items: [] });
    groups.get(rowKey).profile = true;
    const entries = [...groups.values()].sort((a, b) => (parseTime(b.at) || 0) - (parseTime(a.at) || 0));
    for (const g of entries) {
      const li = el("li");
      li.append(el("div", `${date(g.at)} — ${who(g.by)}`, "when"));
      const ul = el("ul", null, "changes");
      let empty = 0;
      for (const k of g.items.sort((a, b) => label(a).localeCompare(label(b)))) {
        const v = attrs[k];
        if (v === null || v === undefined || v === "") { empty++; continue; }
        ul.append(el("li", `${label(k)} → ${formatValue(k, v, attrs)}`));
      }
      if (g.profile) ul.append(el("li", "name, email, phone, state and tags"));
      if (empty) ul.append(el("li", `${plural(empty, "empty field", "empty fields")}`, "muted"));
      li.append(ul);
      ol.append(li);
    }
    if (changed.first_stored_at) {
      const li = el("li");
      li.append(el("div", `${date(changed.first_stored_at)} — first copied into shopsync`, "when"));
      ol.append(li);
    }
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
      setText("contact-missing", "This contact is not in the copy: unknown, deleted or erased.");
      show($("contact-missing"), true);
      sec.focus();
      return;
    }
    const c = res.body.contact;
    const changed = res.body.changed || {};
    const attrs = c.attributes || {};
    setText("contact-name", contactName(c) || "(no name)");
    setText("contact-email", c.email || "(no email)");
    const admin = $("contact-admin");
    if (res.body.admin_url) { admin.href = res.body.admin_url; show(admin, true); } else { show(admin, false); }

    const sum = $("contact-summary");
    sum.replaceChildren();
    if ("orders_count" in attrs) summaryTile(sum, "Orders", attrs.orders_count == null ? "—" : num(attrs.orders_count));
    if ("total_spent" in attrs) summaryTile(sum, "Total spent", formatValue("total_spent", attrs.total_spent, attrs));
    if ("email_marketing_consent" in attrs || "accepts_email_marketing" in attrs) {
      summaryTile(sum, "Email marketing", consentWords(attrs.email_marketing_consent), attrs.accepts_email_marketing ? "ok" : "");
    }
    if ("sms_marketing_consent" in attrs) summaryTile(sum, "SMS marketing", consentWords(attrs.sms_marketing_consent), attrs.accepts_sms_marketing ? "ok" : "");

    const f = $("contact-fields");
    f.replaceChildren();
    addFact(f, "Phone", c.phone || "—");
    addFact(f, "Account", c.state ? (ACCOUNT[c.state] || c.state) : "—");
    if (attrs.last_order_name) addFact(f, "Last order", attrs.last_order_name);
    addFact(f, "Customer since", date(c.shopify_created_at));
    addFact(f, "Updated in Shopify", date(c.shopify_updated_at));
    addFact(f, "Shopify id", String(c.id));
    const tags = $("contact-tags");
    tags.replaceChildren();
    const tagList = Array.isArray(c.tags) ? c.tags : [];
    if (tagList.length === 0) tags.append(el("li", "No tags", "muted"));
    for (const t of tagList) tags.append(el("li", t, "tag"));
    renderTimeline(c, attrs, changed);

    const tbody = $("contact-attributes").tBodies[0];
    tbody.replaceChildren();
    const perAttr = changed.attributes || {};
    const keys = Object.keys(attrs).sort((a, b) => label(a).localeCompare(label(b)));
    if (keys.length === 0) {
      const td = el("td", "No attributes", "empty"); td.colSpan = 3;
      emptyRow(tbody, td);
    }
    for (const k of keys) {
      const ch = perAttr[k] || {};
      const tr = el("tr");
      const th = el("th", label(k), "attr"); th.scope = "row";
      th.title = k;
      const at = ch.updated_at || changed.updated_at, by = ch.changed_by || changed.changed_by;
      tr.append(th, cell("td", formatValue(k, attrs[k], attrs), "Value"),
        el("td", at ? `${date(at)} ${who(by)}` : "—", "muted small changed"));
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
      $("contact").scrollIntoView();
      return;
    }
    contactSeq++;
    show($("contact"), false);
    if (h === "#/contacts") {
      $("contacts").scrollIntoView();
      $("search").focus();
    } else if (h === "#/") {
      window.scrollTo(0, 0);
    }
  }

  // ---------- wiring ----------
  document.addEventListener("DOMContentLoaded", () => {
    $("sync-now").addEventListener("click", syncNow);
    $("sign-out").addEventListener("click", signOut);
    $("check-now").addEventListener("click", checkNow);
    $("runs-filter").addEventListener("change", (ev) => {
      runsFilter = ev.target.value;
      runsBefore = null;
      quiet(refreshRuns());
    });
    $("runs-more").addEventListener("click", () => quiet(refreshRuns(true)));
    $("login").addEventListener("submit", () => {
      $("token").value = $("token").value.trim(); // a pasted space is not part of the token
    });
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
