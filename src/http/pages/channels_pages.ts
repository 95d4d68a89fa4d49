// Channels from the console, through the same channel service as the JSON API: the page asks the
// container (resuming a frozen one, as the chat does) and every change goes to it. Credentials typed
// here are forwarded and forgotten: never rendered back, logged or stored.
import { CHANNEL_FORMS, ChannelsPage, ChannelsSection } from "../../../views/pages/channels.tsx";
import {
  ChannelService,
  type ChannelsView,
  channelInput,
  isChannelName,
} from "../../channels/channel_service.ts";
import type { AppContext } from "../../context.ts";
import type { Lifecycle } from "../../sessions/lifecycle.ts";
import { getSessionView } from "../../sessions/sessions_repo.ts";
import type { PageBase } from "./page_base.ts";
import {
  formFailure,
  formFields,
  html,
  isHtmx,
  PageError,
  page,
  redirect,
  type SignedInUser,
} from "./page_response.ts";

function nameOf(raw: string | undefined) {
  const name = raw ?? "";
  if (!isChannelName(name)) throw new PageError(404, "There is no such channel.");
  return name;
}

/** The form's fields as the channel takes them: empty credentials are left out (kept as they are). */
function formInput(name: string, form: Record<string, string>): Record<string, unknown> {
  const spec = CHANNEL_FORMS[name];
  if (!spec) throw new PageError(404, "There is no such channel.");
  const input: Record<string, unknown> = {};
  for (const field of spec.fields) {
    const value = (form[field.name] ?? "").trim();
    if (value) input[field.name] = value;
  }
  const items = (form[spec.allowed.name] ?? "").split(/[\s,]+/).filter(Boolean);
  if (name === "telegram") {
    if (!items.every((item) => /^-?\d{1,20}$/.test(item)))
      throw new PageError(400, "Telegram chat ids are whole numbers, separated by commas.");
    input[spec.allowed.name] = items.map(Number);
  } else {
    input[spec.allowed.name] = items;
  }
  return input;
}

export const channelsPages = (ctx: AppContext, lifecycle: Lifecycle) => {
  const service = new ChannelService(ctx, lifecycle);
  const publicUrl = Boolean(ctx.config.publicUrl);
  const section = (
    user: SignedInUser,
    view: ChannelsView,
    extra: { notice?: string; error?: { channel: string; message: string } } = {},
  ) =>
    ChannelsSection({
      csrf: user.csrf,
      channels: view.channels as never,
      keepsAwake: view.keeps_awake,
      publicUrl,
      ...extra,
    });
  const state = async (userId: string) =>
    (await getSessionView(ctx.database.db, userId))?.session?.state ?? "none";

  return (app: PageBase) =>
    app
      .get(
        "/channels",
        page(ctx, { access: "user" }, async (c, user) => {
          const current = await state(user.id);
          if (current !== "running" && current !== "frozen")
            return html(ChannelsPage({ user, state: current }));
          const view = await service.list(user.id, c.ip);
          return html(
            ChannelsPage({
              user,
              state: current,
              channels: view.channels as never,
              keepsAwake: view.keeps_awake,
              publicUrl,
            }),
          );
        }),
      )
      .post(
        "/channels/:name",
        page(ctx, { access: "user", mutation: true }, async (c, user) => {
          const name = nameOf(c.params.name);
          try {
            const input = channelInput(name, formInput(name, formFields(c.body)));
            const view = await service.connect(user.id, c.ip, name, input);
            if (!isHtmx(c.request)) return redirect(c.request, "/channels");
            return html(section(user, view, { notice: `${CHANNEL_FORMS[name]?.label} saved.` }));
          } catch (error) {
            return formFailure(ctx, c.request, user, error, async (message) => {
              const view = await service.list(user.id, c.ip).catch(() => null);
              return ChannelsPage({
                user,
                state: await state(user.id),
                channels: (view?.channels ?? []) as never,
                publicUrl,
                error: { channel: name, message },
              });
            });
          }
        }),
      )
      .post(
        "/channels/:name/delete",
        page(ctx, { access: "user", mutation: true }, async (c, user) => {
          const name = nameOf(c.params.name);
          const view = await service.disconnect(user.id, c.ip, name);
          if (!isHtmx(c.request)) return redirect(c.request, "/channels");
          return html(section(user, view, { notice: `${CHANNEL_FORMS[name]?.label} disconnected.` }));
        }),
      );
};
