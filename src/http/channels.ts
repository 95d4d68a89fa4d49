// GET /api/v1/channels: each channel's status as the container reports it (never a credential);
// PUT /api/v1/channels/:name: connect or change Telegram, Slack or WhatsApp (credentials pass through
// to the container and are kept nowhere here); DELETE /api/v1/channels/:name: disconnect.
// The body is checked by hand rather than by a schema, so a validation error cannot echo a token.
import { ChannelService, channelInput, isChannelName } from "../channels/channel_service.ts";
import type { AppContext } from "../context.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";

function channelName(name: string) {
  if (!isChannelName(name))
    throw new ApiError(404, "not_found", "No such channel (telegram, slack, whatsapp).");
  return name;
}

export const channelsRoutes = (ctx: AppContext, lifecycle: Lifecycle) => {
  const service = new ChannelService(ctx, lifecycle);
  return (app: ApiBase) =>
    app
      .get("/channels", async (c) => {
        const auth = await requireUser(ctx, c);
        return service.list(auth.userId, c.ip);
      })
      .put("/channels/:name", async (c) => {
        const auth = await requireUser(ctx, c);
        const name = channelName(c.params.name);
        c.set.headers["cache-control"] = "no-store";
        return service.connect(auth.userId, c.ip, name, channelInput(name, c.body));
      })
      .delete("/channels/:name", async (c) => {
        const auth = await requireUser(ctx, c);
        await service.disconnect(auth.userId, c.ip, channelName(c.params.name));
        c.set.status = 204;
        return "";
      });
};
