// The chat: talks to the assistant in the user's container over WS /api/v1/session/gateway (the
// runtime's JSON protocol, docs/RUNTIME.md), streaming replies as they arrive, with the tools the
// assistant calls, their results and approval prompts shown in line. Every text from the socket is
// put in the page with textContent, never as HTML.
//
// The socket authenticates with the access cookie, which lives 15 minutes. Before every (re)connect
// the page asks /console/session, which goes through the console's automatic refresh and so hands
// the browser a fresh access cookie; a dropped socket reconnects the same way, with backoff.
// The open conversation is kept in the address (#c=<id>), so a reload reopens it.
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
  const hasKey = root.dataset.hasKey !== "false";
  let settings = null;
  try {
    settings = JSON.parse(root.dataset.settings || "null");
  } catch {
    settings = null;
  }

  let socket = null;
  let conversationId = conversationFromHash();
  let retryMs = 1000;
  let stopped = false;
  let counter = 0;
  // request id -> { bubble, text (of the current bubble), full, sent (the message, for a retry) }
  const pending = new Map();

  const nextId = (prefix) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;

  function conversationFromHash() {
    const match = /^#c=([A-Za-z0-9_:.-]{1,80})$/.exec(window.location.hash);
    return match ? match[1] : null;
  }

  function rememberConversation(id) {
    const url = new URL(window.location.href);
    url.hash = id ? `c=${id}` : "";
    window.history.replaceState(null, "", id ? url.href : url.pathname + url.search);
  }

  function setStatus(text, link) {
    status.replaceChildren(text);
    if (link) {
      status.append(" ");
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.label;
      a.id = link.id || "";
      status.append(a);
    }
  }

  function setConnected(connected) {
    send.disabled = !connected || !hasKey;
    root.dataset.connected = connected ? "true" : "false";
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function bubble(role, text) {
    document.getElementById("chat-empty")?.remove();
    const el = document.createElement("div");
    el.className = `msg msg-${role}`;
    el.dataset.role = role;
    el.textContent = text;
    log.append(el);
    scrollDown();
    return el;
  }

  function meta(el, text) {
    const small = document.createElement("span");
    small.className = "msg-meta";
    small.textContent = text;
    el.append(small);
  }

  // Tool calls, results and approval prompts (chat_tools.client.js, loaded first).
  const tools = window.clawfleetChatTools.create(log, scrollDown, (approvalId, approved) =>
    sendFrame({ type: "tool.approve", id: nextId("a"), approval_id: approvalId, approved }),
  );
  const { toolBlock, findTool, toolResult, approvalPrompt } = tools;

  function retryButton(el, sent) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link msg-retry";
    button.textContent = "Retry";
    button.addEventListener("click", () => {
      if (startChat(sent.text, sent.conversationId, sent.provider, el)) button.remove();
    });
    el.append(" ", button);
  }

  function keysLink(el) {
    const a = document.createElement("a");
    a.href = "/keys";
    a.className = "msg-keys-link";
    a.textContent = "Add or check your key on the Keys page.";
    el.append(" ", a);
  }

  function showFailure(entry, message, code) {
    entry.bubble.classList.add("msg-error");
    entry.bubble.textContent = message;
    if (code === "no_key" || code === "auth") keysLink(entry.bubble);
    retryButton(entry.bubble, entry.sent);
  }

  function failPending(message) {
    for (const [id, entry] of pending) {
      showFailure(entry, message, null);
      pending.delete(id);
    }
  }

  function sendFrame(frame) {
    if (socket?.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function refreshConversations() {
    sendFrame({ type: "history.list", id: nextId("l") });
  }

  function markCurrent() {
    for (const button of list.querySelectorAll("button")) {
      if (button.dataset.conversationId === conversationId) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  function renderConversations(conversations) {
    list.replaceChildren();
    for (const conv of conversations) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = conv.title || "Untitled conversation";
      button.dataset.conversationId = conv.id;
      button.addEventListener("click", () => openConversation(conv.id));
      item.append(button);
      list.append(item);
    }
    markCurrent();
  }

  function openConversation(id) {
    conversationId = id;
    rememberConversation(id);
    log.replaceChildren();
    markCurrent();
    sendFrame({ type: "history.get", id: nextId("g"), conversation_id: id });
  }

  function renderHistory(message) {
    log.replaceChildren();
    const calls = message.tool_calls ?? [];
    for (const m of message.messages ?? []) {
      bubble(m.role === "user" ? "user" : "assistant", m.content ?? "");
      if (m.role !== "user") continue;
      for (const call of calls) {
        if (call.after_message_id !== m.id) continue;
        toolResult(toolBlock(call.call_id, call.name, call.input), call.status, call.output);
      }
    }
  }

  function onFrame(message) {
    const entry = message.id ? pending.get(message.id) : undefined;
    switch (message.type) {
      case "hello": {
        const chosen = providerSelect.value;
        providerSelect.replaceChildren(new Option("Default", ""));
        for (const p of message.providers ?? []) {
          if (!p.configured) continue;
          providerSelect.append(new Option(`${p.label} (${p.model})`, p.id));
        }
        providerSelect.value = chosen;
        // The user's settings from clawfleet reach the runtime each time the chat connects, before
        // anything can be sent (the runtime handles frames in order).
        if (settings) sendFrame({ type: "settings.set", id: nextId("s"), ...settings });
        setConnected(true);
        connectedStatus();
        refreshConversations();
        if (conversationId) openConversation(conversationId);
        break;
      }
      case "history.list":
        renderConversations(message.conversations ?? []);
        break;
      case "history.messages":
        if (message.conversation_id === conversationId) renderHistory(message);
        break;
      case "chat.started":
        if (!entry) break;
        entry.sent.conversationId = message.conversation_id;
        if (conversationId !== message.conversation_id) {
          conversationId = message.conversation_id;
          rememberConversation(conversationId);
          refreshConversations();
        }
        entry.bubble.textContent = "";
        break;
      case "chat.delta":
        if (!entry) break;
        // Text after a tool call continues in a new bubble below it.
        if (entry.afterTool) {
          entry.afterTool = false;
          entry.bubble = bubble("assistant", "");
          entry.text = "";
        }
        entry.text += entry.text === "" ? (message.text ?? "").replace(/^\n+/, "") : (message.text ?? "");
        entry.bubble.textContent = entry.text;
        scrollDown();
        break;
      case "chat.tool_call":
        if (!entry) break;
        if (entry.text === "") entry.bubble.remove();
        toolBlock(message.call_id, message.name, message.input);
        entry.afterTool = true;
        break;
      case "chat.tool_approval": {
        const el = findTool(message.call_id) ?? toolBlock(message.call_id, message.name, message.input);
        approvalPrompt(el, message.approval_id);
        break;
      }
      case "chat.tool_result": {
        const el = findTool(message.call_id);
        if (el) toolResult(el, message.status, message.output);
        break;
      }
      case "chat.done":
        if (!entry) break;
        pending.delete(message.id);
        if (entry.afterTool || !entry.bubble.isConnected) entry.bubble = bubble("assistant", "");
        entry.bubble.dataset.done = "true";
        meta(entry.bubble, [message.provider, message.model].filter(Boolean).join(" · "));
        refreshConversations();
        break;
      case "chat.error":
        if (!entry) break;
        pending.delete(message.id);
        if (!entry.bubble.isConnected || entry.afterTool) entry.bubble = bubble("assistant", "");
        showFailure(entry, message.error?.message ?? "The assistant could not answer.", message.error?.code);
        break;
      case "schedule.fired":
        setStatus(`A schedule ran: ${message.name ?? "reminder"}.`);
        refreshConversations();
        if (message.conversation_id === conversationId) openConversation(conversationId);
        break;
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

  function connectedStatus() {
    if (hasKey) setStatus("Connected to your assistant.");
    else
      setStatus("Connected, but your account has no AI key, so the assistant cannot answer yet.", {
        href: "/keys",
        label: "Add one on the Keys page.",
        id: "chat-keys-link",
      });
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
    if (state === "frozen")
      setStatus("Waking your container… It was frozen while idle; this takes a few seconds.");
    const url = new URL(root.dataset.socket, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.hash = "";
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener("open", () => {
      retryMs = 1000;
      setStatus("Connected; waiting for your assistant…");
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
      failPending("The connection dropped before the reply finished.");
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

  /** Sends one chat turn; `reuse` is a failed reply's bubble that a retry fills again. */
  function startChat(text, inConversation, provider, reuse) {
    if (!hasKey) return false;
    const id = nextId("c");
    const frame = { type: "chat", id, text };
    if (inConversation) frame.conversation_id = inConversation;
    if (provider) frame.provider = provider;
    if (!sendFrame(frame)) {
      setStatus("Not connected yet. Your message was kept; send it again in a moment.");
      return false;
    }
    let reply = reuse;
    if (reply) {
      reply.classList.remove("msg-error");
      reply.textContent = "…";
    } else {
      bubble("user", text);
      reply = bubble("assistant", "…");
    }
    pending.set(id, {
      bubble: reply,
      text: "",
      afterTool: false,
      sent: { text, conversationId: inConversation, provider },
    });
    return true;
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    if (!startChat(text, conversationId, providerSelect.value)) return;
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
    rememberConversation(null);
    log.replaceChildren();
    markCurrent();
    input.focus();
  });

  connect();
})();
