// Sign in and create account. Both forms post to the console's own routes; with htmx the answer is
// an HX-Redirect (success) or an error message for the form's slot.
import { ErrorSlot, Field } from "../components/forms.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

const PASSWORD_HINT = "At least 12 characters. A few unrelated words make a good one.";

export function LoginPage(props: { error?: string | null; email?: string; notice?: string | null }) {
  return (
    <Layout title="Sign in" user={null} narrow>
      <h1>Sign in</h1>
      {props.notice ? (
        <div class="alert alert-success" role="status" safe>
          {props.notice}
        </div>
      ) : (
        ""
      )}
      <section class="card">
        <form id="login-form" method="post" action="/login" hx-post="/login" hx-swap="none">
          <ErrorSlot message={props.error} />
          <Field
            id="login-email"
            label="Email"
            name="email"
            type="email"
            autocomplete="username"
            required
            maxlength={320}
            value={props.email}
            autofocus
          />
          <Field
            id="login-password"
            label="Password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            maxlength={4096}
          />
          <Field
            id="login-totp"
            label="Two-factor code"
            name="totp_code"
            type="text"
            autocomplete="one-time-code"
            maxlength={40}
            hint="Only if you turned on two-factor sign-in: the app's code or a recovery code."
          />
          <div class="actions">
            <button type="submit">Sign in</button>
            <a href="/signup">Create an account</a>
            <a href="/forgot-password">Forgot your password?</a>
          </div>
        </form>
      </section>
    </Layout>
  );
}

export function SignupPage(props: { error?: string | null; email?: string; invite?: string | null }) {
  return (
    <Layout title="Create account" user={null} narrow>
      <h1>Create your account</h1>
      <p class="lead">Your own private AI assistant, in a container only you can reach.</p>
      <section class="card">
        <form id="signup-form" method="post" action="/signup" hx-post="/signup" hx-swap="none">
          <ErrorSlot message={props.error} />
          {props.invite ? <input type="hidden" name="invite" value={props.invite} /> : ""}
          <Field
            id="signup-email"
            label="Email"
            name="email"
            type="email"
            autocomplete="email"
            required
            maxlength={320}
            value={props.email}
            autofocus
          />
          <Field
            id="signup-password"
            label="Password"
            name="password"
            type="password"
            autocomplete="new-password"
            required
            minlength={12}
            maxlength={4096}
            hint={PASSWORD_HINT}
          />
          <div class="actions">
            <button type="submit">Create account</button>
            <a href="/login">I already have an account</a>
          </div>
        </form>
      </section>
    </Layout>
  );
}

/** Shown for a failure outside any form (or without JavaScript): the message and a way on. */
export function ErrorPage(props: { status: number; message: string; user: ConsoleUser | null }) {
  const title = props.status === 404 ? "Not found" : props.status >= 500 ? "Something went wrong" : "Sorry";
  return (
    <Layout title={title} user={props.user} narrow>
      <h1 safe>{title}</h1>
      <div class="alert alert-error" role="alert" safe>
        {props.message}
      </div>
      <p>
        <a href={props.user ? "/dashboard" : "/login"}>
          {props.user ? "Back to the dashboard" : "Go to sign in"}
        </a>
      </p>
    </Layout>
  );
}
