// The OpenAPI entries of the account routes of issue 17 (merged into API_OPERATIONS in openapi.ts).
import type { Op } from "./openapi.ts";

export const ACCOUNT_OPERATIONS: Record<string, Record<string, Op>> = {
  "/auth/password-reset": {
    post: {
      summary: "Mail a password-reset link (same answer whether or not the email has an account)",
      body: { email: "string" },
      responses: { 202: "Accepted", 429: "Too many requests (Retry-After)" },
    },
  },
  "/auth/password-reset/confirm": {
    post: {
      summary: "Set a new password with a reset token; every sign-in ends",
      body: { token: "string", new_password: "string" },
      responses: { 204: "Changed", 400: "Invalid, used or expired token, or weak password" },
    },
  },
  "/auth/verify-email/confirm": {
    post: {
      summary: "Confirm the email address with the mailed token",
      body: { token: "string" },
      responses: { 204: "Confirmed", 400: "Invalid, used or expired token" },
    },
  },
  "/auth/verify-email/resend": {
    post: {
      summary: "Mail a new confirmation link",
      auth: true,
      responses: { 202: "Sent", 409: "Already confirmed, or the server has no SMTP" },
    },
  },
  "/auth/totp/setup": {
    post: {
      ok: "TotpSetup",
      summary: "Start two-factor setup: {secret, otpauth_uri, qr_svg} (password sign-in only)",
      auth: true,
      responses: { 200: "Setup", 409: "Already enabled" },
    },
  },
  "/auth/totp/enable": {
    post: {
      ok: "RecoveryCodes",
      summary: "Turn two-factor on with a valid code: {recovery_codes} (ten, shown once)",
      auth: true,
      body: { code: "string" },
      responses: { 200: "Enabled", 400: "Invalid code", 429: "Too many attempts" },
    },
  },
  "/auth/totp/disable": {
    post: {
      summary: "Turn two-factor off (password and a code or recovery code)",
      auth: true,
      body: { password: "string", code: "string" },
      responses: { 204: "Disabled", 401: "Invalid code", 403: "Wrong password" },
    },
  },
  "/tokens": {
    get: {
      ok: "PersonalTokens",
      summary: "List personal access tokens (no secrets)",
      auth: true,
      responses: { 200: "Tokens" },
    },
    post: {
      ok: "PersonalTokenCreated",
      summary: "Create a personal access token {name, expires_in_days?}: the cfp_ token is shown once",
      auth: true,
      body: { name: "string", expires_in_days: "integer?" },
      responses: { 201: "{id, token, …}", 400: "Invalid input", 403: "Not with a token" },
    },
  },
  "/tokens/{id}": {
    delete: {
      summary: "Revoke a personal access token",
      auth: true,
      responses: { 204: "Revoked", 404: "No such token" },
    },
  },
  "/account/export": {
    get: {
      ok: "AccountExport",
      summary: "Download my data: account, key metadata, sign-ins, tokens, audit entries",
      auth: true,
      responses: { 200: "JSON export" },
    },
  },
  "/admin/users/{id}/plan": {
    put: {
      ok: "PlanChanged",
      summary: "Change a user's plan; container limits follow at its next spawn",
      auth: true,
      body: { plan: "string" },
      responses: {
        200: "{user_id, plan, container_limits}",
        400: "Unknown plan",
        403: "Not an admin",
        404: "No such user",
      },
    },
  },
};
