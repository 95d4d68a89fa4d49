// The administrators' invite links (CLAWFLEET_SIGNUP=invite): mint one (the link is shown once, only
// its hash is kept), see which are pending, used or revoked, and revoke a pending one.
import type { InviteSummary } from "../../src/auth/invites.ts";
import { Alert, CsrfField, ErrorSlot, Field, Time } from "./forms.tsx";

function status(invite: InviteSummary): string {
  if (invite.used_at) return "used";
  if (invite.revoked_at) return "revoked";
  return Date.parse(invite.expires_at) <= Date.now() ? "expired" : "pending";
}

export function InvitesSection(props: {
  csrf: string;
  invites: InviteSummary[];
  mode: string;
  link?: string | null;
  error?: string | null;
}) {
  return (
    <section id="invites-section" class="card" aria-labelledby="invites-heading">
      <h2 id="invites-heading">Invites</h2>
      <p class="small muted" safe>
        {`Sign-up is ${props.mode} (CLAWFLEET_SIGNUP). An invite link creates one account, within the days you choose.`}
      </p>
      {props.link ? (
        <div id="invite-link">
          <Alert kind="success" message="Invite link created. Copy it now: it will not be shown again." />
          <p>
            <code class="mono" safe>
              {props.link}
            </code>
          </p>
        </div>
      ) : (
        ""
      )}
      <form
        id="invite-form"
        method="post"
        action="/admin/invites"
        hx-post="/admin/invites"
        hx-target="#invites-section"
        hx-swap="outerHTML"
      >
        <ErrorSlot message={props.error} />
        <CsrfField token={props.csrf} />
        <Field
          id="invite-email"
          label="For this email only (optional)"
          name="email"
          type="email"
          autocomplete="off"
          maxlength={320}
        />
        <Field id="invite-days" label="Valid for (days)" name="days" type="text" value="7" maxlength={2} />
        <div class="actions">
          <button type="submit">Create invite link</button>
        </div>
      </form>
      {props.invites.length === 0 ? (
        <p class="muted">No invites yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="stack" id="invites-table">
            <thead>
              <tr>
                <th scope="col">For</th>
                <th scope="col">Status</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="muted">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.invites.map((invite) => (
                <tr>
                  <td data-label="For" safe>
                    {invite.email ?? "anyone with the link"}
                  </td>
                  <td data-label="Status" safe>
                    {status(invite)}
                  </td>
                  <td data-label="Expires">
                    <Time value={invite.expires_at} />
                  </td>
                  <td>
                    {status(invite) === "pending" ? (
                      <form
                        method="post"
                        action={`/admin/invites/${invite.id}/revoke`}
                        hx-post={`/admin/invites/${invite.id}/revoke`}
                        hx-target="#invites-section"
                        hx-swap="outerHTML"
                      >
                        <CsrfField token={props.csrf} />
                        <button type="submit" class="link danger">
                          Revoke
                        </button>
                      </form>
                    ) : (
                      ""
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
