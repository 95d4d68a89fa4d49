// Sign up, sign in and sign out from the console. The account rules live in src/auth (the same code
// the JSON API runs); these routes only read the form, set or clear the session cookies and answer.

import { LoginPage, SignupPage } from "../../../views/pages/auth.tsx";
import { LandingPage } from "../../../views/pages/landing.tsx";
import { logOut } from "../../auth/account.ts";
import type { ClientMeta } from "../../auth/auth_error.ts";
import { setConsoleCookies } from "../../auth/cookie_sign_in.ts";
import { clearSignInCookies } from "../../auth/cookies.ts";
import { logIn } from "../../auth/login.ts";
import { noAccountsYet, signUp } from "../../auth/signup.ts";
import type { AppContext } from "../../context.ts";
import type { PageBase } from "./page_base.ts";
import { formFailure, formFields, html, page, redirect, safeNext } from "./page_response.ts";
import { ENDED_MESSAGES, isEndedReason } from "./sign_in_ended.ts";

const meta = (c: { ip: string; request: Request }): ClientMeta => ({
  ip: c.ip,
  userAgent: c.request.headers.get("user-agent"),
});

/** An invite token from the link or the form, kept only when it has the shape of one. */
const inviteParam = (value: unknown) =>
  typeof value === "string" && /^cfi_[A-Za-z0-9_-]{43}$/.test(value) ? value : null;

export const authPages = (ctx: AppContext) => (app: PageBase) =>
  app
    .get(
      "/",
      page(ctx, { access: "public" }, async (c) => {
        if (c.session) return redirect(c.request, "/dashboard");
        return html(LandingPage({ firstAccount: await noAccountsYet(ctx), signup: ctx.config.signup.mode }));
      }),
    )
    .get(
      "/login",
      page(ctx, { access: "public" }, async (c) => {
        if (c.session) return redirect(c.request, "/dashboard");
        const notice =
          c.query.deleted === "1"
            ? "Your account has been deleted. Goodbye!"
            : c.query.reset === "1"
              ? "Your password has been changed. Sign in with the new one."
              : isEndedReason(c.query.ended)
                ? ENDED_MESSAGES[c.query.ended]
                : null;
        return html(LoginPage({ notice }));
      }),
    )
    .post(
      "/login",
      page(ctx, { access: "public", mutation: true }, async (c) => {
        const form = formFields(c.body);
        const email = (form.email ?? "").slice(0, 320);
        try {
          const { user, session } = await logIn(
            ctx,
            { email, password: form.password ?? "", totpCode: form.totp_code || undefined },
            meta(c),
          );
          await setConsoleCookies(ctx, c.tokens, c.cookie, { ...session, userId: user.id }, c.secure);
          return redirect(c.request, safeNext(form.next ?? c.query.next));
        } catch (error) {
          return formFailure(ctx, c.request, null, error, (message) => LoginPage({ error: message, email }));
        }
      }),
    )
    .get(
      "/signup",
      page(ctx, { access: "public" }, async (c) =>
        c.session
          ? redirect(c.request, "/dashboard")
          : html(SignupPage({ invite: inviteParam(c.query.invite) })),
      ),
    )
    .post(
      "/signup",
      page(ctx, { access: "public", mutation: true }, async (c) => {
        const form = formFields(c.body);
        const email = (form.email ?? "").slice(0, 320);
        const invite = inviteParam(form.invite);
        try {
          const { user, session } = await signUp(
            ctx,
            { email, password: form.password ?? "", invite: invite ?? undefined },
            meta(c),
          );
          await setConsoleCookies(ctx, c.tokens, c.cookie, { ...session, userId: user.id }, c.secure);
          return redirect(c.request, "/dashboard");
        } catch (error) {
          return formFailure(ctx, c.request, null, error, (message) =>
            SignupPage({ error: message, email, invite }),
          );
        }
      }),
    )
    .post(
      "/logout",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        await logOut(ctx, { userId: user.id, signInId: user.signInId, ip: c.ip });
        clearSignInCookies(c.cookie);
        return redirect(c.request, "/login");
      }),
    );
