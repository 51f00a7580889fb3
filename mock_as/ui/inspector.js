// The mock-as inspector: keeps the page current through the control API and drives it.
// Every value reaches the page through textContent or a form field's value, never as markup.
"use strict";

(() => {
  const API = document.body.dataset.control;
  const AM_BASE = document.body.dataset.amBase;
  const POLL_MS = 1000;
  const JOURNAL_LIMIT = 200; // rows shown; the newest ones

  const $ = (id) => document.getElementById(id);

  // -- talking to the control API ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.error_description ? body.error_description : `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function send(method, url, payload) {
    const init = { method, cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const response = await fetch(url, init);
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return { data, response };
  }

  async function api(method, path, payload) {
    return (await send(method, API + path, payload)).data;
  }

  // The page a Link header names as next, if it is on this server.
  function nextPage(link) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link || "");
    if (!match) return null;
    const url = new URL(match[1], window.location.href);
    return url.origin === window.location.origin ? url.href : null;
  }

  let sayTimer = 0;

  function say(message, isError) {
    const status = $("status");
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
    clearTimeout(sayTimer);
    if (message && !isError) sayTimer = setTimeout(() => say(""), 8000);
  }

  // -- the mock's clock ---------------------------------------------------------------------------

  const clock = { now: null, frozen: false, readAt: 0 };

  function mockNow() {
    if (clock.now === null) return null;
    return clock.frozen ? clock.now : clock.now + (performance.now() - clock.readAt) / 1000;
  }

  function setClock(data) {
    clock.now = data.now;
    clock.frozen = Boolean(data.frozen);
    clock.readAt = performance.now();
    const freeze = $("freeze");
    freeze.textContent = clock.frozen ? "Unfreeze" : "Freeze";
    freeze.setAttribute("aria-pressed", String(clock.frozen));
    $("clock-mode").textContent = clock.frozen ? "frozen" : "running";
    $("clock-mode").classList.toggle("frozen", clock.frozen);
    const time = $("clock-now");
    time.dataset.now = String(data.now);
    time.dataset.frozen = String(clock.frozen);
  }

  function isoTime(epoch) {
    if (typeof epoch !== "number" || !isFinite(epoch)) return "—";
    const date = new Date(epoch * 1000);
    return isNaN(date.getTime()) ? `${epoch}` : date.toISOString().replace("T", " ").replace("Z", " UTC");
  }

  function duration(seconds) {
    if (seconds <= 0) return "expired";
    const s = Math.floor(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = s % 60;
    const pad = (n) => String(n).padStart(2, "0");
    if (h >= 48) return `${Math.floor(h / 24)} d ${h % 24} h`;
    return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
  }

  // Countdown cells carry the instant they count to; one tick refreshes them all.
  function tick() {
    const now = mockNow();
    if (now === null) return;
    $("clock-now").textContent = isoTime(now);
    for (const cell of document.querySelectorAll("[data-until]")) {
      const until = Number(cell.dataset.until);
      cell.textContent = duration(until - now);
      cell.classList.toggle("expired", until <= now);
    }
  }

  // -- building rows (text only) ----------------------------------------------------------------

  function show(value) {
    if (value === null || value === undefined || value === "") return "—";
    if (Array.isArray(value)) return value.length ? value.join(" ") : "—";
    return String(value);
  }

  function cell(value, className) {
    const td = document.createElement("td");
    td.textContent = show(value);
    if (className) td.className = className;
    return td;
  }

  // A list shown one item a line.
  function lines(items) {
    const td = cell(items.length ? items.join("\n") : null, "lines");
    return td;
  }

  function countdown(until) {
    const td = document.createElement("td");
    if (until === null || until === undefined) {
      td.textContent = "never";
    } else {
      td.dataset.until = String(until);
      td.className = "countdown";
    }
    return td;
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.append(c instanceof Node ? c : cell(c));
    return tr;
  }

  function note(tbody, columns, text) {
    const td = document.createElement("td");
    td.colSpan = columns;
    td.className = "empty";
    td.textContent = text;
    const tr = document.createElement("tr");
    tr.append(td);
    tbody.replaceChildren(tr);
  }

  function fill(tableId, items, toRow, emptyText) {
    const table = $(tableId);
    const tbody = table.tBodies[0];
    const columns = table.tHead.rows[0].cells.length;
    if (!items.length) {
      note(tbody, columns, emptyText);
      return;
    }
    tbody.replaceChildren(...items.map(toRow));
  }

  // A section is rebuilt only when what it shows has changed, so focus and selection survive polling.
  const shown = new Map();

  function changed(key, data) {
    const text = JSON.stringify(data);
    if (shown.get(key) === text) return false;
    shown.set(key, text);
    return true;
  }

  // The routes this server documents (its OpenAPI document): a list it does not serve is not asked for.
  let documented = null;

  async function optional(path, tableId, what) {
    if (documented === null) {
      const doc = await api("GET", "/openapi.json");
      documented = new Set(Object.keys(doc.paths || {}));
    }
    if (documented.has(path)) return api("GET", path);
    const table = $(tableId);
    if (changed(tableId, "absent")) {
      note(table.tBodies[0], table.tHead.rows[0].cells.length, `this mock does not list ${what}`);
    }
    return null;
  }

  // -- realms, clients, users ---------------------------------------------------------------------

  const realms = new Map(); // name -> {clients: [...], users: [...]}

  function realmArticle(name, data) {
    const article = document.createElement("article");
    article.className = "realm";
    article.dataset.realm = name;
    const h3 = document.createElement("h3");
    const code = document.createElement("code");
    code.textContent = name;
    h3.append("Realm ", code);
    const hint = document.createElement("p");
    hint.className = "hint";
    const url = document.createElement("code");
    url.textContent = `${AM_BASE}/oauth2${realmPath(name)}/access_token`;
    hint.append("token endpoint ", url);
    article.append(h3, hint);

    const clients = table(
      "clients",
      ["client id", "secret", "grants", "scopes", "redirect URIs"],
      data.clients,
      (c) =>
        row([
          c.client_id,
          c.secret === null ? "(public)" : c.secret,
          c.grant_types,
          c.scopes,
          lines(c.redirect_uris || []),
        ]),
      "no clients",
    );
    const users = table(
      "users",
      ["username", "password", "status", "lockout"],
      data.users,
      (u) => row([u.username, u.password, u.status + (u.password_expired ? " (password expired)" : ""), lockout(u.lockout)]),
      "no users",
    );
    const h4c = document.createElement("h4");
    h4c.textContent = "Clients";
    const h4u = document.createElement("h4");
    h4u.textContent = "Users";
    article.append(h4c, clients, h4u, users);
    return article;
  }

  function lockout(state) {
    if (!state) return "—";
    const until = state.locked_until;
    let text = state.locked ? (until ? `locked until ${isoTime(until)}` : "locked") : "open";
    if (state.failures) text += `, ${state.failures} failure${state.failures === 1 ? "" : "s"}`;
    return text;
  }

  function table(className, headings, items, toRow, emptyText) {
    const wrap = document.createElement("div");
    wrap.className = "scroll";
    const t = document.createElement("table");
    t.className = className;
    const head = t.createTHead().insertRow();
    for (const h of headings) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      head.append(th);
    }
    const tbody = t.createTBody();
    if (items.length) tbody.append(...items.map(toRow));
    else note(tbody, headings.length, emptyText);
    wrap.append(t);
    return wrap;
  }

  function realmPath(name) {
    if (name === "/") return "/realms/root";
    return "/realms/root" + name.split("/").filter(Boolean).map((p) => `/realms/${p}`).join("");
  }

  async function refreshRealms() {
    const list = await api("GET", "/realms");
    const names = list.map((r) => r.name);
    const loaded = await Promise.all(
      names.map(async (name) => {
        const q = `?realm=${encodeURIComponent(name)}`;
        const [clients, users] = await Promise.all([api("GET", `/clients${q}`), api("GET", `/users${q}`)]);
        return [name, { clients, users }];
      }),
    );
    realms.clear();
    for (const [name, data] of loaded) realms.set(name, data);
    if (changed("realms", loaded)) {
      $("realm-list").replaceChildren(...loaded.map(([name, data]) => realmArticle(name, data)));
    }
  }

  // A cell with one button that calls the API, then says so and refreshes.
  function actionCell(label, description, done, call) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-label", description);
    button.addEventListener("click", () => act(button, () => done, call));
    const td = document.createElement("td");
    td.append(button);
    return td;
  }

  // -- tokens, sessions, codes --------------------------------------------------------------------

  async function refreshLive() {
    const [tokens, sessions, codes] = await Promise.all([
      optional("/tokens", "tokens", "live tokens"),
      optional("/sessions", "sessions", "sessions"),
      optional("/codes", "codes", "authorization codes"),
    ]);
    if (tokens !== null && changed("tokens", tokens)) {
      fill(
        "tokens",
        tokens,
        (t) => row([t.kind, t.realm, t.client_id, t.username, t.scopes, t.grant_type, countdown(t.expires_at)]),
        "no live tokens",
      );
    }
    if (sessions !== null && changed("sessions", sessions)) {
      fill(
        "sessions",
        sessions,
        (s) =>
          row([
            s.realm,
            s.username,
            s.service,
            s.handle,
            countdown(s.idle_expires_at),
            countdown(s.expires_at),
            actionCell("End", `end the session of ${s.username} (${s.handle})`, `Session of ${s.username} ended`, () =>
              api("DELETE", `/sessions/${encodeURIComponent(s.handle)}`),
            ),
          ]),
        "no live sessions",
      );
    }
    if (codes !== null && changed("codes", codes)) {
      fill(
        "codes",
        codes,
        (c) => row([c.realm, c.client_id, c.username, c.scopes, c.redirect_uri, countdown(c.expires_at)]),
        "no live codes",
      );
    }
  }

  // -- faults -------------------------------------------------------------------------------------

  const MATCH_KEYS = ["endpoint", "realm", "client_id", "username", "grant_type"];

  function faultMatches(f) {
    const parts = MATCH_KEYS.filter((k) => f[k] !== null && f[k] !== undefined).map((k) => `${k}=${f[k]}`);
    return parts.length ? parts.join(" ") : "any request";
  }

  function faultAnswer(f) {
    const parts = [];
    if (f.drop) parts.push("drop the connection");
    if (f.delay) parts.push(`delay ${f.delay} s`);
    if (f.status !== null && f.status !== undefined) parts.push(String(f.status));
    if (f.error) parts.push(f.error);
    if (f.malformed) parts.push("malformed body");
    if (f.empty) parts.push("empty body");
    if (f.body !== null && f.body !== undefined) parts.push("custom body");
    return parts.join(", ") || f.kind;
  }

  async function refreshFaults() {
    const faults = await api("GET", "/faults");
    if (!changed("faults", faults)) return;
    fill(
      "fault-list",
      faults,
      (f) =>
        row([
          f.id,
          f.kind,
          faultMatches(f),
          faultAnswer(f),
          f.fired,
          f.remaining === null ? "unlimited" : f.remaining,
          actionCell("Remove", `remove fault ${f.id}`, `Fault ${f.id} removed`, () => api("DELETE", `/faults/${f.id}`)),
        ]),
      "no faults queued",
    );
  }

  // -- the journal --------------------------------------------------------------------------------

  // What the journal table shows. A server that numbers its entries (``seq``) and pages them is
  // asked only for what came after the newest one shown, and for its oldest entry (a reset
  // restarts the numbering); one that does not is read whole, and compared by count.
  const journal = { total: -1, oldest: "", seq: null, first: null };

  function shellQuote(text) {
    return `'${String(text).replace(/'/g, `'\\''`)}'`;
  }

  // The request again, as curl: the journal masks secrets, so the real ones come from the state.
  function curlFor(call) {
    const params = { ...call.params };
    const realm = realms.get(call.realm);
    if (realm && params.password === "***") {
      const user = realm.users.find((u) => u.username === params.username);
      if (user) params.password = user.password;
    }
    if (realm && params.client_secret === "***") {
      const client = realm.clients.find((c) => c.client_id === params.client_id);
      if (client && client.secret !== null) params.client_secret = client.secret;
    }
    const parts = ["curl"];
    const entries = Object.entries(params);
    if (call.path.startsWith("/json/")) {
      // AM's REST endpoints take their parameters in the query and a JSON body (if any).
      const query = entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
      if (call.method !== "GET") parts.push("--request", call.method);
      parts.push("--header", shellQuote("Accept-API-Version: resource=2.0, protocol=1.0"));
      if (call.method === "POST") parts.push("--header", shellQuote("Content-Type: application/json"), "--data", "'{}'");
      parts.push(shellQuote(AM_BASE + encodeURI(call.path) + (query ? `?${query}` : "")));
      return parts.join(" ");
    }
    if (call.method === "GET") {
      if (entries.length) parts.push("--get");
    } else if (call.method === "HEAD") {
      parts.push("--head");
      if (entries.length) parts.push("--get");
    } else {
      parts.push("--request", call.method);
    }
    for (const [key, value] of entries) {
      if (/^[A-Za-z0-9_.~-]+$/.test(key)) parts.push("--data-urlencode", shellQuote(`${key}=${value}`));
      else parts.push("--data", shellQuote(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`));
    }
    parts.push(shellQuote(AM_BASE + encodeURI(call.path)));
    return parts.join(" ");
  }

  async function copyCurl(call) {
    const command = curlFor(call);
    const box = $("curl");
    box.value = command;
    box.dataset.command = command;
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(command);
        copied = true;
      }
    } catch (e) {
      copied = false;
    }
    say(copied ? "curl command copied to the clipboard" : "curl command is in the box: select it and copy");
    box.focus();
    box.select();
  }

  function journalRow(call) {
    const status = cell(call.status, call.status >= 400 ? "bad" : "ok");
    const request = document.createElement("td");
    const method = document.createElement("b");
    method.textContent = call.method;
    const path = document.createElement("code");
    path.textContent = call.path;
    request.append(method, " ", path);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-curl";
    button.textContent = "copy as curl";
    button.setAttribute("aria-label", `copy as curl: ${call.method} ${call.path} at ${isoTime(call.time)}`);
    button.addEventListener("click", () => copyCurl(call));
    const action = document.createElement("td");
    action.append(button);
    const when = document.createElement("td");
    when.className = "time";
    const time = document.createElement("time");
    const full = isoTime(call.time);
    const iso = /^\d{4}-\d\d-\d\d (\S+) UTC$/.exec(full);
    time.textContent = iso ? iso[1] : full; // the time of day; the date in the title
    time.title = full;
    when.append(time);
    const tr = row([
      when,
      request,
      status,
      call.error,
      call.realm,
      (call.params || {}).client_id,
      (call.params || {}).username,
      action,
    ]);
    tr.className = "call";
    return tr;
  }

  async function readJournal(query, maxPages) {
    const calls = [];
    let url = `${API}/journal${query}`;
    for (let pages = 0; url && pages < (maxPages || 10000); pages += 1) {
      const { data, response } = await send("GET", url);
      calls.push(...(Array.isArray(data) ? data : []));
      url = nextPage(response.headers.get("Link"));
    }
    return calls;
  }

  function showJournal(calls) {
    const tbody = $("journal-list").tBodies[0];
    if (calls.length) tbody.replaceChildren(...calls.slice(-JOURNAL_LIMIT).reverse().map(journalRow));
    else note(tbody, 8, "no requests yet");
  }

  // Newest first, prepended, so the rows already shown (and a focused button among them) stay put.
  function prependJournal(calls) {
    const tbody = $("journal-list").tBodies[0];
    if (!tbody.querySelector("tr.call")) tbody.replaceChildren();
    tbody.prepend(...calls.slice(-JOURNAL_LIMIT).reverse().map(journalRow));
    while (tbody.rows.length > JOURNAL_LIMIT) tbody.deleteRow(-1);
  }

  function restarted(first) {
    const known = journal.first;
    if (!first) return true;
    return first.seq < known.seq || (first.seq === known.seq && JSON.stringify(first) !== JSON.stringify(known));
  }

  async function refreshJournal() {
    if (journal.seq !== null) {
      const [head, fresh] = await Promise.all([readJournal("?limit=1", 1), readJournal(`?after=${journal.seq}`)]);
      if (!restarted(head[0])) {
        journal.first = head[0];
        if (fresh.length) {
          prependJournal(fresh);
          journal.seq = fresh[fresh.length - 1].seq;
        }
        return;
      }
    }
    const calls = await readJournal("");
    const oldest = calls.length ? JSON.stringify(calls[0]) : "";
    if (calls.length && typeof calls[0].seq === "number") {
      journal.seq = calls[calls.length - 1].seq;
      journal.first = calls[0];
      journal.total = calls.length;
      journal.oldest = oldest;
      showJournal(calls);
      return;
    }
    journal.seq = null;
    if (calls.length === journal.total && oldest === journal.oldest) return;
    if (journal.total > 0 && oldest === journal.oldest && calls.length > journal.total) {
      prependJournal(calls.slice(journal.total));
    } else {
      showJournal(calls);
    }
    journal.total = calls.length;
    journal.oldest = oldest;
  }

  // -- polling ------------------------------------------------------------------------------------

  let busy = false;

  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const [clockData, index] = await Promise.all([
        api("GET", "/clock"),
        api("GET", "/"),
        refreshRealms(),
        refreshLive(),
        refreshFaults(),
        refreshJournal(),
      ]);
      setClock(clockData);
      $("seed").textContent = String(index.seed); // a reseed from elsewhere shows too
      tick();
      document.body.dataset.refreshed = String(Date.now());
      if ($("status").classList.contains("error") && $("status").dataset.kind === "poll") say("");
    } catch (e) {
      say(`Cannot read the mock's state: ${e.message}`, true);
      $("status").dataset.kind = "poll";
    } finally {
      busy = false;
    }
  }

  // -- actions ------------------------------------------------------------------------------------

  async function act(button, what, call) {
    button.disabled = true;
    try {
      const result = await call();
      $("status").dataset.kind = "action";
      say(what(result));
    } catch (e) {
      $("status").dataset.kind = "action";
      say(`Failed: ${e.message}`, true);
    } finally {
      button.disabled = false;
      button.focus();
    }
    await refresh();
  }

  function wire() {
    $("advance").addEventListener("click", (event) => {
      const seconds = Number($("advance-seconds").value);
      act(event.currentTarget, (c) => `Clock advanced by ${seconds} s, now ${isoTime(c.now)}`, async () => {
        const c = await api("POST", "/clock/advance", { seconds });
        setClock(c);
        return c;
      });
    });
    $("freeze").addEventListener("click", (event) => {
      const path = clock.frozen ? "/clock/unfreeze" : "/clock/freeze";
      act(event.currentTarget, (c) => (c.frozen ? "Clock frozen" : "Clock running"), async () => {
        const c = await api("POST", path, {});
        setClock(c);
        return c;
      });
    });
    $("reset").addEventListener("click", (event) => {
      act(event.currentTarget, (s) => `Reset to seed ${s.seed}`, async () => {
        const s = await api("POST", "/reset", {});
        $("seed").textContent = String(s.seed);
        return s;
      });
    });
    $("reseed").addEventListener("click", (event) => {
      const seed = Number($("reseed-seed").value);
      act(event.currentTarget, (s) => `Reseeded with seed ${s.seed}`, async () => {
        const s = await api("POST", "/reseed", { seed });
        $("seed").textContent = String(s.seed);
        return s;
      });
    });
    $("clear-faults").addEventListener("click", (event) => {
      act(event.currentTarget, () => "Every fault cleared", () => api("DELETE", "/faults"));
    });
  }

  wire();
  document.addEventListener("visibilitychange", refresh);
  refresh();
  setInterval(refresh, POLL_MS);
  setInterval(tick, 250);
})();
