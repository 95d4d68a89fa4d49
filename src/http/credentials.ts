import { t } from "elysia";
import type { AppContext } from "../context.ts";
import { addCredential, deleteCredential, listCredentials } from "../secrets/credentials.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";

export const credentialsRoutes = (ctx: AppContext) => (app: ApiBase) =>
  app
    .get("/credentials", async (c) => {
      const auth = await requireUser(ctx, c);
      return { credentials: await listCredentials(ctx.database.db, auth.userId) };
    })
    .post(
      "/credentials",
      async (c) => {
        const auth = await requireUser(ctx, c);
        // EasyClaw's clients send `api_key`; `key` wins if a client sends both.
        const key = c.body.key ?? c.body.api_key;
        if (key === undefined)
          throw new ApiError(400, "missing_key", "Send the key as `key` (or `api_key`).");
        const { credential, replaced } = await addCredential(
          ctx.database.db,
          ctx.keyring,
          auth.userId,
          c.body.provider,
          key,
          { ip: c.ip, via: "api" },
        );
        c.set.status = 201;
        return { credential, replaced };
      },
      {
        body: t.Object({
          provider: t.String({ maxLength: 40 }),
          key: t.Optional(t.String({ maxLength: 512 })),
          api_key: t.Optional(t.String({ maxLength: 512 })),
          _csrf: t.Optional(t.String({ maxLength: 200 })),
        }),
      },
    )
    .delete("/credentials/:id", async (c) => {
      const auth = await requireUser(ctx, c);
      if (!(await deleteCredential(ctx.database.db, auth.userId, c.params.id, { ip: c.ip, via: "api" }))) {
        throw new ApiError(404, "not_found", "No such key.");
      }
      c.set.status = 204;
      return "";
    });
