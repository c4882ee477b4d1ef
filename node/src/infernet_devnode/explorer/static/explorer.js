// The devnode explorer: polls the node's read routes and renders them.
//
// Every value from the node (job inputs and outputs, container ids, reasons, addresses) comes
// from strangers or from models, so it is only ever written with text nodes: this file never
// assigns innerHTML/outerHTML, never calls insertAdjacentHTML or document.write, and only sets
// href to fragments ("#/...") that it builds itself with encodeURIComponent.
"use strict";

(function () {
  const API = "/api/explorer";
  const DEFAULT_POLL_S = 1;
  const MAX_BACKOFF_S = 30;

  const state = {
    pollS: DEFAULT_POLL_S,
    timer: null,
    route: null,
    lastText: null,
    backoffS: 0,
    inFlight: null,
  };

  // ------------------------------------------------------------------ DOM helpers (text only)

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else if (key === "href") {
        if (!String(value).startsWith("#")) throw new Error("only in-page links are built");
        node.setAttribute("href", value);
      } else if (key === "data") {
        for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
      } else if (["id", "title", "name", "type", "value", "placeholder", "for", "role"].includes(key)) {
        node.setAttribute(key, String(value));
      } else {
        throw new Error("attribute not allowed: " + key);
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function link(hash, ...children) {
    return h("a", { href: hash }, ...children);
  }

  function hashFor(view, params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== null && v !== undefined && v !== "") query.set(k, String(v));
    }
    const text = query.toString();
    return "#/" + view + (text ? "?" + text : "");
  }

  function time(seconds) {
    if (seconds === null || seconds === undefined) return "";
    return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 1) return Math.round(seconds * 1000) + " ms";
    if (seconds < 120) return seconds.toFixed(1) + " s";
    return Math.round(seconds / 60) + " min";
  }

  function short(hex) {
    const text = String(hex || "");
    return text.length > 14 ? text.slice(0, 8) + "\u2026" + text.slice(-4) : text;
  }

  function badge(text) {
    return h("span", { class: "badge badge-" + String(text).replace(/[^a-z_]/g, "") }, text);
  }

  function pretty(value) {
    return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
  }

  function table(columns, rows, empty) {
    if (!rows.length) return h("p", { class: "empty" }, empty || "nothing yet");
    return h(
      "table",
      {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c[0])))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c) => h("td", {}, c[1](row)))))),
    );
  }

  function dl(pairs) {
    return h("dl", {}, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  function section(title, ...children) {
    return h("section", {}, h("h2", {}, title), ...children);
  }

  function pager(view, params, page) {
    const parts = [h("span", {}, page.total + " in all")];
    if (params.before) parts.push(link(hashFor(view, { ...params, before: "" }), "\u2190 newest"));
    if (page.next !== null && page.next !== undefined) {
      parts.push(link(hashFor(view, { ...params, before: page.next }), "older \u2192"));
    }
    return h("p", { class: "pager" }, parts);
  }

  // A filter form; submitting it only changes the fragment (the page never posts anything).
  function filters(view, params, fields) {
    const form = h("form", { class: "filters", role: "search" });
    for (const [name, label, options] of fields) {
      let input;
      if (options) {
        input = h("select", { name: name, id: "f-" + name },
          h("option", { value: "" }, "any"),
          options.map((o) => h("option", { value: o }, o)));
      } else {
        input = h("input", { name: name, id: "f-" + name, type: "text", placeholder: label });
      }
      input.value = params[name] || "";
      form.appendChild(h("label", { for: "f-" + name }, label + " ", input));
    }
    form.appendChild(h("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = {};
      for (const [name] of fields) values[name] = form.elements[name].value.trim();
      location.hash = hashFor(view, values);
    });
    return form;
  }

  // ------------------------------------------------------------------ views

  const views = {
    overview: {
      url: () => API + "/overview",
      render: renderOverview,
    },
    jobs: {
      url: (p) => API + "/jobs?" + new URLSearchParams(p),
      form: (p) => filters("jobs", p, [
        ["status", "status", ["running", "success", "failed"]],
        ["container", "container", null],
      ]),
      render: (data, p) => [pager("jobs", p, data), jobTable(data.jobs)],
    },
    job: {
      url: (p) => API + "/job?" + new URLSearchParams({ client: p.client || "", id: p.id || "" }),
      render: renderJob,
    },
    subscriptions: {
      url: (p) => API + "/subscriptions?" + new URLSearchParams(p),
      form: (p) => filters("subscriptions", p, [
        ["state", "state", ["active", "not_active", "completed", "cancelled", "tracked", "ignored"]],
        ["container", "container", null],
        ["id", "subscription id", null],
      ]),
      render: (data, p) => [
        h("p", {}, "chain time " + (data.chain_time === null ? "unknown" : data.chain_time + " (" + time(data.chain_time) + ")")),
        pager("subscriptions", p, data),
        subscriptionTable(data.subscriptions),
      ],
    },
    subscription: {
      url: (p) => API + "/subscriptions/" + encodeURIComponent(p.id || "") + "?" +
        new URLSearchParams(p.before ? { before: p.before } : {}),
      render: renderSubscription,
    },
    delegations: {
      url: (p) => API + "/delegations?" + new URLSearchParams(p),
      form: (p) => filters("delegations", p, [
        ["state", "state", ["pending", "running", "sent", "delivered", "skipped", "failed"]],
        ["subscription", "subscription id", null],
        ["owner", "owner", null],
      ]),
      render: (data, p) => [pager("delegations", p, data), delegationTable(data.delegations)],
    },
  };

  function jobLink(job) {
    return link(hashFor("job", { client: job.client, id: job.id }), job.id);
  }

  function jobTable(jobs) {
    return table(
      [
        ["id", jobLink],
        ["client", (j) => j.client],
        ["containers", (j) => j.containers.join(" \u2192 ")],
        ["status", (j) => badge(j.status)],
        ["created", (j) => time(j.created)],
        ["duration", (j) => duration(j.duration)],
        ["result or reason", (j) => h("span", { class: "summary" }, j.summary)],
      ],
      jobs,
      "no jobs match",
    );
  }

  function renderOverview(data) {
    state.pollS = Math.max(0.25, Number(data.poll_interval) || DEFAULT_POLL_S);
    const chain = data.chain;
    // While the chain side starts the node serves its off-chain figures only.
    const starting = chain.enabled && chain.status === "starting";
    const chainUp = chain.enabled && !starting;
    const chainPart = starting
      ? h("p", {}, chain.reason + ": its figures, subscriptions and deliveries appear once it has started")
      : chain.enabled
      ? dl([
          ["chain id", chain.chain_id],
          ["head block", chain.head_block],
          ["chain time", chain.chain_time === null ? "" : chain.chain_time + " (" + time(chain.chain_time) + ")"],
          ["RPC", chain.rpc_healthy ? badge("healthy") : [badge("unhealthy"), " ", chain.last_error]],
          ["node address", chain.address],
          ["balance (wei)", chain.balance_wei === null ? chain.balance_error : chain.balance_wei],
          ["deliveries in flight", chain.in_flight],
        ])
      : h("p", {}, "chain disabled (chain.enabled is false): off-chain jobs only");
    const counts = (obj) => table([["state", (r) => badge(r[0])], ["count", (r) => r[1]]], Object.entries(obj || {}));
    return [
      h("div", { class: "grid" },
        section("Chain", chainPart),
        section("Node",
          dl([
            ["devnode version", data.node.version],
            ["off-chain jobs running", data.queue.offchain_running + " (the node takes " + data.queue.offchain_capacity + " at once)"],
            ["on-chain jobs in flight", data.queue.onchain_in_flight],
          ])),
        section("Off-chain jobs", counts(data.jobs)),
        chainUp ? section("Deliveries", counts(chain.deliveries)) : null,
        chainUp ? section("Subscriptions", counts(chain.subscriptions)) : null,
      ),
      section("Containers", table(
        [
          ["id", (c) => link(hashFor("jobs", { container: c.id }), c.id)],
          ["description", (c) => c.description],
          ["external", (c) => (c.external ? "yes" : "no")],
          ["health", (c) => c.health.up ? [badge("up"), " HTTP " + c.health.status] : [badge("down"), " ", c.health.error]],
        ],
        data.containers,
        "no containers configured",
      )),
      section("Recent failed jobs", jobTable(data.recent_failures)),
      chainUp
        ? section("Recent failed deliveries", table(
            [
              ["subscription", (d) => link(hashFor("subscription", { id: d.subscription_id }), String(d.subscription_id))],
              ["interval", (d) => d.interval],
              ["reason", (d) => d.reason],
              ["container error", (d) => d.container_error],
              ["at", (d) => time(d.updated_at)],
            ],
            chain.recent_failures,
            "no failed deliveries",
          ))
        : null,
    ];
  }

  function renderJob(data) {
    const result = data.result;
    return [
      section("Job " + data.id,
        dl([
          ["client", data.client],
          ["containers", data.containers.join(" \u2192 ")],
          ["status", badge(data.status)],
          ["created", time(data.created)],
          ["updated", time(data.updated)],
          ["duration", duration(data.duration)],
        ])),
      section("Input", data.input_recorded ? pretty(data.input) : h("p", { class: "empty" }, "not recorded (reported with PUT /api/status)")),
      section("Result",
        result === null ? h("p", { class: "empty" }, "none yet")
          : "error" in result ? h("p", { class: "failure" }, result.container + ": " + result.error)
          : pretty(result)),
      section("Intermediate results",
        table(
          [
            ["#", (r) => String(data.intermediate_results.indexOf(r) + 1)],
            ["container", (r) => r.container],
            ["output or error", (r) => ("error" in r ? h("span", { class: "failure" }, r.error) : pretty(r.output))],
          ],
          data.intermediate_results,
          "none",
        )),
    ];
  }

  function dueText(due) {
    if (!due) return "none left";
    return "interval " + due.interval + (due.in_seconds > 0 ? " in " + due.in_seconds + " s" : " due now") + " (t=" + due.at + ")";
  }

  function subscriptionTable(subs) {
    return table(
      [
        ["id", (s) => link(hashFor("subscription", { id: s.id }), String(s.id))],
        ["owner", (s) => h("span", { title: s.owner }, short(s.owner))],
        ["containers", (s) => (s.containers.length ? s.containers.join(" \u2192 ") : short(s.containers_hash))],
        ["period / frequency / redundancy", (s) => s.period + " s / " + s.frequency + " / " + s.redundancy],
        ["phase", (s) => [badge(s.phase), s.tracked ? "" : [" ", badge("ignored")]]],
        ["next due", (s) => dueText(s.next_due)],
        ["last delivery", (s) => (s.last ? ["#" + s.last.interval + " ", badge(s.last.state)] : "")],
        ["reason", (s) => s.reason || (s.last ? s.last.reason : "")],
      ],
      subs,
      "no subscriptions match",
    );
  }

  function renderSubscription(data, p) {
    const parts = [];
    if (data.owner !== undefined) {
      parts.push(section("Subscription " + data.id,
        dl([
          ["owner", data.owner],
          ["containers", data.containers.length ? data.containers.join(" \u2192 ") : data.containers_hash + " (not served here)"],
          ["active at", data.active_at + " (" + time(data.active_at) + ")"],
          ["period", data.period + " s"],
          ["frequency", data.frequency],
          ["redundancy", data.redundancy],
          ["lazy", data.lazy ? "yes" : "no"],
          ["payment", data.payment_amount + " of " + data.payment_token],
          ["tracked by this node", data.tracked ? "yes" : ["no: ", data.reason]],
          ["phase on chain time", [badge(data.phase), " at chain time " + data.chain_time]],
          ["next interval due", dueText(data.next_due)],
        ])));
    } else {
      parts.push(section("Subscription " + data.id, h("p", {}, "only its deliveries are known")));
    }
    parts.push(section("Deliveries",
      pager("subscription", { id: data.id, before: p.before }, { total: data.deliveries_total, next: data.next }),
      deliveryTable(data.deliveries, data.redundancy)));
    return parts;
  }

  // Who answered an interval: every delivery the Coordinator logged, this node's marked.
  function answeredBy(d, redundancy) {
    const count = d.nodes.length + (redundancy === undefined ? "" : " of " + redundancy);
    return h("div", { class: "answers" },
      h("div", {}, count),
      d.nodes.map((n) => h("div", { class: n.this_node ? "node this-node" : "node" },
        h("code", { title: n.node }, short(n.node)),
        n.this_node ? " (this node)" : "",
        " block " + n.block)));
  }

  function deliveryTable(deliveries, redundancy) {
    return table(
      [
        ["interval", (d) => d.interval],
        ["answered on chain", (d) => answeredBy(d, redundancy)],
        ["this node", (d) => (d.state === null ? "did not deliver" : badge(d.state))],
        ["attempts", (d) => d.attempts],
        ["tx hash", (d) => (d.tx_hash ? h("code", { title: d.tx_hash }, d.tx_hash) : "")],
        ["block", (d) => (d.block === null ? "" : d.block)],
        ["gas used", (d) => (d.gas_used === null ? "" : d.gas_used)],
        ["reason", (d) => [d.reason, d.container_error ? h("div", { class: "failure" }, d.container_error) : null]],
        ["updated", (d) => time(d.updated_at)],
      ],
      deliveries,
      "no deliveries yet",
    );
  }

  function delegationTable(items) {
    return table(
      [
        ["owner", (d) => h("span", { title: d.owner }, short(d.owner))],
        ["nonce", (d) => d.nonce],
        ["state", (d) => badge(d.state)],
        ["subscription", (d) => (d.subscription_id ? link(hashFor("subscription", { id: d.subscription_id }), String(d.subscription_id)) : "not created")],
        ["containers", (d) => d.containers.join(" \u2192 ")],
        ["tx hash", (d) => (d.tx_hash ? h("code", { title: d.tx_hash }, short(d.tx_hash)) : "")],
        ["reason", (d) => [d.reason, d.container_error ? h("div", { class: "failure" }, d.container_error) : null]],
        ["updated", (d) => time(d.updated_at)],
      ],
      items,
      "no delegated requests match",
    );
  }

  // ------------------------------------------------------------------ routing and polling

  function parseRoute() {
    const raw = location.hash.replace(/^#\/?/, "");
    const [path, query] = raw.split("?", 2);
    const params = Object.fromEntries(new URLSearchParams(query || ""));
    const parts = path.split("/").filter(Boolean);
    let view = parts[0] || "overview";
    if (view === "subscriptions" && parts[1]) {
      view = "subscription";
      params.id = decodeURIComponent(parts[1]);
    }
    if (!(view in views)) view = "overview";
    return { view, params, key: location.hash };
  }

  function setStatus(text, isError) {
    const node = document.getElementById("status");
    node.textContent = text;
    node.className = isError ? "error" : "";
  }

  function show() {
    const route = parseRoute();
    state.route = route;
    state.lastText = null;
    for (const a of document.querySelectorAll("nav a")) {
      a.className = a.dataset.view === route.view.replace(/^(job|subscription)$/, "$1s") ? "current" : "";
    }
    const main = document.getElementById("main");
    const view = views[route.view];
    main.replaceChildren(
      view.form ? view.form(route.params) : "",
      h("div", { id: "content" }, h("p", { class: "empty" }, "loading\u2026")),
    );
    refresh();
  }

  async function refresh() {
    clearTimeout(state.timer);
    state.timer = null;
    if (document.hidden) {
      setStatus("paused while the tab is hidden");
      return;
    }
    const route = state.route;
    const view = views[route.view];
    let delay = state.pollS;
    try {
      const response = await fetch(view.url(route.params), { cache: "no-store" });
      const text = await response.text();
      if (route !== state.route) return; // the user moved on; show() polls the new view
      if (response.status === 429) {
        state.backoffS = Math.min(MAX_BACKOFF_S, Math.max(state.pollS, state.backoffS * 2));
        delay = state.backoffS;
        setStatus("rate limited by the node; retrying in " + delay + " s", true);
      } else {
        state.backoffS = 0;
        const data = JSON.parse(text);
        // A 503 with Retry-After: the chain side is starting (or its endpoint is down); the
        // view fills in once the node answers, polled again when the node says.
        const retryS = Number(response.headers.get("Retry-After"));
        if (!response.ok) {
          state.lastText = null;
          showContent([h("p", { class: "failure" }, "HTTP " + response.status + ": " + (data.error || ""))]);
        } else if (text !== state.lastText) {
          state.lastText = text;
          showContent(view.render(data, route.params));
        }
        if (response.status === 503 && retryS > 0) {
          delay = Math.min(MAX_BACKOFF_S, Math.max(state.pollS, retryS));
          setStatus((data.error || "unavailable") + "; retrying in " + delay + " s", true);
        } else {
          setStatus("updated " + new Date().toLocaleTimeString());
        }
      }
    } catch (error) {
      if (route !== state.route) return;
      setStatus("node unreachable: " + error.message, true);
      delay = Math.min(MAX_BACKOFF_S, delay * 2);
    }
    if (route === state.route && !document.hidden) {
      state.timer = setTimeout(refresh, delay * 1000);
    }
  }

  function showContent(children) {
    const content = document.getElementById("content");
    content.replaceChildren();
    append(content, [children]);
  }

  // The configured poll interval, whichever view the page opens on.
  fetch(API + "/overview", { cache: "no-store" })
    .then((r) => r.json())
    .then((d) => { state.pollS = Math.max(0.25, Number(d.poll_interval) || DEFAULT_POLL_S); })
    .catch(() => {});
  window.addEventListener("hashchange", show);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  show();
})();
