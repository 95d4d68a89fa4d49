import { t } from "elysia";
import { createPersonalToken, listPersonalTokens, revokePersonalToken } from "../auth/personal_tokens.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireSignIn } from "./api_base.ts";

/** Personal access tokens; managing them needs a real sign-in, never a token. */
export const tokensRoutes = (ctx: AppContext) => (app: ApiBase) =>
  app
    .get("/tokens", async (c) => {
      const auth = await requireSignIn(ctx, c);
      return { tokens: await listPersonalTokens(ctx, auth.userId) };
    })
    .post(
      "/tokens",
      async (c) => {
        const auth = await requireSignIn(ctx, c);
        const created = await createPersonalToken(
          ctx,
          { ...auth, ip: c.ip },
          { name: c.body.name, expiresInDays: c.body.expires_in_days ?? null },
        );
        c.set.status = 201;
        return { ...created.summary, token: created.token };
      },
      {
        body: t.Object({
          name: t.String({ maxLength: 200 }),
          expires_in_days: t.Optional(t.Union([t.Integer(), t.Null()])),
          _csrf: t.Optional(t.String({ maxLength: 200 })),
        }),
      },
    )
    .delete("/tokens/:id", async (c) => {
      const auth = await requireSignIn(ctx, c);
      await revokePersonalToken(ctx, { ...auth, ip: c.ip }, c.params.id);
      c.set.status = 204;
      return "";
    });
