// AI provider keys: add (one per provider; a new one replaces the old), list by preview only, delete.
import type { CredentialSummary } from "../../src/secrets/credentials.ts";
import { Alert, CsrfField, ErrorSlot, Time } from "../components/forms.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

export const PROVIDER_LABELS: Record<string, string> = {
  anthropic: "Anthropic (Claude)",
  openai: "OpenAI",
  google: "Google (Gemini)",
  openrouter: "OpenRouter",
};

const PLACEHOLDERS: Record<string, string> = {
  anthropic: "sk-ant-…",
  openai: "sk-… or sk-proj-…",
  google: "AIza…",
  openrouter: "sk-or-…",
};

const labelOf = (provider: string) => PROVIDER_LABELS[provider] ?? provider;

/** Asks first, naming the key, like the container's kill; Cancel has the focus. */
function DeleteKeyConfirm(props: { credential: CredentialSummary; csrf: string }) {
  const { credential } = props;
  const label = labelOf(credential.provider);
  return (
    <div
      class="confirm-box"
      id="delete-key-confirm"
      role="alertdialog"
      aria-labelledby="delete-key-title"
      aria-describedby="delete-key-text"
    >
      <h3 id="delete-key-title" safe>
        {`Delete your ${label} key ${credential.key_preview}?`}
      </h3>
      <p id="delete-key-text" safe>
        {`Your assistant stops using it within seconds, and anything that needs ${label} fails until you add a key again. The key cannot be shown or restored: to use it again, paste it from your provider's dashboard.`}
      </p>
      <form
        method="post"
        action={`/keys/${credential.id}/delete`}
        hx-post={`/keys/${credential.id}/delete`}
        hx-target="#keys-section"
        hx-swap="outerHTML"
      >
        <CsrfField token={props.csrf} />
        <div class="actions">
          <button type="submit" class="danger" id="confirm-delete-key-button">
            Yes, delete this key
          </button>
          <a
            class="button secondary"
            href="/keys"
            hx-get="/keys/section"
            hx-target="#keys-section"
            hx-swap="outerHTML"
            id="cancel-delete-key-button"
            data-autofocus
          >
            Cancel
          </a>
        </div>
      </form>
    </div>
  );
}

export function KeysSection(props: {
  keys: CredentialSummary[];
  csrf: string;
  notice?: string | null;
  error?: string | null;
  provider?: string;
  /** The key whose deletion is being confirmed. */
  confirmDelete?: string | null;
}) {
  const confirming = props.keys.find((key) => key.id === props.confirmDelete);
  return (
    <section id="keys-section" aria-labelledby="keys-heading">
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      <div class="card">
        <h2 id="keys-heading">Your keys</h2>
        {props.keys.length === 0 ? (
          <p class="muted" id="no-keys">
            No keys yet. Add one below so your assistant can answer.
          </p>
        ) : (
          <div class="table-wrap">
            <table class="stack" id="keys-table">
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Key</th>
                  <th scope="col">Added</th>
                  <th scope="col">
                    <span class="muted">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {props.keys.map((key) => (
                  <tr data-provider={key.provider}>
                    <td data-label="Provider" safe>
                      {labelOf(key.provider)}
                    </td>
                    <td data-label="Key" class="mono key-preview" safe>
                      {key.key_preview}
                    </td>
                    <td data-label="Added">
                      <Time value={key.created_at} />
                    </td>
                    <td>
                      <form
                        method="get"
                        action={`/keys/${key.id}/delete`}
                        hx-get={`/keys/${key.id}/delete`}
                        hx-target="#keys-section"
                        hx-swap="outerHTML"
                      >
                        <button
                          type="submit"
                          class="link danger"
                          aria-label={`Delete the ${labelOf(key.provider)} key ${key.key_preview}…`}
                        >
                          Delete…
                        </button>
                      </form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {confirming ? <DeleteKeyConfirm credential={confirming} csrf={props.csrf} /> : ""}
        <p class="small muted">
          Keys are stored encrypted and are never shown again, only their first and last characters. They
          never enter your container: the node adds them to its requests on the way out. Adding, replacing or
          deleting a key takes effect in your running container within seconds, with no restart.
        </p>
      </div>

      <div class="card">
        <h2 id="add-key-heading">Add a key</h2>
        <form
          id="add-key-form"
          method="post"
          action="/keys"
          hx-post="/keys"
          hx-target="#keys-section"
          hx-swap="outerHTML"
          aria-labelledby="add-key-heading"
        >
          <ErrorSlot message={props.error} />
          <CsrfField token={props.csrf} />
          <div class="field">
            <label for="key-provider">Provider</label>
            <select id="key-provider" name="provider" required>
              {Object.entries(PROVIDER_LABELS).map(([id, label]) => (
                <option value={id} selected={props.provider === id}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="key-value">API key</label>
            <input
              id="key-value"
              name="key"
              type="password"
              autocomplete="off"
              spellcheck="false"
              required
              maxlength={512}
              placeholder={Object.values(PLACEHOLDERS).join("  ·  ")}
              aria-describedby="key-hint"
            />
            <span class="hint" id="key-hint">
              Paste the key from your provider's dashboard. Adding a key for a provider replaces the one you
              had.
            </span>
          </div>
          <div class="actions">
            <button type="submit">Save key</button>
          </div>
        </form>
      </div>
    </section>
  );
}

export function KeysPage(props: {
  user: ConsoleUser;
  keys: CredentialSummary[];
  error?: string | null;
  notice?: string | null;
  provider?: string;
  confirmDelete?: string | null;
}) {
  return (
    <Layout title="Keys" user={props.user} active="keys">
      <h1>AI provider keys</h1>
      <p class="lead">Your assistant uses these to talk to the AI providers you choose.</p>
      <KeysSection
        keys={props.keys}
        csrf={props.user.csrf}
        error={props.error}
        notice={props.notice}
        provider={props.provider}
        confirmDelete={props.confirmDelete}
      />
    </Layout>
  );
}
