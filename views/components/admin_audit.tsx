// The audit log on the admin page: entries as sentences, filtered by person, action and days, paged
// from the newest. The filter is a GET form, so a filtered view is a link and works without JavaScript.
import type { AuditFilter, AuditRow } from "../../src/audit_query.ts";
import { auditSentence } from "./audit_sentence.ts";
import { Time } from "./forms.tsx";

export type AuditSectionProps = {
  entries: AuditRow[];
  olderThan: number | null;
  filter: AuditFilter;
  actions: string[];
};

/** The query string for this filter (and page), for links that keep it. */
export function auditQuery(filter: AuditFilter, before?: number | null): string {
  const params = new URLSearchParams();
  for (const key of ["user", "action", "from", "to"] as const) {
    const value = filter[key];
    if (value) params.set(key, value);
  }
  if (before) params.set("before", String(before));
  const text = params.toString();
  return text ? `?${text}` : "";
}

function PageLink(props: { id: string; filter: AuditFilter; before?: number | null; label: string }) {
  const query = auditQuery(props.filter, props.before);
  return (
    <a
      id={props.id}
      href={`/admin${query}#audit-heading`}
      hx-get={`/admin/audit${query}`}
      hx-target="#audit-section"
      hx-swap="outerHTML"
    >
      {props.label}
    </a>
  );
}

export function AuditSection(props: AuditSectionProps) {
  const { filter } = props;
  const filtered = Boolean(filter.user || filter.action || filter.from || filter.to);
  return (
    <section class="card" id="audit-section" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      <form
        id="audit-filter"
        class="filters"
        method="get"
        action="/admin#audit-heading"
        hx-get="/admin/audit"
        hx-target="#audit-section"
        hx-swap="outerHTML"
        aria-label="Filter the audit log"
      >
        <div class="field">
          <label for="audit-user">Person (email)</label>
          <input id="audit-user" name="user" type="search" maxlength={320} value={filter.user ?? ""} />
        </div>
        <div class="field">
          <label for="audit-action">Action</label>
          <select id="audit-action" name="action">
            <option value="">Any action</option>
            {props.actions.map((action) => (
              <option value={action} selected={filter.action === action} safe>
                {action}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="audit-from">From (UTC day)</label>
          <input id="audit-from" name="from" type="date" value={filter.from ?? ""} />
        </div>
        <div class="field">
          <label for="audit-to">To</label>
          <input id="audit-to" name="to" type="date" value={filter.to ?? ""} />
        </div>
        <div class="actions">
          <button type="submit">Filter</button>
          {filtered ? <PageLink id="audit-clear" filter={{}} label="Clear" /> : ""}
        </div>
      </form>
      {props.entries.length === 0 ? (
        <p class="muted" id="audit-empty">
          {filtered ? "No events match this filter." : "No events yet."}
        </p>
      ) : (
        <div class="table-wrap">
          <table class="stack" id="audit-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What happened</th>
                <th scope="col">Action</th>
                <th scope="col">IP</th>
              </tr>
            </thead>
            <tbody>
              {props.entries.map((entry) => (
                <tr data-audit-id={String(entry.id)}>
                  <td data-label="When">
                    <Time value={entry.createdAt} />
                  </td>
                  <td data-label="What happened" class="breakable" safe>
                    {auditSentence(entry)}
                  </td>
                  <td data-label="Action" class="mono small" safe>
                    {entry.action}
                  </td>
                  <td data-label="IP" class="mono small" safe>
                    {entry.ip ?? "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Audit log pages">
        {filter.before ? <PageLink id="audit-newest" filter={filter} label="← Newest" /> : ""}
        {props.olderThan ? (
          <PageLink id="audit-older" filter={filter} before={props.olderThan} label="Older events →" />
        ) : (
          ""
        )}
      </nav>
    </section>
  );
}
