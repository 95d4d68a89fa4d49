// Forgotten password (ask for a link), choosing a new one from the link, and confirming an address.
// The token stays in the form (a hidden field), never in a page the server renders elsewhere.
import { Alert, ErrorSlot, Field } from "../components/forms.tsx";
import { Layout } from "../layout.tsx";

export function ForgotPasswordPage(props: { error?: string | null; notice?: string | null; email?: string }) {
  return (
    <Layout title="Forgot password" user={null} narrow>
      <h1>Forgot your password?</h1>
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      <section class="card">
        <p>Enter your address; if it has an account, we mail a link to choose a new password.</p>
        <form id="forgot-form" method="post" action="/forgot-password">
          <ErrorSlot message={props.error} />
          <Field
            id="forgot-email"
            label="Email"
            name="email"
            type="email"
            autocomplete="email"
            required
            maxlength={320}
            value={props.email}
            autofocus
          />
          <div class="actions">
            <button type="submit">Send me a link</button>
            <a href="/login">Back to sign in</a>
          </div>
        </form>
      </section>
    </Layout>
  );
}

export function ResetPasswordPage(props: { token: string; error?: string | null }) {
  return (
    <Layout title="Choose a new password" user={null} narrow>
      <h1>Choose a new password</h1>
      <section class="card">
        <form id="reset-form" method="post" action="/reset-password">
          <ErrorSlot message={props.error} />
          <input type="hidden" name="token" value={props.token} />
          <Field
            id="reset-password"
            label="New password"
            name="new_password"
            type="password"
            autocomplete="new-password"
            required
            minlength={12}
            maxlength={4096}
            hint="At least 12 characters. Every device signed in to your account will be signed out."
            autofocus
          />
          <div class="actions">
            <button type="submit">Set new password</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}

export function VerifyEmailPage(props: { token: string; error?: string | null; done?: boolean }) {
  return (
    <Layout title="Confirm your address" user={null} narrow>
      <h1>Confirm your email address</h1>
      {props.done ? (
        <Alert kind="success" message="Thank you: your address is confirmed." />
      ) : (
        <section class="card">
          {/* A button, not the link itself: mail scanners that open links must not confirm anything. */}
          <form id="verify-form" method="post" action="/verify-email">
            <ErrorSlot message={props.error} />
            <input type="hidden" name="token" value={props.token} />
            <div class="actions">
              <button type="submit">Confirm my address</button>
            </div>
          </form>
        </section>
      )}
      <p>
        <a href="/dashboard">Go to the dashboard</a>
      </p>
    </Layout>
  );
}
