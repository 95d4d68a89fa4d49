// /account/security: address confirmation, two-factor sign-in, personal access tokens, data export.
// Every action answers with the whole page again (a secret shown once appears in that answer only).
import { SecurityPage, type SecurityPageProps } from "../../../views/pages/account_security.tsx";
import { exportAccount } from "../../auth/account_export.ts";
import { resendVerification } from "../../auth/email_verification.ts";
import { createPersonalToken, listPersonalTokens, revokePersonalToken } from "../../auth/personal_tokens.ts";
import { disableTotp, enableTotp, pendingTotpSetup, setupTotp, totpEnabled } from "../../auth/totp.ts";
import { getUser } from "../../auth/users.ts";
import type { AppContext } from "../../context.ts";
import { UserError } from "../../errors.ts";
import type { PageBase } from "./page_base.ts";
import { errorResponse, formFields, html, PageError, page, type SignedInUser } from "./page_response.ts";

type Extra = Partial<Pick<SecurityPageProps, "newToken" | "notice" | "error">> & {
  setup?: SecurityPageProps["totp"]["setup"];
  recoveryCodes?: string[];
};

async function securityPage(ctx: AppContext, user: SignedInUser, extra: Extra = {}, status = 200) {
  const [row, enabled, tokens] = await Promise.all([
    getUser(ctx.database.db, user.id),
    totpEnabled(ctx, user.id),
    listPersonalTokens(ctx, user.id),
  ]);
  if (!row) throw new PageError(401, "Sign in to continue.");
  // A mistyped code keeps the QR code on screen, so the app need not scan a new one.
  const setup =
    extra.setup ??
    (!enabled && extra.error?.section === "totp" ? await pendingTotpSetup(ctx, user.id) : null);
  return html(
    SecurityPage({
      user,
      email: { verifiedAt: row.emailVerifiedAt, canMail: Boolean(ctx.mailer) },
      totp: { enabled, setup, recoveryCodes: extra.recoveryCodes ?? null },
      tokens,
      newToken: extra.newToken ?? null,
      notice: extra.notice ?? null,
      error: extra.error ?? null,
    }),
    status,
  );
}

/** Runs an action; a refusal meant for the user comes back as the page with the message in place. */
async function acting(
  ctx: AppContext,
  c: { request: Request },
  user: SignedInUser,
  section: "email" | "totp" | "tokens",
  run: () => Promise<Extra>,
) {
  try {
    return await securityPage(ctx, user, await run());
  } catch (error) {
    if (!(error instanceof UserError)) return errorResponse(ctx, c.request, user, error);
    return securityPage(ctx, user, { error: { section, message: error.message } }, error.status);
  }
}

const caller = (user: SignedInUser, ip: string) => ({ userId: user.id, signInId: user.signInId, ip });

export const accountSecurityPages = (ctx: AppContext) => (app: PageBase) =>
  app
    .get(
      "/account/security",
      page(ctx, { access: "user" }, async (_c, user) => securityPage(ctx, user)),
    )
    .get(
      "/account/export",
      page(ctx, { access: "user" }, async (_c, user) => {
        const body = JSON.stringify(await exportAccount(ctx, user.id), null, 2);
        return new Response(body, {
          headers: {
            "content-type": "application/json; charset=utf-8",
            "content-disposition": 'attachment; filename="clawfleet-account.json"',
            "cache-control": "no-store",
          },
        });
      }),
    )
    .post(
      "/account/security/verify-email",
      page(ctx, { access: "user", mutation: true }, async (c, user) =>
        acting(ctx, c, user, "email", async () => {
          await resendVerification(ctx, user.id);
          return { notice: "A new confirmation link is on its way." };
        }),
      ),
    )
    .post(
      "/account/security/totp/setup",
      page(ctx, { access: "user", mutation: true }, async (c, user) =>
        acting(ctx, c, user, "totp", async () => ({ setup: await setupTotp(ctx, caller(user, c.ip)) })),
      ),
    )
    .post(
      "/account/security/totp/enable",
      page(ctx, { access: "user", mutation: true }, async (c, user) =>
        acting(ctx, c, user, "totp", async () => ({
          recoveryCodes: await enableTotp(ctx, caller(user, c.ip), formFields(c.body).code ?? ""),
          notice: "Two-factor sign-in is on.",
        })),
      ),
    )
    .post(
      "/account/security/totp/disable",
      page(ctx, { access: "user", mutation: true }, async (c, user) =>
        acting(ctx, c, user, "totp", async () => {
          const form = formFields(c.body);
          await disableTotp(ctx, caller(user, c.ip), {
            password: form.password ?? "",
            code: form.code ?? "",
          });
          return { notice: "Two-factor sign-in is off." };
        }),
      ),
    )
    .post(
      "/account/security/tokens",
      page(ctx, { access: "user", mutation: true }, async (c, user) =>
        acting(ctx, c, user, "tokens", async () => {
          const form = formFields(c.body);
          const days = form.expires_in_days ? Number(form.expires_in_days) : null;
          const created = await createPersonalToken(ctx, caller(user, c.ip), {
            name: (form.name ?? "").slice(0, 200),
            expiresInDays: days,
          });
          return { newToken: { name: created.summary.name, token: created.token } };
        }),
      ),
    )
    .post(
      "/account/security/tokens/:id/revoke",
      page(ctx, { access: "user", mutation: true }, async (c, user) =>
        acting(ctx, c, user, "tokens", async () => {
          await revokePersonalToken(ctx, caller(user, c.ip), c.params.id ?? "");
          return { notice: "The token was revoked." };
        }),
      ),
    );
