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
        const { credential, replaced } = await addCredential(
          ctx.database.db,
          ctx.keyring,
          auth.userId,
          c.body.provider,
          c.body.key,
          { ip: c.ip, via: "api" },
        );
        c.set.status = 201;
        return { credential, replaced };
      },
      {
        body: t.Object({
          provider: t.String({ maxLength: 40 }),
          key: t.String({ maxLength: 512 }),
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
