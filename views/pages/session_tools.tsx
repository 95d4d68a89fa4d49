// Chat and terminal: server-rendered shells that chat.js and terminal.js bring to life over the
// session WebSockets. Neither page holds any conversation text: that lives only in the container.
import { type ConsoleUser, Layout } from "../layout.tsx";

/** The container must be running (a frozen one is resumed when the socket connects). */
function NotRunning(props: { state: string }) {
  return (
    <div class="alert alert-info" role="status" id="not-running">
      {props.state === "spawning"
        ? "Your container is still starting. "
        : props.state === "failed"
          ? "Your container could not be started. "
          : "You have no running container. "}
      <a href="/dashboard">Go to the dashboard</a> to start it.
    </div>
  );
}

const CONNECTABLE = new Set(["running", "frozen"]);

/** What the chat hands to the runtime on connect (runtime `settings.set`), from the user's settings. */
export type ChatSettings = {
  default_provider: string | null;
  default_model: string | null;
  system_prompt: string | null;
  shell_mode: string;
};

export function ChatPage(props: {
  user: ConsoleUser;
  state: string;
  settings?: ChatSettings | null;
  hasKey?: boolean;
}) {
  const ready = CONNECTABLE.has(props.state);
  return (
    <Layout title="Chat" user={props.user} active="chat" scripts={ready ? ["chat-tools.js", "chat.js"] : []}>
      <h1>Chat</h1>
      {props.state === "frozen" ? (
        <p class="lead">Your container is frozen; it will be resumed as soon as the chat connects.</p>
      ) : (
        ""
      )}
      {ready ? (
        <div
          class="chat"
          id="chat"
          data-socket="/api/v1/session/gateway"
          data-keepalive="/console/session"
          data-has-key={props.hasKey === false ? "false" : "true"}
          data-settings={props.settings ? JSON.stringify(props.settings) : undefined}
        >
          <aside class="chat-sidebar" aria-labelledby="conversations-heading">
            <div class="actions">
              <button type="button" id="new-chat" class="secondary">
                New conversation
              </button>
            </div>
            <h2 id="conversations-heading" class="small muted">
              Conversations
            </h2>
            <ul id="conversations"></ul>
          </aside>
          <section class="chat-main" aria-label="Conversation">
            <p class="chat-status" id="chat-status" role="status" aria-live="polite">
              {props.state === "frozen" ? "Waking your container…" : "Connecting…"}
            </p>
            <div
              class="chat-log"
              id="chat-log"
              aria-live="polite"
              aria-relevant="additions text"
              tabindex="0"
            >
              <p class="muted" id="chat-empty">
                Say hello to your assistant. Your conversations are stored only inside your container.
              </p>
            </div>
            <form class="chat-form" id="chat-form">
              <div>
                <label for="chat-input" class="small">
                  Message
                </label>
                <textarea
                  id="chat-input"
                  name="text"
                  rows="3"
                  maxlength={32000}
                  required
                  placeholder="Type a message. Enter sends, Shift+Enter adds a line."
                ></textarea>
              </div>
              <div class="actions">
                <label for="chat-provider" class="small">
                  Provider
                </label>
                <select id="chat-provider" name="provider">
                  <option value="">Default</option>
                </select>
                <button type="submit" id="chat-send" disabled>
                  Send
                </button>
              </div>
            </form>
          </section>
        </div>
      ) : (
        <NotRunning state={props.state} />
      )}
    </Layout>
  );
}

export function TerminalPage(props: { user: ConsoleUser; state: string }) {
  const ready = CONNECTABLE.has(props.state);
  return (
    <Layout
      title="Terminal"
      user={props.user}
      active="terminal"
      scripts={ready ? ["xterm.js", "addon-fit.js", "terminal.js"] : []}
      styles={ready ? ["xterm.css"] : []}
    >
      <h1>Terminal</h1>
      <p class="lead">A shell inside your container, as its unprivileged user.</p>
      {ready ? (
        <>
          <p class="terminal-status" id="terminal-status" role="status" aria-live="polite">
            {props.state === "frozen" ? "Waking your container…" : "Connecting…"}
          </p>
          <div class="terminal-wrap" id="terminal-wrap">
            <div class="terminal-tools" role="toolbar" aria-label="Terminal">
              <button type="button" class="secondary" id="terminal-copy" aria-describedby="terminal-copied">
                Copy
              </button>
              <button type="button" class="secondary" id="terminal-fullscreen" aria-pressed="false">
                Full screen
              </button>
              <span class="small" id="terminal-copied" role="status" aria-live="polite"></span>
            </div>
            <section
              id="terminal"
              data-socket="/api/v1/session/terminal"
              data-keepalive="/console/session"
              aria-label="Terminal"
            ></section>
          </div>
        </>
      ) : (
        <NotRunning state={props.state} />
      )}
    </Layout>
  );
}
