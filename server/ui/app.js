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

  // exactJSON parses JSON as JSON.parse does, but an integer too large for
  // a JavaScript number (a Shopify id in a record) comes as its digits, in
  // a string, instead of a rounded number.
  function exactJSON(text) {
    let out = "", from = 0, i = 0;
    const digit = (c) => c >= "0" && c <= "9";
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
        i++;
      } else if (c === "-" || digit(c)) {
        let j = i + 1;
        while (j < text.length && (digit(text[j]) || ".eE+-".includes(text[j]))) j++;
        const tok = text.slice(i, j);
        if (/^-?[0-9]+$/.test(tok) && !Number.isSafeInteger(Number(tok))) {
          out += `${text.slice(from, i)}"${tok}"`;
          from = j;
        }
        i = j;
      } else {
        i++;
      }
    }
    return JSON.parse(out + text.slice(from));
  }

  // api calls the daemon. opts: method (an unsafe one carries the CSRF
  // token), json (the body), signal (an AbortController's), accept (the
  // error statuses the caller handles), exact (integers beyond 2^53 kept
  // as text: records carry ids as numbers).
  async function api(path, opts = {}) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (opts.method && opts.method !== "GET") {
      init.method = opts.method;
      init.headers["X-CSRF-Token"] = csrf;
    }
    if (opts.json !== undefined) {
      init.body = JSON.stringify(opts.json);
      init.headers["Content-Type"] = "application/json";
    }
    if (opts.signal) init.signal = opts.signal;
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      if (e.name !== "AbortError") notice("Cannot reach shopsync. Retrying…");
      throw e;
    }
    if (res.status === 401) {
      showLogin();
      throw new AuthError("signed out");
    }
    notice("");
    let body = null;
    try { body = opts.exact ? exactJSON(await res.text()) : await res.json(); } catch (e) { body = null; }
    if (opts.signal && opts.signal.aborted) throw new DOMException("aborted", "AbortError");
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
    await quiet(Promise.all([refreshOverview(true), refreshRuns(), loadLastCheck(), loadSegments()]));
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
      if (segmentsOn) countSegments(segmentsSeq); // the run changed contacts
      else quiet(loadSegments()); // not listed yet: the first answer failed
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
    $("contact-mapping").href = `#/mapping/${encodeURIComponent(String(c.id))}`;
    show($("contact-mapping"), segmentsOn);

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

  // ---------- segments ----------
  const EXPORTS = [["csv-excel", "CSV for Excel"], ["csv", "plain CSV"], ["jsonl", "JSON lines"]];
  const CHANNELS = { email: "Email", sms: "SMS" };
  const CHANNEL_WORDS = { email: "email", sms: "SMS" };
  let segmentsSeq = 0;
  let segmentsOn = false; // the daemon answers /segments
  let moreSeq = 0;

  // exportLinks is the downloads of a segment, or of its marketing list
  // for channel ch: "CSV for Excel · plain CSV · JSON lines".
  function exportLinks(name, ch) {
    const span = el("span");
    EXPORTS.forEach(([format, words], i) => {
      const q = new URLSearchParams({ segment: name, format });
      if (ch) q.set("for", ch);
      const a = el("a", words);
      a.href = `/contacts/export?${q}`;
      a.setAttribute("download", "");
      a.dataset.format = format;
      a.setAttribute("aria-label", `${words}: ${name}${ch ? `, ${CHANNELS[ch]} list` : ""}`);
      if (i) span.append(" · ");
      span.append(a);
    });
    return span;
  }

  async function loadSegments() {
    const seq = ++segmentsSeq;
    let res;
    try {
      res = await api("/segments", { accept: [404] });
    } catch (e) {
      if (seq === segmentsSeq && !(e instanceof AuthError)) setText("segments-status", `Could not list the segments: ${e.message}`);
      throw e;
    }
    if (seq !== segmentsSeq) return;
    segmentsOn = res.status !== 404;
    for (const id of ["segments", "mapping", "nav-segments", "nav-mapping"]) show($(id), segmentsOn);
    if (!segmentsOn) return;
    const segs = Array.isArray(res.body.segments) ? res.body.segments : [];
    renderFields(Array.isArray(res.body.fields) ? res.body.fields : []);
    const tbody = $("segment-list").tBodies[0];
    tbody.replaceChildren();
    for (const s of segs) tbody.append(segmentRow(s));
    countSegments(seq);
  }

  // segmentsWords is "10 built-in segments, 2 saved."
  function segmentsWords() {
    const rows = [...$("segment-list").tBodies[0].querySelectorAll("tr[data-segment]")];
    const saved = rows.filter((tr) => tr.dataset.kind === "saved").length;
    return `${plural(rows.length - saved, "built-in segment", "built-in segments")}, ${num(saved)} saved.`;
  }

  // countSegments asks each segment's count at once, and shows each as it
  // arrives; one that fails shows why.
  async function countSegments(seq) {
    const rows = [...$("segment-list").tBodies[0].querySelectorAll("tr[data-segment]")];
    setText("segments-status", `${segmentsWords()} Counting…`);
    rows.forEach((tr) => tr.querySelector(".count").setAttribute("aria-busy", "true"));
    await Promise.all(rows.map(async (tr) => {
      const td = tr.querySelector(".count");
      try {
        const { body } = await api(`/segments/${encodeURIComponent(tr.dataset.segment)}/count`);
        if (seq !== segmentsSeq) return;
        td.replaceChildren(el("span", num(body.count)));
        td.className = "num count";
        tr.dataset.count = String(body.count);
      } catch (e) {
        if (seq !== segmentsSeq || e instanceof AuthError) return;
        td.replaceChildren(el("span", e.message));
        td.className = "count error small";
        delete tr.dataset.count;
      }
      td.removeAttribute("aria-busy");
    }));
    if (seq !== segmentsSeq) return;
    setText("segments-status", `${segmentsWords()} Counted at ${timeFmt.format(new Date())}.`);
  }

  function segmentRow(s) {
    const tr = el("tr");
    tr.dataset.segment = s.name;
    tr.dataset.kind = s.builtin ? "builtin" : "saved";
    const th = el("th", null, "seg");
    th.scope = "row";
    const head = el("div", null, "seg-head");
    head.append(el("code", s.name, "seg-name"));
    if (s.title) head.append(el("span", s.title, "seg-title"));
    th.append(head);
    if (s.description) th.append(el("div", s.description, "muted small"));
    th.append(el("code", s.query, "seg-query"));
    tr.append(th);
    tr.append(cell("td", s.builtin ? "built in" : "saved", "Kind", "kind"));
    const count = cell("td", null, "Contacts", "num count");
    count.append(el("span", "…", "muted"));
    tr.append(count);
    const dl = cell("td", null, "Download", "wrap downloads");
    dl.append(exportLinks(s.name));
    tr.append(dl);
    const mk = cell("td", null, "Marketing list", "wrap marketing");
    const buttons = el("span", null, "actions");
    for (const ch of Object.keys(CHANNELS)) {
      const b = el("button", `${CHANNELS[ch]} list`, "outline compact");
      b.type = "button";
      b.dataset.for = ch;
      b.setAttribute("aria-expanded", "false");
      b.setAttribute("aria-label", `${CHANNELS[ch]} list of ${s.name}`);
      b.addEventListener("click", () => toggleAudience(tr, ch, b));
      buttons.append(b);
    }
    mk.append(buttons);
    tr.append(mk);
    const act = cell("td", null, null, "delete");
    if (!s.builtin) {
      const b = el("button", "Delete", "outline compact danger");
      b.type = "button";
      b.dataset.action = "delete";
      b.setAttribute("aria-expanded", "false");
      b.setAttribute("aria-label", `Delete ${s.name}`);
      b.addEventListener("click", () => toggleDelete(tr, b));
      act.append(b);
    }
    tr.append(act);
    return tr;
  }

  // moreRow opens the row under a segment's for what a button of it
  // shows (a marketing report, a confirmation), closing what another
  // showed; it returns the row's cell, empty, or null when the button
  // closed it.
  function moreRow(tr, button) {
    const next = tr.nextElementSibling;
    const open = next && next.classList.contains("segment-more") ? next : null;
    const wasOpen = button.getAttribute("aria-expanded") === "true";
    for (const b of tr.querySelectorAll("button[aria-expanded]")) b.setAttribute("aria-expanded", "false");
    if (wasOpen) {
      if (open) open.remove();
      return null;
    }
    const more = open || el("tr", null, "segment-more");
    const td = el("td");
    td.colSpan = 6;
    td.id = `segment-more-${++moreSeq}`;
    more.replaceChildren(td);
    if (!open) tr.after(more);
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", td.id);
    return td;
  }

  // toggleAudience shows what a marketing list of the segment for
  // channel ch would hold, and what it leaves out and why, then offers it.
  async function toggleAudience(tr, ch, button) {
    const td = moreRow(tr, button);
    if (!td) return;
    const name = tr.dataset.segment;
    const status = el("p", `Counting the ${CHANNEL_WORDS[ch]} list of “${name}”…`, "report-summary");
    status.setAttribute("role", "status");
    td.append(status);
    let body;
    try {
      ({ body } = await api(`/segments/${encodeURIComponent(name)}/audience?for=${ch}`));
    } catch (e) {
      if (!(e instanceof AuthError)) {
        status.textContent = `Could not count the ${CHANNEL_WORDS[ch]} list: ${e.message}`;
        status.className = "report-summary error";
      }
      return;
    }
    if (!td.isConnected) return;
    status.replaceChildren(el("strong", `${CHANNELS[ch]} list of “${name}”:`), ` ${body.summary || ""}.`);
    const p = el("p", `Download the ${CHANNEL_WORDS[ch]} list: `, "small");
    p.append(exportLinks(name, ch));
    td.append(p);
  }

  function toggleDelete(tr, button) {
    const td = moreRow(tr, button);
    if (!td) return;
    const name = tr.dataset.segment;
    td.append(el("p", `Delete the segment “${name}”? Its contacts stay in the store; only the segment goes.`));
    const yes = el("button", "Delete", "danger");
    yes.type = "button";
    yes.dataset.action = "confirm-delete";
    const no = el("button", "Keep it", "outline compact");
    no.type = "button";
    const msg = el("p", null, "small");
    msg.setAttribute("role", "status");
    const box = el("div", null, "actions");
    box.append(yes, no);
    td.append(box, msg);
    const keep = () => { moreRow(tr, button); button.focus(); };
    no.addEventListener("click", keep);
    td.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && !yes.disabled) keep(); });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await api(`/segments/${encodeURIComponent(name)}`, { method: "DELETE" });
      } catch (e) {
        yes.disabled = false;
        if (!(e instanceof AuthError)) {
          msg.textContent = `Could not delete it: ${e.message}`;
          msg.className = "small error";
        }
        return;
      }
      td.parentElement.remove();
      tr.remove();
      setText("segments-status", `Deleted the segment “${name}”. ${segmentsWords()}`);
      $("segments-status").focus();
    });
    no.focus();
  }

  function renderFields(fields) {
    const box = $("segment-fields");
    box.replaceChildren();
    fields.forEach((f, i) => {
      if (i) box.append(", ");
      box.append(el("code", f.name));
      if (f.alias) box.append(el("span", ` (= ${f.alias})`, "muted"));
    });
  }

  // ---------- a new segment ----------
  let previewCtl = null;
  let previewTimer = 0;
  let previewSeq = 0;

  function segmentMistake(err) {
    const ta = $("segment-query");
    if (!err) {
      // Emptied too: a described-by text is read even when hidden.
      setText("segment-error-text", "");
      setText("segment-caret", "");
      show($("segment-error"), false);
      ta.removeAttribute("aria-invalid");
      return;
    }
    setText("segment-error-text", err.message || err.error || "This segment has a mistake.");
    const pre = $("segment-caret");
    pre.textContent = err.caret || "";
    show(pre, !!err.caret);
    show($("segment-error"), true);
    ta.setAttribute("aria-invalid", "true");
    // A line wider than the box scrolls: bring the caret into it.
    const lines = pre.textContent.split("\n");
    const wide = pre.scrollWidth > pre.clientWidth;
    pre.tabIndex = wide ? 0 : -1; // scrolled by keyboard too
    if (wide && lines.length > 1) {
      const charWidth = pre.scrollWidth / Math.max(...lines.map((l) => l.length));
      pre.scrollLeft = Math.max(0, lines[1].indexOf("^") * charWidth - pre.clientWidth / 3);
    } else {
      pre.scrollLeft = 0;
    }
  }

  function clearPreview() {
    show($("segment-preview"), false);
    $("segment-preview").tBodies[0].replaceChildren();
  }

  // previewKeys picks up to four of the records' fields to show: email and
  // names first (whatever the mapping's prefix), in the records' order.
  function previewKeys(records) {
    const keys = [];
    for (const r of records) {
      for (const [k, v] of Object.entries(r)) {
        if (!keys.includes(k) && (v === null || typeof v !== "object" || Array.isArray(v))) keys.push(k);
      }
    }
    const pick = [];
    for (const re of [/(^|_)e-?mail$/i, /(^|_)first_?name$/i, /(^|_)last_?name$/i, /(^|_)(full_?)?name$/i]) {
      const k = keys.find((k) => re.test(k) && !pick.includes(k));
      if (k) pick.push(k);
    }
    for (const k of keys) if (pick.length < 4 && !pick.includes(k)) pick.push(k);
    return pick.sort((a, b) => keys.indexOf(a) - keys.indexOf(b));
  }

  // rawValue is a record's or a stored contact's value as text, as it is:
  // the page shows what the CRM receives.
  function rawValue(v) {
    if (v === null || v === undefined || v === "") return "—";
    if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ") : "—";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function renderPreview(records) {
    const table = $("segment-preview");
    const keys = previewKeys(records);
    const hr = table.tHead.rows[0];
    hr.replaceChildren();
    for (const k of keys) {
      const th = el("th", k);
      th.scope = "col";
      hr.append(th);
    }
    const tbody = table.tBodies[0];
    tbody.replaceChildren();
    for (const r of records) {
      const tr = el("tr");
      for (const k of keys) tr.append(cell("td", rawValue(r[k]), k));
      tbody.append(tr);
    }
    show(table, records.length > 0);
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(previewSegment, 250);
  }

  // previewSegment counts the segment being written and shows its first
  // contacts, or where it is wrong; the answer to earlier text is dropped.
  async function previewSegment() {
    clearTimeout(previewTimer);
    if (previewCtl) previewCtl.abort();
    const seq = ++previewSeq;
    const q = $("segment-query").value;
    if (!q.trim()) {
      previewCtl = null;
      segmentMistake(null);
      clearPreview();
      setText("segment-preview-status", "");
      return;
    }
    const ctl = previewCtl = new AbortController();
    let res;
    try {
      res = await api(`/segments/preview?${new URLSearchParams({ q, limit: "5" })}`, { signal: ctl.signal, accept: [400], exact: true });
    } catch (e) {
      if (seq === previewSeq && e.name !== "AbortError" && !(e instanceof AuthError)) {
        setText("segment-preview-status", `Could not count it: ${e.message}`);
      }
      return;
    }
    if (seq !== previewSeq) return;
    previewCtl = null;
    if (res.status === 400) {
      segmentMistake(res.body);
      clearPreview();
      setText("segment-preview-status", "Not a segment yet: see what is wrong under it.");
      return;
    }
    segmentMistake(null);
    const contacts = Array.isArray(res.body.contacts) ? res.body.contacts : [];
    const n = res.body.count;
    setText("segment-preview-status", n === 0 ? "No contact matches."
      : `${plural(n, "contact matches", "contacts match")}${contacts.length < n ? `; the first ${num(contacts.length)}:` : ":"}`);
    $("segment-preview-status").dataset.count = String(n);
    renderPreview(contacts);
  }

  async function saveSegment(ev) {
    ev.preventDefault();
    const name = $("segment-name").value.trim(), query = $("segment-query").value;
    const nameErr = $("segment-name-error");
    setText("segment-name-error", "");
    show(nameErr, false);
    $("segment-name").removeAttribute("aria-invalid");
    setText("segment-save-status", "");
    const badName = (text) => {
      setText("segment-name-error", text);
      show(nameErr, true);
      $("segment-name").setAttribute("aria-invalid", "true");
      $("segment-name").focus();
    };
    if (!name) { badName("Give the segment a name."); return; }
    if (!query.trim()) {
      segmentMistake({ message: "Write the segment: which contacts it picks." });
      $("segment-query").focus();
      return;
    }
    const b = $("segment-save");
    b.disabled = true;
    let res;
    try {
      res = await api("/segments", { method: "POST", json: { name, query }, accept: [400, 409] });
    } catch (e) {
      if (!(e instanceof AuthError)) setText("segment-save-status", `Could not save it: ${e.message}`);
      return;
    } finally {
      b.disabled = false;
    }
    if (res.status === 409) {
      badName(`A segment called “${name}” exists: choose another name, or delete that one first.`);
      return;
    }
    if (res.status === 400) {
      if (res.body.caret) {
        segmentMistake(res.body);
        $("segment-query").focus();
      } else {
        badName(res.body.error || "This name cannot be saved.");
      }
      return;
    }
    $("segment-form").reset();
    previewSegment();
    setText("segment-save-status", `Saved the segment “${name}”: it is in the list above.`);
    quiet(loadSegments());
  }

  // ---------- mapping preview ----------
  let mappingSeq = 0;

  async function showMapping(id) {
    const seq = ++mappingSeq;
    setText("mapping-status", "Loading…");
    let res;
    try {
      res = await api(`/mapping/preview${id ? `?${new URLSearchParams({ id })}` : ""}`, { accept: [400, 404], exact: true });
    } catch (e) {
      if (seq === mappingSeq && !(e instanceof AuthError)) setText("mapping-status", `Could not show it: ${e.message}`);
      return;
    }
    if (seq !== mappingSeq) return;
    if (res.status !== 200) {
      show($("mapping-view"), false);
      setText("mapping-status", res.status === 404
        ? (id ? `No contact with the Shopify id ${id} in the copy.` : "No contact in the copy yet: press Sync now.")
        : res.body.error || "That is not a Shopify customer id.");
      return;
    }
    const c = res.body.contact || {};
    const record = res.body.record || {};
    const fields = Array.isArray(res.body.fields) ? res.body.fields : [];
    const name = contactName(c);
    setText("mapping-status", `${name || "(no name)"}, Shopify id ${c.id}: ${plural(fields.length, "CRM field", "CRM fields")}.`);

    const dl = $("mapping-contact");
    dl.replaceChildren();
    for (const [k, v] of Object.entries(c)) {
      if (k === "attributes") continue;
      dl.append(el("dt", k), el("dd", rawValue(v)));
    }
    const attrs = $("mapping-attributes");
    attrs.replaceChildren();
    for (const [k, v] of Object.entries(c.attributes || {})) attrs.append(el("dt", k), el("dd", rawValue(v)));

    const tbody = $("mapping-record").tBodies[0];
    tbody.replaceChildren();
    let group = "";
    for (const f of fields) {
      if (f.group && f.group !== group) {
        // JSON nests a group's fields in an object; CSV has a column each.
        const tr = el("tr", null, "group");
        const th = el("th", `In JSON, under “${f.group}”:`);
        th.colSpan = 2;
        th.scope = "rowgroup";
        tr.append(th);
        tbody.append(tr);
      }
      group = f.group || "";
      const v = f.group ? (record[f.group] || {})[f.name] : record[f.name];
      const tr = el("tr");
      tr.dataset.field = f.name;
      const th = el("th", null, "field");
      th.scope = "row";
      th.append(el("code", f.name, "name"));
      const meta = el("span", `${f.type}, from `, "meta");
      meta.append(el("code", f.source || "—"));
      th.append(meta);
      const empty = v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
      tr.append(th, cell("td", rawValue(v), "Value", `value${empty ? " muted" : ""}`));
      tbody.append(tr);
    }
    show($("mapping-view"), true);
  }

  function mappingSubmit(ev) {
    ev.preventDefault();
    let v = $("mapping-id").value.trim();
    // A customer's admin URL names it too.
    const m = /\/customers\/([0-9]+)\/?$/.exec(v);
    if (m) v = m[1];
    history.replaceState(null, "", /^[0-9]+$/.test(v) ? `#/mapping/${v}` : "#/mapping");
    showMapping(v);
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
    const mm = /^#\/mapping(?:\/([0-9]+))?$/.exec(h);
    if (mm && segmentsOn) {
      if (mm[1]) $("mapping-id").value = mm[1];
      showMapping(mm[1] || $("mapping-id").value.trim());
      $("mapping").scrollIntoView();
      $("mapping").focus({ preventScroll: true });
    } else if (h === "#/segments" && segmentsOn) {
      $("segments").scrollIntoView();
      $("segments").focus({ preventScroll: true });
    } else if (h === "#/contacts") {
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
    $("segments-recount").addEventListener("click", () => { if (segmentsOn) countSegments(segmentsSeq); });
    $("segment-form").addEventListener("submit", saveSegment);
    $("segment-query").addEventListener("input", (ev) => {
      if (ev.isComposing) return; // wait for the IME to finish
      schedulePreview();
    });
    $("segment-query").addEventListener("compositionend", schedulePreview);
    $("segment-query").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) $("segment-form").requestSubmit(); // Enter alone: a new line
    });
    $("segment-name").addEventListener("input", () => {
      setText("segment-name-error", "");
      show($("segment-name-error"), false);
      $("segment-name").removeAttribute("aria-invalid");
    });
    $("segment-language-link").addEventListener("click", (ev) => {
      ev.preventDefault(); // the hash is the page's route
      const d = $("segment-language");
      d.open = true;
      d.querySelector("summary").focus();
    });
    $("mapping-form").addEventListener("submit", mappingSubmit);
    window.addEventListener("hashchange", route);
    start();
  });
})();
