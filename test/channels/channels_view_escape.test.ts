// The channels page with hostile text in everything the container reports (a bot name, a Slack team,
// a detail, the allowed lists, the webhook URL) and in the error: shown escaped, never as markup.
import { expect, test } from "bun:test";
import { ChannelsPage } from "../../views/pages/channels.tsx";
import { render } from "../../views/render.ts";

const X = `<script>alert(1)</script><img src=x onerror=alert(2)>"'`;

function smuggled(html: string): string[] {
  const found: string[] = [];
  new HTMLRewriter()
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
    })
    .transform(html);
  return found;
}

test("the channels page escapes everything the container reports", () => {
  const common = { configured: true, enabled: true, mode: "polling", status: X, detail: X, webhook_url: X };
  const html = render(
    ChannelsPage({
      user: { email: X, isAdmin: false, csrf: X },
      state: "running",
      publicUrl: false,
      keepsAwake: true,
      notice: X,
      error: { channel: "slack", message: X },
      channels: [
        { channel: "telegram", ...common, bot_username: X, allowed_chat_ids: [X] },
        { channel: "slack", ...common, team: X, allowed_user_ids: [X] },
        { channel: "whatsapp", ...common, display_phone_number: X, phone_number_id: X, allowed_numbers: [X] },
      ],
    }),
  );
  expect(smuggled(html)).toEqual([]);
  expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  expect(html).not.toContain(`onerror=alert(2)>"'`);
});
