// The account page: sessions, password, deletion; the rules are the account services of src/auth,
// shared with the JSON API.

import { AccountPage, PasswordSection, SignInsSection } from "../../../views/pages/account.tsx";
import {
  type AccountDeletionHook,
  changePassword,
  deleteAccount,
  listSignIns,
  revokeSignIn,
} from "../../auth/account.ts";
import { clearSignInCookies } from "../../auth/cookies.ts";
import { getUser } from "../../auth/users.ts";
import type { AppContext } from "../../context.ts";
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

const caller = (user: SignedInUser, ip: string) => ({ userId: user.id, signInId: user.signInId, ip });

async function accountPage(
  ctx: AppContext,
  user: SignedInUser,
  ip: string,
  errors: { passwordError?: string; deleteError?: string } = {},
) {
  const [sessions, row] = await Promise.all([
    listSignIns(ctx, caller(user, ip)),
    getUser(ctx.database.db, user.id),
  ]);
  if (!row) throw new PageError(401, "Sign in to continue.");
  return AccountPage({ user, sessions, plan: row.planId, createdAt: row.createdAt, ...errors });
}

export const accountPages = (ctx: AppContext, beforeDelete: AccountDeletionHook[]) => (app: PageBase) =>
  app
    .get(
      "/account",
      page(ctx, { access: "user" }, async (c, user) => html(await accountPage(ctx, user, c.ip))),
    )
    .post(
      "/account/sessions/:id/revoke",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        const id = c.params.id ?? "";
        await revokeSignIn(ctx, caller(user, c.ip), id);
        if (id === user.signInId) {
          clearSignInCookies(c.cookie);
          return redirect(c.request, "/login");
        }
        if (!isHtmx(c.request)) return redirect(c.request, "/account");
        const sessions = await listSignIns(ctx, caller(user, c.ip));
        return html(
          SignInsSection({ sessions, csrf: user.csrf, notice: "That device has been signed out." }),
        );
      }),
    )
    .post(
      "/account/password",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        const form = formFields(c.body);
        try {
          await changePassword(ctx, caller(user, c.ip), {
            currentPassword: form.current_password ?? "",
            newPassword: form.new_password ?? "",
          });
        } catch (error) {
          return formFailure(ctx, c.request, user, error, async (message) =>
            accountPage(ctx, user, c.ip, { passwordError: message }),
          );
        }
        if (!isHtmx(c.request)) return redirect(c.request, "/account");
        const sessions = await listSignIns(ctx, caller(user, c.ip));
        return html(
          `${PasswordSection({
            csrf: user.csrf,
            notice: "Password changed. Your other devices have been signed out.",
          })}${SignInsSection({ sessions, csrf: user.csrf, outOfBand: true })}`,
        );
      }),
    )
    .post(
      "/account/delete",
      page(ctx, { access: "user", mutation: true }, async (c, user) => {
        const form = formFields(c.body);
        try {
          if (form.confirm !== "yes") {
            throw new PageError(400, "Tick the box to confirm that you want everything deleted.");
          }
          await deleteAccount(ctx, caller(user, c.ip), form.password ?? "", beforeDelete);
        } catch (error) {
          return formFailure(ctx, c.request, user, error, async (message) =>
            accountPage(ctx, user, c.ip, { deleteError: message }),
          );
        }
        clearSignInCookies(c.cookie);
        return redirect(c.request, "/login?deleted=1");
      }),
    );
