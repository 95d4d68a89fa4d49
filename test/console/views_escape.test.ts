// Every view rendered with hostile text in every field that can come from a user, a node or the
// database: the markup must contain the text only escaped. (@kitajs/html escapes children only with
// `safe`; this catches a forgotten one without a browser.)
import { describe, expect, test } from "bun:test";
import { AccountPage } from "../../views/pages/account.tsx";
import { AdminPage } from "../../views/pages/admin.tsx";
import { ErrorPage, LoginPage, SignupPage } from "../../views/pages/auth.tsx";
import { type ContainerView, DashboardPage } from "../../views/pages/dashboard.tsx";
import { KeysPage } from "../../views/pages/keys.tsx";
import { ChatPage, TerminalPage } from "../../views/pages/session_tools.tsx";
import { render } from "../../views/render.ts";

const X = `<script>alert(1)</script><img src=x onerror=alert(2)>"'`;
const user = { email: X, isAdmin: true, csrf: X };
const view = (state: ContainerView["state"]): ContainerView => ({
  state,
  status: state,
  container_id: X,
  hostname: X,
  template: X,
  node: X,
  plan: {
    id: X,
    name: X,
    cpu_millis: 500,
    memory_mb: 512,
    pids_limit: 256,
    disk_mb: 1024,
    api_requests_per_minute: 30,
    idle_freeze_minutes: 30,
  },
  progress: X,
  failure_reason: X,
  steps: [
    {
      step: "scheduled",
      label: X,
      started_at: new Date().toISOString(),
      ended_at: null,
      duration_ms: null,
      outcome: state === "failed" ? "failed" : "running",
    },
  ],
  created_at: new Date().toISOString(),
});

const pages: Record<string, () => JSX.Element> = {
  login: () => LoginPage({ error: X, email: X, notice: X }),
  signup: () => SignupPage({ error: X, email: X }),
  error: () => ErrorPage({ status: 400, message: X, user }),
  ...Object.fromEntries(
    (["none", "spawning", "running", "frozen", "failed"] as const).map((state) => [
      `dashboard-${state}`,
      () => DashboardPage({ user, view: view(state), hasKeys: false, confirmKill: true, error: X }),
    ]),
  ),
  keys: () =>
    KeysPage({
      user,
      keys: [{ id: X, provider: X as never, key_preview: X, created_at: new Date().toISOString() }],
      error: X,
      notice: X,
      provider: X,
    }),
  account: () =>
    AccountPage({
      user,
      sessions: [
        { id: X, created_at: X, last_used_at: X, expires_at: X, user_agent: X, ip: X, current: true },
        { id: X, created_at: X, last_used_at: X, expires_at: X, user_agent: X, ip: X, current: false },
      ],
      plan: X,
      createdAt: new Date(),
      passwordError: X,
      deleteError: X,
    }),
  admin: () =>
    AdminPage({
      user,
      nodes: [
        {
          id: X,
          name: X,
          url: X,
          state: X,
          capacity: { cpuMillis: 1, memoryMb: 1, containers: 1 },
          used: null,
          health: { dockerVersion: X, isolation: { [X]: true } },
          lastSeenAt: new Date(),
        },
        {
          id: X,
          name: X,
          url: X,
          state: X,
          capacity: null,
          used: null,
          health: { error: X },
          lastSeenAt: null,
        },
      ],
      usage: [{ day: X, plan: X, spawns: 1, activeUsers: 1, containerSeconds: 1 }],
      audit: {
        entries: [
          {
            id: 1,
            action: X,
            userId: X,
            actorId: X,
            target: X,
            detail: { [X]: X },
            ip: X,
            createdAt: new Date(),
            userEmail: X,
            actorEmail: X,
          },
          {
            id: 2,
            action: "admin.plan_changed",
            userId: X,
            actorId: X,
            target: X,
            detail: { plan: X, provider: X },
            ip: X,
            createdAt: new Date(),
            userEmail: X,
            actorEmail: `${X}2`,
          },
        ],
        olderThan: 1,
        filter: { user: X, action: X, from: X, to: X, before: 5 },
        actions: [X],
      },
    }),
  chat: () => ChatPage({ user, state: X }),
  "chat-running": () => ChatPage({ user, state: "running" }),
  terminal: () => TerminalPage({ user, state: "running" }),
};

/** What a browser's parser would build from the markup that a payload could have smuggled in. */
function smuggled(html: string): string[] {
  const found: string[] = [];
  const rewriter = new HTMLRewriter()
    .on("script", {
      element(el) {
        if (!el.getAttribute("src")?.startsWith("/static/")) found.push("inline <script>");
      },
    })
    .on("img", { element: () => void found.push("<img>") })
    .on("*", {
      element(el) {
        for (const [name] of el.attributes) if (name.startsWith("on")) found.push(`${el.tagName} ${name}=`);
      },
    });
  rewriter.transform(html);
  return found;
}

describe("views escape everything they show", () => {
  for (const [name, build] of Object.entries(pages)) {
    test(name, () => {
      const html = render(build());
      expect(smuggled(html)).toEqual([]);
      // Where the text is shown as content, it is escaped, not markup.
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
      // In attributes its quote is escaped, so the value cannot end early.
      expect(html).not.toContain(`onerror=alert(2)>"'`);
    });
  }
});
