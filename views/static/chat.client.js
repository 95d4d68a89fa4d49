// The chat: talks to the assistant in the user's container over WS /api/v1/session/gateway (the
// runtime's JSON protocol, docs/RUNTIME.md), streaming replies as they arrive. Every text from the
// socket is put in the page with textContent, never as HTML.
//
// The socket authenticates with the access cookie, which lives 15 minutes. Before every (re)connect
// the page asks /console/session, which goes through the console's automatic refresh and so hands
// the browser a fresh access cookie; a dropped socket reconnects the same way, with backoff.
(() => {
  const root = document.getElementById("chat");
  if (!root) return;
  const log = document.getElementById("chat-log");
  const status = document.getElementById("chat-status");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const send = document.getElementById("chat-send");
  const providerSelect = document.getElementById("chat-provider");
  const list = document.getElementById("conversations");
  const newChat = document.getElementById("new-chat");

  let socket = null;
  let conversationId = null;
  let retryMs = 1000;
  let stopped = false;
  let counter = 0;
  const pending = new Map(); // request id -> { bubble, text }

  const nextId = (prefix) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;

  function setStatus(text) {
    status.textContent = text;
  }

  function setConnected(connected) {
    send.disabled = !connected;
    root.dataset.connected = connected ? "true" : "false";
  }

  function bubble(role, text) {
    document.getElementById("chat-empty")?.remove();
    const el = document.createElement("div");
    el.className = `msg msg-${role}`;
    el.dataset.role = role;
    el.textContent = text;
    log.append(el);
    log.scrollTop = log.scrollHeight;
    return el;
  }

  function meta(el, text) {
    const small = document.createElement("span");
    small.className = "msg-meta";
    small.textContent = text;
    el.append(small);
  }

  function failPending(message) {
    for (const [id, entry] of pending) {
      entry.bubble.classList.add("msg-error");
      entry.bubble.textContent = entry.text;
      meta(entry.bubble, message);
      pending.delete(id);
    }
  }

  function sendFrame(frame) {
    if (socket?.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function renderConversations(conversations) {
    list.replaceChildren();
    for (const conv of conversations) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = conv.title || "Untitled conversation";
      button.dataset.conversationId = conv.id;
      if (conv.id === conversationId) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => openConversation(conv.id));
      item.append(button);
      list.append(item);
    }
  }

  function openConversation(id) {
    conversationId = id;
    log.replaceChildren();
    for (const button of list.querySelectorAll("button")) {
      if (button.dataset.conversationId === id) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
    sendFrame({ type: "history.get", id: nextId("g"), conversation_id: id });
  }

  function onFrame(message) {
    switch (message.type) {
      case "hello": {
        const chosen = providerSelect.value;
        providerSelect.replaceChildren(new Option("Default", ""));
        for (const p of message.providers ?? []) {
          if (!p.configured) continue;
          const option = new Option(`${p.label} (${p.model})`, p.id);
          providerSelect.append(option);
        }
        providerSelect.value = chosen;
        if (!(message.providers ?? []).some((p) => p.configured)) {
          setStatus(
            "Connected, but your account has no AI key. Add one on the Keys page: it works at once, no restart.",
          );
        }
        sendFrame({ type: "history.list", id: nextId("l") });
        break;
      }
      case "history.list":
        renderConversations(message.conversations ?? []);
        break;
      case "history.messages":
        if (message.conversation_id !== conversationId) break;
        log.replaceChildren();
        for (const m of message.messages ?? [])
          bubble(m.role === "user" ? "user" : "assistant", m.content ?? "");
        break;
      case "chat.started": {
        const entry = pending.get(message.id);
        if (!entry) break;
        conversationId = message.conversation_id;
        entry.bubble.textContent = "";
        break;
      }
      case "chat.delta": {
        const entry = pending.get(message.id);
        if (!entry) break;
        entry.text += message.text ?? "";
        entry.bubble.textContent = entry.text;
        log.scrollTop = log.scrollHeight;
        break;
      }
      case "chat.done": {
        const entry = pending.get(message.id);
        if (!entry) break;
        pending.delete(message.id);
        entry.bubble.textContent = message.text ?? entry.text;
        entry.bubble.dataset.done = "true";
        meta(entry.bubble, [message.provider, message.model].filter(Boolean).join(" · "));
        sendFrame({ type: "history.list", id: nextId("l") });
        break;
      }
      case "chat.error": {
        const entry = pending.get(message.id);
        if (!entry) break;
        pending.delete(message.id);
        entry.bubble.classList.add("msg-error");
        entry.bubble.textContent = message.error?.message ?? "The assistant could not answer.";
        break;
      }
      case "error":
        setStatus(message.error?.message ?? "The assistant reported an error.");
        break;
    }
  }

  async function containerState() {
    const response = await fetch(root.dataset.keepalive, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
      cache: "no-store",
    });
    if (response.status === 401) return "signed-out";
    if (!response.ok) throw new Error(`status ${response.status}`);
    return (await response.json()).state;
  }

  async function connect() {
    if (stopped) return;
    setConnected(false);
    setStatus("Connecting…");
    let state;
    try {
      state = await containerState();
    } catch {
      return retry("Could not reach clawfleet.");
    }
    if (state === "signed-out") {
      window.location.assign("/login");
      return;
    }
    if (state !== "running" && state !== "frozen") {
      stopped = true;
      setStatus("Your container is not running. Start it on the dashboard.");
      return;
    }
    const url = new URL(root.dataset.socket, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener("open", () => {
      retryMs = 1000;
      setConnected(true);
      setStatus("Connected to your assistant.");
    });
    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      try {
        onFrame(JSON.parse(event.data));
      } catch {
        // A frame we cannot read is skipped; the next ones still count.
      }
    });
    ws.addEventListener("close", () => {
      if (socket !== ws) return;
      socket = null;
      failPending("The connection dropped before the reply finished. Please send it again.");
      retry("Connection lost.");
    });
  }

  function retry(reason) {
    setConnected(false);
    const seconds = Math.round(retryMs / 1000);
    setStatus(`${reason} Reconnecting in ${seconds} s…`);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    const id = nextId("c");
    const frame = { type: "chat", id, text };
    if (conversationId) frame.conversation_id = conversationId;
    if (providerSelect.value) frame.provider = providerSelect.value;
    if (!sendFrame(frame)) {
      setStatus("Not connected yet. Your message was kept; send it again in a moment.");
      return;
    }
    bubble("user", text);
    const reply = bubble("assistant", "…");
    pending.set(id, { bubble: reply, text: "" });
    input.value = "";
    input.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  newChat.addEventListener("click", () => {
    conversationId = null;
    log.replaceChildren();
    for (const button of list.querySelectorAll("button")) button.removeAttribute("aria-current");
    input.focus();
  });

  connect();
})();
