// The terminal: xterm.js (served from the binary) over WS /api/v1/session/terminal. Keystrokes go
// as binary frames (so input that looks like JSON stays input); a text frame
// {"type":"resize","cols":N,"rows":N} follows every size change of the page.
//
// xterm.js writes its measured sizes and colours into <style> elements, which our CSP (style-src
// 'self', no inline styles) refuses, even empty ones. On this page, createElement("style") hands
// out an inert stand-in instead: its text (textContent or innerText) and its `sheet` live in a
// constructed stylesheet adopted by the document, which the CSP allows.
(() => {
  const host = document.getElementById("terminal");
  if (!host || !window.Terminal || !window.FitAddon) return;
  const status = document.getElementById("terminal-status");

  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function (tag, options) {
    if (String(tag).toLowerCase() !== "style") return createElement.call(this, tag, options);
    return styleStandIn(createElement.call(this, "template", options));
  };

  function styleStandIn(element) {
    const sheet = new CSSStyleSheet();
    let text = "";
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    const setText = (value) => {
      text = String(value ?? "");
      sheet.replaceSync(text);
    };
    Object.defineProperties(element, {
      textContent: { get: () => text, set: setText },
      innerText: { get: () => text, set: setText },
      sheet: { get: () => sheet },
      remove: {
        value: () => {
          document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
          Element.prototype.remove.call(element);
        },
      },
    });
    element.dataset.styleStandIn = "";
    return element;
  }

  const term = new window.Terminal({
    cursorBlink: true,
    convertEol: false,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: 14,
    scrollback: 5000,
    theme: { background: "#111111" },
  });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(host);
  fit.fit();

  const encoder = new TextEncoder();
  // One shell per tab: a reload (same tab, same sessionStorage) reattaches to it, and its recent
  // output is replayed; another tab gets a shell of its own.
  let reconnectId = sessionStorage.getItem("clawfleet-terminal");
  if (!reconnectId) {
    reconnectId = crypto.randomUUID();
    sessionStorage.setItem("clawfleet-terminal", reconnectId);
  }
  let socket = null;
  let signInUrl = "/login";
  let retryMs = 1000;
  let stopped = false;

  function setStatus(text) {
    status.textContent = text;
    host.dataset.status = text;
  }

  function sendSize() {
    if (socket?.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
    }
  }

  term.onData((data) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  term.onResize(() => sendSize());
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => fit.fit(), 100);
  });

  async function containerState() {
    const response = await fetch(host.dataset.keepalive, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
      cache: "no-store",
    });
    if (response.status === 401) {
      signInUrl = (await response.json().catch(() => ({}))).login ?? "/login";
      return "signed-out";
    }
    if (!response.ok) throw new Error(`status ${response.status}`);
    return (await response.json()).state;
  }

  async function connect() {
    if (stopped) return;
    setStatus("Connecting…");
    let state;
    try {
      state = await containerState();
    } catch {
      return retry("Could not reach clawfleet.");
    }
    if (state === "signed-out") {
      // A same-site path only (the server's answer says why the sign-in ended).
      window.location.assign(signInUrl.startsWith("/") && !signInUrl.startsWith("//") ? signInUrl : "/login");
      return;
    }
    if (state !== "running" && state !== "frozen") {
      stopped = true;
      setStatus("Your container is not running. Start it on the dashboard.");
      return;
    }
    // A frozen container is restored when the socket connects: say so, it takes a few seconds.
    if (state === "frozen")
      setStatus("Waking your container… It was frozen while idle; this takes a few seconds.");
    const url = new URL(host.dataset.socket, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("reconnect", reconnectId);
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    socket = ws;
    ws.addEventListener("open", () => {
      retryMs = 1000;
      setStatus("Connected.");
      fit.fit();
      sendSize();
      term.focus();
    });
    ws.addEventListener("message", (event) => {
      term.write(typeof event.data === "string" ? event.data : new Uint8Array(event.data));
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event.reason === "the shell exited") {
        sessionStorage.removeItem("clawfleet-terminal");
        stopped = true;
        setStatus("The shell has exited. Reload the page for a new one.");
        return;
      }
      retry("Connection lost.");
    });
  }

  function retry(reason) {
    setStatus(`${reason} Reconnecting in ${Math.round(retryMs / 1000)} s…`);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  }

  // Copy: the selection, or the whole screen and scrollback when nothing is selected.
  const copyButton = document.getElementById("terminal-copy");
  const copied = document.getElementById("terminal-copied");
  copyButton?.addEventListener("click", async () => {
    let text = term.getSelection();
    if (!text) {
      term.selectAll();
      text = term.getSelection();
      term.clearSelection();
    }
    text = text.replace(/\s+$/, "");
    if (!text) {
      copied.textContent = "Nothing to copy yet.";
      return;
    }
    try {
      await navigator.clipboard.writeText(text);
      copied.textContent = `Copied ${text.split("\n").length} line(s).`;
    } catch {
      copied.textContent = "The browser did not allow copying; select the text and press Ctrl+Shift+C.";
    }
    term.focus();
  });

  // Full screen: the terminal and its toolbar fill the screen; Escape (the browser's) leaves.
  const wrap = document.getElementById("terminal-wrap");
  const fullscreenButton = document.getElementById("terminal-fullscreen");
  fullscreenButton?.addEventListener("click", async () => {
    try {
      if (document.fullscreenElement) await document.exitFullscreen();
      else await wrap.requestFullscreen();
    } catch {
      copied.textContent = "This browser did not allow full screen.";
    }
  });
  document.addEventListener("fullscreenchange", () => {
    const on = document.fullscreenElement === wrap;
    fullscreenButton.setAttribute("aria-pressed", String(on));
    fullscreenButton.textContent = on ? "Leave full screen" : "Full screen";
    setTimeout(() => {
      fit.fit();
      term.focus();
    }, 50);
  });

  connect();
})();
