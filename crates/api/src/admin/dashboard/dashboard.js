// ecsd dashboard: keeps the server-rendered page live, and drives the control panels.
// Plain ES2017, no build step. The page's <main data-live="jobs|job|servers|control"> says
// what it shows; on a relevant event from /_ecsd/events the page is fetched again and its
// <main> swapped in (the server renders, this script only moves HTML it got from ecsd).
"use strict";

(function () {
  const main = document.querySelector("main");
  const live = document.getElementById("live");
  if (!main) return;
  const kind = main.dataset.live;

  function setLive(text, on) {
    if (!live) return;
    live.textContent = text;
    live.className = "live " + (on ? "on" : "off");
  }

  // --- live pages ------------------------------------------------------------------------
  let refreshTimer = null;
  let refreshing = false;

  function rowKeys(root) {
    return new Set(Array.from(root.querySelectorAll("tr[data-job], tr[data-server]"))
      .map((row) => row.dataset.job || row.dataset.server));
  }

  async function refresh() {
    if (refreshing) { scheduleRefresh(300); return; }
    refreshing = true;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.redirected && new URL(response.url).pathname === "/_ecsd/ui/login") {
        location.href = response.url;
        return;
      }
      if (!response.ok) { setLive("refresh failed (" + response.status + ")", false); return; }
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.querySelector("main");
      if (!fresh) return;
      const before = rowKeys(main);
      // Keep what the user is typing in the filter form.
      const active = document.activeElement && main.contains(document.activeElement) ? document.activeElement.name : null;
      if (active) { scheduleRefresh(1000); return; }
      main.innerHTML = fresh.innerHTML;
      for (const name of Object.keys(main.dataset)) delete main.dataset[name];
      Object.assign(main.dataset, fresh.dataset);
      for (const row of main.querySelectorAll("tr[data-job], tr[data-server]")) {
        if (!before.has(row.dataset.job || row.dataset.server)) row.classList.add("fresh");
      }
    } catch (error) {
      setLive("refresh failed", false);
    } finally {
      refreshing = false;
      pollWhileUnfinished();
    }
  }

  function scheduleRefresh(delay) {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, delay);
  }

  // Between acceptance and a task's end ecsd writes nothing (phases are computed at read), so
  // no event marks INIT -> RUNNING: while something is unfinished, look again now and then.
  function pollWhileUnfinished() {
    if (Number(main.dataset.unfinished || "0") > 0) scheduleRefresh(1500);
  }

  function relevant(event) {
    if (kind === "jobs") {
      return !main.dataset.project || event.project_id === main.dataset.project;
    }
    if (kind === "job") {
      return event.job_id === main.dataset.job;
    }
    if (kind === "servers") {
      return event.project_id === main.dataset.project;
    }
    return false;
  }

  if (kind === "jobs" || kind === "job" || kind === "servers") {
    const source = new EventSource("/_ecsd/events");
    source.onopen = () => setLive("live", true);
    source.onerror = () => setLive("reconnecting…", false);
    const onChange = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      if (relevant(event)) scheduleRefresh(150);
    };
    source.addEventListener("job", onChange);
    source.addEventListener("server", onChange);
    // Some events were lost (ecsd restarted, or this tab slept): show the current state.
    source.addEventListener("missed", () => scheduleRefresh(0));
    pollWhileUnfinished();
  }

  // --- control panels ----------------------------------------------------------------------
  if (kind !== "control") return;

  async function call(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    const text = await response.text();
    try { data = text ? JSON.parse(text) : null; } catch (error) { data = text; }
    return { status: response.status, ok: response.ok, data };
  }

  function message(data) {
    if (data && data.error) return (data.error.code || "") + ": " + (data.error.message || "");
    return typeof data === "string" ? data : JSON.stringify(data);
  }

  function show(panel, result) {
    const out = panel.querySelector(".result");
    if (!out) return;
    out.textContent = result.ok ? "Done (" + result.status + ")." : "Refused: " + message(result.data);
    out.className = "result" + (result.ok ? "" : " error");
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function list(data, key) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data[key])) return data[key];
    return [];
  }

  const loaders = {
    async faults(panel, data) {
      const box = panel.querySelector("[data-fill=faults]");
      box.replaceChildren();
      const rules = list(data, "faults").concat(list(data, "rules"));
      if (rules.length === 0) box.append(element("p", { class: "empty" }, "No fault rules."));
      for (const rule of rules) {
        const row = element("div", { class: "rule" });
        row.append(element("pre", {}, JSON.stringify(rule, null, 1)));
        const remove = element("button", { type: "button" }, "Delete");
        remove.addEventListener("click", async () => {
          show(panel, await call("DELETE", "/_ecsd/faults/" + encodeURIComponent(rule.id)));
          load(panel);
        });
        row.append(remove);
        box.append(row);
      }
    },
    async clock(panel, data) {
      panel.querySelector("[data-fill=clock]").textContent = JSON.stringify(data, null, 2);
    },
    async snapshots(panel, data) {
      const box = panel.querySelector("[data-fill=snapshots]");
      box.replaceChildren();
      const snapshots = list(data, "snapshots");
      if (snapshots.length === 0) box.append(element("p", { class: "empty" }, "No snapshots."));
      for (const snapshot of snapshots) {
        const name = typeof snapshot === "string" ? snapshot : snapshot.name;
        const row = element("div", { class: "rule" });
        row.append(element("pre", {}, typeof snapshot === "string" ? snapshot : JSON.stringify(snapshot)));
        const restore = element("button", { type: "button" }, "Restore");
        restore.addEventListener("click", async () => {
          if (!confirm("Restore snapshot " + name + "? The current state is replaced.")) return;
          show(panel, await call("POST", "/_ecsd/snapshots/" + encodeURIComponent(name) + "/restore"));
          load(panel);
        });
        const remove = element("button", { type: "button" }, "Delete");
        remove.addEventListener("click", async () => {
          show(panel, await call("DELETE", "/_ecsd/snapshots/" + encodeURIComponent(name)));
          load(panel);
        });
        row.append(restore, remove);
        box.append(row);
      }
    },
  };

  async function load(panel) {
    const endpoint = panel.dataset.endpoint;
    const name = endpoint.split("/").pop();
    const result = await call("GET", endpoint);
    // 404: this build has no such API; hide its panel (it lights up once it exists).
    if (result.status === 404) { panel.hidden = true; return false; }
    panel.hidden = false;
    if (!result.ok) { show(panel, result); return true; }
    await loaders[name](panel, result.data);
    return true;
  }

  async function loadAll() {
    const panels = Array.from(document.querySelectorAll(".panel[data-endpoint]"));
    const shown = await Promise.all(panels.map(load));
    const none = document.getElementById("control-none");
    if (none) none.hidden = shown.some(Boolean);
  }

  const actions = {
    "fault-add": (form) => call("POST", "/_ecsd/faults", form.elements.rule.value),
    "clock-advance": (form) => call("POST", "/_ecsd/clock", { advance: form.elements.advance.value }),
    "clock-set": (form) => call("POST", "/_ecsd/clock", { set: form.elements.set.value }),
    "snapshot-save": (form) => call("POST", "/_ecsd/snapshots", { name: form.elements.name.value }),
  };

  for (const form of main.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", async (submit) => {
      submit.preventDefault();
      const panel = form.closest(".panel");
      show(panel, await actions[form.dataset.action](form));
      load(panel);
    });
  }
  const clear = main.querySelector("[data-action=fault-clear]");
  if (clear) {
    clear.addEventListener("click", async () => {
      const panel = clear.closest(".panel");
      if (!confirm("Delete every fault rule?")) return;
      show(panel, await call("DELETE", "/_ecsd/faults"));
      load(panel);
    });
  }
  loadAll();
})();
