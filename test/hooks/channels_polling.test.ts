// Without a public URL (both drivers): the server hands the container no hook address, so Telegram
// polls (the fake queues the update for getUpdates) and is answered; Slack, which can only take
// webhooks, says why it cannot work; the polling container is spared by the idle freeze until
// Telegram is disconnected.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { DEFAULT_BLOCKED, installFirewall } from "../../agent/firewall.ts";
import { rowsOf } from "../../src/db/client.ts";
import { DRIVERS } from "../helpers/db.ts";
import { TEST_EGRESS_ALLOW } from "../helpers/fleet.ts";
import { json } from "../helpers/server.ts";
import { type ChannelsStack, startChannelsStack } from "./channels_stack.ts";

const random = () => crypto.randomUUID().replaceAll("-", "");

for (const driver of DRIVERS) {
  describe(`channels without a public URL [${driver}]`, () => {
    const BOT = `${1000 + Math.floor(Math.random() * 9e8)}:AAH${random()}`;
    const SLACK = {
      botToken: `xoxb-${random()}`,
      signingSecret: random(),
      team: "Poll Team",
      botUserId: "U0BOT",
    };
    let stack: ChannelsStack;
    const channel = (view: any, name: string) =>
      view.channels.find((c: { channel: string }) => c.channel === name);
    const idleCheck = async () => {
      await stack.server.ctx.database.db.execute(
        sql`update agent_sessions set last_activity_at = now() - interval '30 days'`,
      );
      await stack.server.reconcile();
    };

    beforeAll(async () => {
      stack = await startChannelsStack(
        driver,
        {
          email: `polling-${driver}@example.test`,
          password: "correct horse battery staple",
          openaiKey: `sk-proj-${random()}`,
        },
        false,
      );
      await stack.telegram.addBot(BOT, "polling_bot");
      await stack.slack.addApp(SLACK);
    }, 240_000);

    beforeEach(() => installFirewall(DEFAULT_BLOCKED, undefined, undefined, undefined, [TEST_EGRESS_ALLOW]));

    afterAll(async () => {
      await stack?.stop();
    });

    test("Telegram falls back to polling and answers; the session is marked to stay awake", async () => {
      const response = await stack.api("/channels/telegram", {
        method: "PUT",
        body: JSON.stringify({ bot_token: BOT, allowed_chat_ids: [4242] }),
      });
      expect(response.status).toBe(200);
      const view = await json(response);
      expect(view).toMatchObject({ keeps_awake: true, webhook_configured: false });
      expect(channel(view, "telegram")).toMatchObject({ mode: "polling", webhook_url: null });
      expect(await stack.telegram.webhook(BOT)).toBeNull();
      expect((await stack.telegram.userSays(BOT, 4242, "are you polling?")).body).toBe(
        "queued for getUpdates",
      );
      expect((await stack.telegram.waitForSent(BOT, 1, 30_000))[0]).toEqual({
        chat_id: 4242,
        text: "You said: are you polling?",
      });
      const [row] = rowsOf<{ polling_container_id: string | null; docker_id: string }>(
        await stack.server.ctx.database.db.execute(
          sql`select polling_container_id, docker_id from agent_sessions`,
        ),
      );
      expect(row?.polling_container_id).toBe(row?.docker_id as string);
    }, 60_000);

    test("Slack cannot take events without a public URL, and says so", async () => {
      const view = await json(
        await stack.api("/channels/slack", {
          method: "PUT",
          body: JSON.stringify({ bot_token: SLACK.botToken, signing_secret: SLACK.signingSecret }),
        }),
      );
      expect(channel(view, "slack")).toMatchObject({ configured: true, status: "error", webhook_url: null });
      expect(channel(view, "slack").detail).toContain("public URL");
      expect((await stack.api("/channels/slack", { method: "DELETE" })).status).toBe(204);
    }, 60_000);

    test("the idle freeze spares the polling container, and freezes it once Telegram is gone", async () => {
      await idleCheck();
      expect(await stack.state()).toBe("running");
      expect((await stack.api("/channels/telegram", { method: "DELETE" })).status).toBe(204);
      await idleCheck();
      expect(await stack.state()).toBe("frozen");
    }, 60_000);
  });
}
