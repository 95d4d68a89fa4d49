// Which assistants users may pick when they start a container: the presets this server knows and any
// other enabled template, each a checkbox. At least one stays enabled.
import { Alert, CsrfField, ErrorSlot } from "../components/forms.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

const DESCRIPTIONS: Record<string, string> = {
  "clawfleet-runtime": "The built-in assistant: small and fast, with tools, schedules and channels.",
  openclaw: "OpenClaw, with its own Control UI on the apps origin. Needs a plan with 2 GB of memory.",
};

export function TemplatesSection(props: {
  csrf: string;
  known: string[];
  enabled: string[];
  notice?: string | null;
  error?: string | null;
}) {
  const names = [...new Set([...props.known, ...props.enabled])];
  return (
    <section id="templates-section" class="card" aria-labelledby="templates-heading">
      <h2 id="templates-heading">Assistants users may pick</h2>
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      <form
        id="templates-form"
        method="post"
        action="/admin/templates"
        hx-post="/admin/templates"
        hx-target="#templates-section"
        hx-swap="outerHTML"
      >
        <ErrorSlot message={props.error} />
        <CsrfField token={props.csrf} />
        <fieldset>
          <legend>Offered when a user starts a container from the dashboard</legend>
          {names.map((name) => (
            <div class="field checkbox">
              <label>
                <input
                  type="checkbox"
                  name={`template_${name}`}
                  id={`template-${name}`}
                  checked={props.enabled.includes(name)}
                />{" "}
                <code safe>{name}</code> <span safe>{DESCRIPTIONS[name] ?? ""}</span>
              </label>
            </div>
          ))}
        </fieldset>
        <button type="submit" id="templates-save">
          Save
        </button>
      </form>
    </section>
  );
}

export function AdminTemplatesPage(props: {
  user: ConsoleUser;
  known: string[];
  enabled: string[];
  error?: string | null;
}) {
  return (
    <Layout title="Assistants" user={props.user} active="admin">
      <h1>Assistants</h1>
      <p>
        <a href="/admin">Back to administration</a>
      </p>
      <TemplatesSection
        csrf={props.user.csrf}
        known={props.known}
        enabled={props.enabled}
        error={props.error}
      />
    </Layout>
  );
}
