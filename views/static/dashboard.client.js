// The dashboard's live usage card: polls /dashboard/live every 5 s while the page is visible, shows
// the figures and a sparkline of the last 36 samples (3 minutes) for each. Stops when the container
// is no longer running or frozen (the card is then gone after the next page load).
(() => {
  const card = document.getElementById("live-usage");
  if (!card) return;
  const INTERVAL_MS = 5000;
  const SAMPLES = 36;
  const history = { cpu: [], memory: [], pids: [] };
  const badge = document.getElementById("live-badge");
  const updated = document.getElementById("live-updated");
  let lastAt = null;

  function setBadge(state, text) {
    badge.dataset.live = state;
    badge.textContent = text;
  }

  function draw(name, values, max) {
    const metric = document.getElementById(`live-${name}`);
    const line = metric?.querySelector("polyline");
    if (!line) return;
    const top = Math.max(max, ...values, 1e-9);
    const step = values.length > 1 ? 120 / (SAMPLES - 1) : 0;
    const offset = 120 - step * (values.length - 1);
    line.setAttribute(
      "points",
      values.map((v, i) => `${(offset + i * step).toFixed(1)},${(27 - (v / top) * 26).toFixed(1)}`).join(" "),
    );
  }

  function show(name, text, value, max) {
    const metric = document.getElementById(`live-${name}`);
    const slot = metric?.querySelector("[data-value]");
    if (slot) slot.textContent = text;
    const values = history[name];
    values.push(value);
    if (values.length > SAMPLES) values.shift();
    draw(name, values, max);
  }

  async function poll() {
    if (document.visibilityState !== "visible") return;
    let body;
    try {
      const response = await fetch(card.dataset.poll, {
        credentials: "same-origin",
        headers: { accept: "application/json" },
        cache: "no-store",
      });
      if (!response.ok) throw new Error(String(response.status));
      body = await response.json();
    } catch {
      setBadge("offline", "no answer");
      return;
    }
    if (!body.live) {
      lastAt = null;
      setBadge(
        body.state === "frozen" ? "frozen" : "offline",
        body.state === "frozen" ? "frozen" : "no data",
      );
      updated.textContent =
        body.state === "frozen"
          ? "Your container is frozen: it uses no CPU until it is restored."
          : "The node did not report figures just now.";
      return;
    }
    const live = body.live;
    const mb = live.memory_bytes / 1048576;
    const limitMb = live.memory_limit_bytes / 1048576;
    show("cpu", `${live.cpu_percent.toFixed(1)} %`, live.cpu_percent, 100);
    show("memory", `${mb.toFixed(0)} MB`, mb, limitMb);
    show("pids", String(live.pids), live.pids, 1);
    setBadge("live", "live");
    lastAt = Date.now();
    updated.textContent = "Updated just now.";
  }

  setInterval(() => {
    if (lastAt) updated.textContent = `Updated ${Math.round((Date.now() - lastAt) / 1000)} s ago.`;
  }, 1000);
  setInterval(poll, INTERVAL_MS);
  document.addEventListener("visibilitychange", poll);
  poll();
})();
