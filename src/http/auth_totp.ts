import { t } from "elysia";
import { disableTotp, enableTotp, setupTotp } from "../auth/totp.ts";
import type { AppContext } from "../context.ts";
import { type ApiBase, requireSignIn } from "./api_base.ts";

const csrf = t.Optional(t.String({ maxLength: 200 }));

export const authTotp = (ctx: AppContext) => (app: ApiBase) =>
  app
    .post("/auth/totp/setup", async (c) => {
      const auth = await requireSignIn(ctx, c);
      return setupTotp(ctx, { ...auth, ip: c.ip });
    })
    .post(
      "/auth/totp/enable",
      async (c) => {
        const auth = await requireSignIn(ctx, c);
        return { recovery_codes: await enableTotp(ctx, { ...auth, ip: c.ip }, c.body.code) };
      },
      { body: t.Object({ code: t.String({ maxLength: 40 }), _csrf: csrf }) },
    )
    .post(
      "/auth/totp/disable",
      async (c) => {
        const auth = await requireSignIn(ctx, c);
        await disableTotp(ctx, { ...auth, ip: c.ip }, c.body);
        c.set.status = 204;
        return "";
      },
      {
        body: t.Object({
          password: t.String({ maxLength: 4096 }),
          code: t.String({ maxLength: 40 }),
          _csrf: csrf,
        }),
      },
    );
