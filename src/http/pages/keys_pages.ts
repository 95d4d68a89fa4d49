// AI provider keys from the console, through the same credential service as the JSON API.

import { KeysPage, KeysSection, PROVIDER_LABELS } from "../../../views/pages/keys.tsx";
import type { AppContext } from "../../context.ts";
import { addCredential, deleteCredential, listCredentials } from "../../secrets/credentials.ts";
import type { PageBase } from "./page_base.ts";
import { formFailure, formFields, html, isHtmx, PageError, page, redirect } from "./page_response.ts";

export const keysPages = (ctx: AppContext) => (app: PageBase) =>
  app
    .get(
      "/keys",
      page(ctx, { access: "user" }, async (_c, user) => {
        return html(KeysPage({ user, keys: await listCredentials(ctx.database.db, user.id) }));
      }),
    )
    .post(
      "/keys",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        const form = formFields(c.body);
        const provider = (form.provider ?? "").slice(0, 40);
        try {
          if ((form.key ?? "").length > 512)
            throw new PageError(400, "That key is too long to be an API key.");
          const { credential, replaced } = await addCredential(
            ctx.database.db,
            ctx.keyring,
            user.id,
            provider,
            form.key ?? "",
            { ip: c.ip, via: "console" },
          );
          if (!isHtmx(c.request)) return redirect(c.request, "/keys");
          const label = PROVIDER_LABELS[credential.provider] ?? credential.provider;
          const notice = `${replaced ? "Replaced" : "Saved"} your ${label} key (${credential.key_preview}).`;
          const keys = await listCredentials(ctx.database.db, user.id);
          return html(KeysSection({ keys, csrf: user.csrf, notice }));
        } catch (error) {
          const keys = await listCredentials(ctx.database.db, user.id);
          return formFailure(ctx, c.request, user, error, (message) =>
            KeysPage({ user, keys, error: message, provider }),
          );
        }
      }),
    )
    .get(
      "/keys/section",
      page(ctx, { access: "user" }, async (c, user) => {
        if (!isHtmx(c.request)) return redirect(c.request, "/keys");
        return html(KeysSection({ keys: await listCredentials(ctx.database.db, user.id), csrf: user.csrf }));
      }),
    )
    .get(
      "/keys/:id/delete",
      page(ctx, { access: "user" }, async (c, user) => {
        const keys = await listCredentials(ctx.database.db, user.id);
        if (!keys.some((key) => key.id === c.params.id)) {
          throw new PageError(404, "That key no longer exists. Reload the page to see your keys.");
        }
        const confirmDelete = c.params.id;
        if (isHtmx(c.request)) return html(KeysSection({ keys, csrf: user.csrf, confirmDelete }));
        return html(KeysPage({ user, keys, confirmDelete }));
      }),
    )
    .post(
      "/keys/:id/delete",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        const id = c.params.id ?? "";
        const deleted = (await listCredentials(ctx.database.db, user.id)).find((key) => key.id === id);
        if (
          !deleted ||
          !(await deleteCredential(ctx.database.db, user.id, id, { ip: c.ip, via: "console" }))
        ) {
          throw new PageError(404, "That key no longer exists. Reload the page to see your keys.");
        }
        if (!isHtmx(c.request)) return redirect(c.request, "/keys");
        const keys = await listCredentials(ctx.database.db, user.id);
        const label = PROVIDER_LABELS[deleted.provider] ?? deleted.provider;
        const notice = `Deleted your ${label} key (${deleted.key_preview}).`;
        return html(KeysSection({ keys, csrf: user.csrf, notice }));
      }),
    );
