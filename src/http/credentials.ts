import { t } from "elysia";
import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import {
  addCredential,
  CredentialInputError,
  deleteCredential,
  listCredentials,
} from "../secrets/credentials.ts";
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
        try {
          const { credential, replaced } = await addCredential(
            ctx.database.db,
            ctx.keyring,
            auth.userId,
            c.body.provider,
            key,
          );
          await audit(ctx.database.db, {
            action: replaced ? "credential.replaced" : "credential.added",
            userId: auth.userId,
            target: credential.id,
            detail: { provider: credential.provider },
            ip: c.ip,
          });
          c.set.status = 201;
          return { credential, replaced };
        } catch (error) {
          if (error instanceof CredentialInputError) throw new ApiError(400, error.code, error.message);
          throw error;
        }
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
      if (!(await deleteCredential(ctx.database.db, auth.userId, c.params.id))) {
        throw new ApiError(404, "not_found", "No such key.");
      }
      await audit(ctx.database.db, {
        action: "credential.deleted",
        userId: auth.userId,
        target: c.params.id,
        ip: c.ip,
      });
      c.set.status = 204;
      return "";
    });
