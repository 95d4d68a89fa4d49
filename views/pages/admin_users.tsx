// Administrators: every user with their plan, and a form to change it.
import { Alert, CsrfField, Time } from "../components/forms.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

export type AdminUserRow = { id: string; email: string; plan: string; isAdmin: boolean; createdAt: Date };

export function AdminUsersPage(props: {
  user: ConsoleUser;
  users: AdminUserRow[];
  plans: { id: string; name: string }[];
  notice?: string | null;
  error?: string | null;
}) {
  return (
    <Layout title="Users" user={props.user} active="admin">
      <h1>Users</h1>
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      {props.error ? <Alert kind="error" message={props.error} /> : ""}
      <div class="table-wrap">
        <table class="stack" id="users-table">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Since</th>
              <th scope="col">Plan</th>
            </tr>
          </thead>
          <tbody>
            {props.users.map((u) => (
              <tr data-user-id={u.id}>
                <td data-label="Email">
                  <span safe>{u.email}</span>
                  {u.isAdmin ? <strong class="small"> (admin)</strong> : ""}
                </td>
                <td data-label="Since">
                  <Time value={u.createdAt} />
                </td>
                <td data-label="Plan">
                  <form method="post" action={`/admin/users/${u.id}/plan`} class="inline">
                    <CsrfField token={props.user.csrf} />
                    <select name="plan" aria-label={`Plan of ${u.email}`}>
                      {props.plans.map((p) => (
                        <option value={p.id} selected={p.id === u.plan} safe>
                          {p.name}
                        </option>
                      ))}
                    </select>
                    <button type="submit">Change</button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}
