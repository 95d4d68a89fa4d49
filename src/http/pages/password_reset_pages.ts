// Forgotten password and address confirmation in the console, on the same services as the API.
import {
  ForgotPasswordPage,
  ResetPasswordPage,
  VerifyEmailPage,
} from "../../../views/pages/password_reset.tsx";
import { confirmEmail } from "../../auth/email_verification.ts";
import { confirmPasswordReset, requestPasswordReset } from "../../auth/password_reset.ts";
import type { AppContext } from "../../context.ts";
import { RESET_REQUESTED } from "../auth_password_reset.ts";
import type { PageBase } from "./page_base.ts";
import { formFailure, formFields, html, page, redirect } from "./page_response.ts";

const meta = (c: { ip: string; request: Request }) => ({
  ip: c.ip,
  userAgent: c.request.headers.get("user-agent"),
});
const tokenOf = (raw: string | undefined) => (raw ?? "").slice(0, 100);

export const passwordResetPages = (ctx: AppContext) => (app: PageBase) =>
  app
    .get(
      "/forgot-password",
      page(ctx, { access: "public" }, async () => html(ForgotPasswordPage({}))),
    )
    .post(
      "/forgot-password",
      page(ctx, { access: "public", mutation: true }, async (c) => {
        const email = (formFields(c.body).email ?? "").slice(0, 320);
        try {
          await requestPasswordReset(ctx, email, meta(c));
        } catch (error) {
          return formFailure(ctx, c.request, null, error, (message) =>
            ForgotPasswordPage({ error: message, email }),
          );
        }
        return html(ForgotPasswordPage({ notice: RESET_REQUESTED }));
      }),
    )
    .get(
      "/reset-password",
      page(ctx, { access: "public" }, async (c) =>
        html(ResetPasswordPage({ token: tokenOf(c.query.token) })),
      ),
    )
    .post(
      "/reset-password",
      page(ctx, { access: "public", mutation: true }, async (c) => {
        const form = formFields(c.body);
        const token = tokenOf(form.token);
        try {
          await confirmPasswordReset(ctx, { token, newPassword: form.new_password ?? "" }, meta(c));
        } catch (error) {
          return formFailure(ctx, c.request, null, error, (message) =>
            ResetPasswordPage({ token, error: message }),
          );
        }
        return redirect(c.request, "/login?reset=1");
      }),
    )
    .get(
      "/verify-email",
      page(ctx, { access: "public" }, async (c) => html(VerifyEmailPage({ token: tokenOf(c.query.token) }))),
    )
    .post(
      "/verify-email",
      page(ctx, { access: "public", mutation: true }, async (c) => {
        const token = tokenOf(formFields(c.body).token);
        try {
          await confirmEmail(ctx, token, c.ip);
        } catch (error) {
          return formFailure(ctx, c.request, null, error, (message) =>
            VerifyEmailPage({ token, error: message }),
          );
        }
        return html(VerifyEmailPage({ token: "", done: true }));
      }),
    );
