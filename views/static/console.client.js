// The console's small helpers around htmx 4 (no inline script anywhere: the CSP forbids it).
// - A failed request (4xx/5xx) shows the server's friendly message in the error slot nearest to the
//   element that sent it, instead of replacing what the user was looking at.
// - A request that never got an answer (offline, server down) says so in the same place.
// - After a swap, an element marked data-autofocus gets the focus (the kill confirmation's Cancel);
//   after a failure, the message does, so a keyboard or screen-reader user lands on what went wrong.
(() => {
  const NETWORK_MESSAGE = "Could not reach clawfleet. Check your connection and try again.";

  function errorSlotFor(element) {
    const main = document.getElementById("main");
    for (let node = element; node && node !== main && node !== document.body; node = node.parentElement) {
      if (node.matches?.("[data-error-slot]")) return node;
      const inside = node.querySelector?.("[data-error-slot]");
      if (inside) return inside;
    }
    return document.getElementById("flash");
  }

  function focusAlertIn(slot) {
    const alert = slot?.querySelector?.(".alert");
    if (!alert) return false;
    alert.setAttribute("tabindex", "-1");
    alert.focus();
    return true;
  }

  function showText(slot, message) {
    if (!slot) return;
    const box = document.createElement("div");
    box.className = "alert alert-error";
    box.setAttribute("role", "alert");
    box.textContent = message;
    slot.replaceChildren(box);
    focusAlertIn(slot);
  }

  // <time data-relative>: "3 minutes ago", with the exact time (the server's text) as the tooltip.
  const UNITS = [
    ["year", 31536000],
    ["month", 2592000],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const phrase = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  function relativeText(date) {
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    if (Math.abs(seconds) < 45) return "just now";
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) return phrase.format(Math.round(seconds / size), unit);
    }
    return phrase.format(Math.round(seconds / 60), "minute");
  }
  function refreshTimes() {
    for (const element of document.querySelectorAll("time[data-relative][datetime]")) {
      const date = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;
      if (!element.title) element.title = element.textContent;
      element.textContent = relativeText(date);
    }
  }
  document.addEventListener("DOMContentLoaded", refreshTimes);
  document.addEventListener("htmx:after:swap", refreshTimes);
  setInterval(refreshTimes, 30000);

  document.addEventListener("htmx:before:request", (event) => {
    const source = event.detail?.ctx?.sourceElement;
    const slot = source ? errorSlotFor(source) : null;
    if (slot) slot.replaceChildren();
    const flash = document.getElementById("flash");
    if (flash && flash !== slot) flash.replaceChildren();
  });

  document.addEventListener("htmx:response:error", (event) => {
    const ctx = event.detail?.ctx;
    if (!ctx) return;
    const slot = errorSlotFor(ctx.sourceElement);
    if (!slot) return;
    ctx.target = slot;
    ctx.swap = "innerHTML";
  });

  document.addEventListener("htmx:error", (event) => {
    const ctx = event.detail?.ctx;
    if (ctx?.response) return;
    showText(errorSlotFor(ctx?.sourceElement ?? document.body), NETWORK_MESSAGE);
  });

  document.addEventListener("htmx:after:swap", (event) => {
    const target = event.detail?.ctx?.target;
    if (target?.matches?.("[data-error-slot], #flash") && focusAlertIn(target)) return;
    const inTarget = target?.isConnected ? target.querySelector?.("[data-autofocus]") : null;
    // An outerHTML swap leaves the old target detached: look in the page for what replaced it.
    const focus = inTarget ?? document.querySelector("main [data-autofocus]");
    if (focus && typeof focus.focus === "function") focus.focus();
  });
})();
