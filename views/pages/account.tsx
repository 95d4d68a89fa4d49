// The account page: signed-in devices (revoke any), password change, account deletion.
import type { SignInSummary } from "../../src/auth/account.ts";
import { Alert, CsrfField, ErrorSlot, Field, Time } from "../components/forms.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

/** A short, human name for a browser's user agent string (the full string is in the title). */
export function deviceName(userAgent: string | null): string {
  if (!userAgent) return "Unknown device";
  const browser = /Edg\//.test(userAgent)
    ? "Edge"
    : /Chrome\/|Chromium\//.test(userAgent)
      ? "Chrome"
      : /Firefox\//.test(userAgent)
        ? "Firefox"
        : /Safari\//.test(userAgent)
          ? "Safari"
          : null;
  const system = /Android/.test(userAgent)
    ? "Android"
    : /iPhone|iPad/.test(userAgent)
      ? "iOS"
      : /Windows/.test(userAgent)
        ? "Windows"
        : /Mac OS X/.test(userAgent)
          ? "macOS"
          : /Linux/.test(userAgent)
            ? "Linux"
            : null;
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? userAgent.slice(0, 60);
}

export function SignInsSection(props: {
  sessions: SignInSummary[];
  csrf: string;
  notice?: string | null;
  /** Sent beside another section's answer, to refresh this one too (htmx out-of-band swap). */
  outOfBand?: boolean;
}) {
  return (
    <section
      id="sessions-section"
      class="card"
      aria-labelledby="sessions-heading"
      hx-swap-oob={props.outOfBand ? "outerHTML" : undefined}
    >
      <h2 id="sessions-heading">Where you're signed in</h2>
      <div data-error-slot class="form-error" role="alert" aria-live="assertive"></div>
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      <div class="table-wrap">
        <table class="stack" id="sessions-table">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last active</th>
              <th scope="col">
                <span class="muted">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.sessions.map((s) => (
              <tr data-session-id={s.id} data-current={s.current ? "true" : undefined}>
                <td data-label="Device">
                  <span title={s.user_agent ?? undefined} safe>
                    {deviceName(s.user_agent)}
                  </span>
                  {s.current ? <strong class="small"> (this device)</strong> : ""}
                </td>
                <td data-label="IP address" class="mono" safe>
                  {s.ip ?? "—"}
                </td>
                <td data-label="Signed in">
                  <Time value={s.created_at} />
                </td>
                <td data-label="Last active">
                  <Time value={s.last_used_at} />
                </td>
                <td>
                  <form
                    method="post"
                    action={`/account/sessions/${s.id}/revoke`}
                    hx-post={`/account/sessions/${s.id}/revoke`}
                    hx-target="#sessions-section"
                    hx-swap="outerHTML"
                  >
                    <CsrfField token={props.csrf} />
                    <button type="submit" class="link danger">
                      {s.current ? "Sign out here" : "Sign out"}
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function PasswordSection(props: { csrf: string; notice?: string | null; error?: string | null }) {
  return (
    <section id="password-section" class="card" aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      <form
        id="password-form"
        method="post"
        action="/account/password"
        hx-post="/account/password"
        hx-target="#password-section"
        hx-swap="outerHTML"
      >
        <ErrorSlot message={props.error} />
        <CsrfField token={props.csrf} />
        <Field
          id="current-password"
          label="Current password"
          name="current_password"
          type="password"
          autocomplete="current-password"
          required
          maxlength={4096}
        />
        <Field
          id="new-password"
          label="New password"
          name="new_password"
          type="password"
          autocomplete="new-password"
          required
          minlength={12}
          maxlength={4096}
          hint="At least 12 characters. Your other devices will be signed out."
        />
        <div class="actions">
          <button type="submit">Change password</button>
        </div>
      </form>
    </section>
  );
}

export function DeleteAccountSection(props: { csrf: string; error?: string | null }) {
  return (
    <section id="delete-section" class="card danger-zone" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete account</h2>
      <p>
        This kills your container and <strong>permanently deletes</strong> everything in it (conversations,
        memory, files), your saved keys and your account. It cannot be undone.
      </p>
      <form id="delete-form" method="post" action="/account/delete" hx-post="/account/delete" hx-swap="none">
        <ErrorSlot message={props.error} />
        <CsrfField token={props.csrf} />
        <Field
          id="delete-password"
          label="Your password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxlength={4096}
        />
        <div class="field">
          <label class="check" for="delete-confirm">
            <input type="checkbox" id="delete-confirm" name="confirm" value="yes" required />
            <span>
              I understand that my container, its data, my keys and my account will be gone for good.
            </span>
          </label>
        </div>
        <div class="actions">
          <button type="submit" class="danger">
            Delete my account
          </button>
        </div>
      </form>
    </section>
  );
}

export function AccountPage(props: {
  user: ConsoleUser;
  sessions: SignInSummary[];
  plan: string;
  createdAt: Date;
  passwordError?: string | null;
  deleteError?: string | null;
}) {
  return (
    <Layout title="Account" user={props.user} active="account">
      <h1>Account</h1>
      <p class="lead">
        Signed in as <strong safe>{props.user.email}</strong> · plan <span safe>{props.plan}</span> · member
        since <Time value={props.createdAt} />
      </p>
      <p>
        <a id="security-link" href="/account/security">
          Two-factor sign-in, access tokens and your data
        </a>
      </p>
      <SignInsSection sessions={props.sessions} csrf={props.user.csrf} />
      <div class="grid">
        <PasswordSection csrf={props.user.csrf} error={props.passwordError} />
        <DeleteAccountSection csrf={props.user.csrf} error={props.deleteError} />
      </div>
    </Layout>
  );
}
