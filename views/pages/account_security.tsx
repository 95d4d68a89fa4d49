// The account's security page: address verification, two-factor sign-in, personal access tokens and
// "download my data". Plain forms that answer with this page again, so a secret shown once (a new
// token, the recovery codes) is rendered exactly once and never stored in the page's URL.
import type { TokenSummary } from "../../src/auth/personal_tokens.ts";
import type { TotpSetup } from "../../src/auth/totp.ts";
import { Alert, CsrfField, ErrorSlot, Field, Time } from "../components/forms.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

export type SecurityPageProps = {
  user: ConsoleUser;
  email: { verifiedAt: Date | null; canMail: boolean };
  totp: { enabled: boolean; setup?: TotpSetup | null; recoveryCodes?: string[] | null };
  tokens: TokenSummary[];
  newToken?: { name: string; token: string } | null;
  notice?: string | null;
  error?: { section: "email" | "totp" | "tokens"; message: string } | null;
};

function errorFor(props: SecurityPageProps, section: "email" | "totp" | "tokens") {
  return props.error?.section === section ? props.error.message : null;
}

function EmailSection(props: SecurityPageProps) {
  return (
    <section id="email-section" class="card" aria-labelledby="email-heading">
      <h2 id="email-heading">Email address</h2>
      <ErrorSlot message={errorFor(props, "email")} />
      {props.email.verifiedAt ? (
        <p id="email-status">
          <strong safe>{props.user.email}</strong> was confirmed <Time value={props.email.verifiedAt} />.
        </p>
      ) : (
        <>
          <p id="email-status">
            <strong safe>{props.user.email}</strong> is not confirmed yet.
          </p>
          {props.email.canMail ? (
            <form id="resend-form" method="post" action="/account/security/verify-email">
              <CsrfField token={props.user.csrf} />
              <button type="submit">Send a new confirmation link</button>
            </form>
          ) : (
            ""
          )}
        </>
      )}
    </section>
  );
}

function TotpSection(props: SecurityPageProps) {
  const { totp } = props;
  return (
    <section id="totp-section" class="card" aria-labelledby="totp-heading">
      <h2 id="totp-heading">Two-factor sign-in</h2>
      <ErrorSlot message={errorFor(props, "totp")} />
      {totp.recoveryCodes ? (
        <div id="recovery-codes">
          <Alert
            kind="warn"
            message="Save these recovery codes now: each signs you in once without your phone."
          />
          <ul class="mono">
            {totp.recoveryCodes.map((code) => (
              <li safe>{code}</li>
            ))}
          </ul>
        </div>
      ) : (
        ""
      )}
      {totp.enabled ? (
        <>
          <p id="totp-status">On: signing in asks for a code from your authenticator app.</p>
          <form id="totp-disable-form" method="post" action="/account/security/totp/disable">
            <CsrfField token={props.user.csrf} />
            <Field
              id="totp-disable-password"
              label="Password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
            />
            <Field id="totp-disable-code" label="Code or recovery code" name="code" type="text" required />
            <button type="submit" class="danger">
              Turn off two-factor sign-in
            </button>
          </form>
        </>
      ) : totp.setup ? (
        <>
          <p>Scan this code with your authenticator app, or type the secret, then enter the code it shows.</p>
          <figure id="totp-qr" class="qr">
            {totp.setup.qr_svg}
          </figure>
          <p>
            Secret:{" "}
            <code id="totp-secret" safe>
              {totp.setup.secret}
            </code>
          </p>
          <form id="totp-enable-form" method="post" action="/account/security/totp/enable">
            <CsrfField token={props.user.csrf} />
            <Field
              id="totp-code"
              label="Code from the app"
              name="code"
              type="text"
              autocomplete="one-time-code"
              required
              maxlength={6}
            />
            <button type="submit">Turn on</button>
          </form>
        </>
      ) : (
        <>
          <p id="totp-status">Off.</p>
          <form id="totp-setup-form" method="post" action="/account/security/totp/setup">
            <CsrfField token={props.user.csrf} />
            <button type="submit">Set up two-factor sign-in</button>
          </form>
        </>
      )}
    </section>
  );
}

function TokensSection(props: SecurityPageProps) {
  return (
    <section id="tokens-section" class="card" aria-labelledby="tokens-heading">
      <h2 id="tokens-heading">Personal access tokens</h2>
      <p>
        For scripts: send one as <code>Authorization: Bearer cfp_…</code>. Tokens cannot change your password,
        two-factor or tokens.
      </p>
      <ErrorSlot message={errorFor(props, "tokens")} />
      {props.newToken ? (
        <div id="new-token">
          <Alert
            kind="warn"
            message={`Copy the token "${props.newToken.name}" now: it is shown only once.`}
          />
          <code id="new-token-value" class="mono" safe>
            {props.newToken.token}
          </code>
        </div>
      ) : (
        ""
      )}
      <div class="table-wrap">
        <table class="stack" id="tokens-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="muted">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.tokens.map((t) => (
              <tr data-token-id={t.id}>
                <td data-label="Name" safe>
                  {t.name}
                </td>
                <td data-label="Created">
                  <Time value={t.created_at} />
                </td>
                <td data-label="Expires">{t.expires_at ? <Time value={t.expires_at} /> : "never"}</td>
                <td data-label="Last used">{t.last_used_at ? <Time value={t.last_used_at} /> : "never"}</td>
                <td>
                  <form method="post" action={`/account/security/tokens/${t.id}/revoke`}>
                    <CsrfField token={props.user.csrf} />
                    <button type="submit" class="link danger">
                      Revoke
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form id="token-form" method="post" action="/account/security/tokens">
        <CsrfField token={props.user.csrf} />
        <Field id="token-name" label="Name" name="name" type="text" required maxlength={100} />
        <div class="field">
          <label for="token-expiry">Expires after</label>
          <select id="token-expiry" name="expires_in_days">
            <option value="30">30 days</option>
            <option value="90">90 days</option>
            <option value="365">a year</option>
            <option value="">never</option>
          </select>
        </div>
        <button type="submit">Create token</button>
      </form>
    </section>
  );
}

export function SecurityPage(props: SecurityPageProps) {
  return (
    <Layout title="Security" user={props.user} active="account">
      <h1>Security and data</h1>
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      <EmailSection {...props} />
      <TotpSection {...props} />
      <TokensSection {...props} />
      <section id="data-section" class="card" aria-labelledby="data-heading">
        <h2 id="data-heading">Your data</h2>
        <p>
          A JSON file with your account, key metadata (never the keys), sign-ins, tokens and activity log.
        </p>
        <a id="export-link" href="/account/export" download="clawfleet-account.json">
          Download my data
        </a>
      </section>
    </Layout>
  );
}
