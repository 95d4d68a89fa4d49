// The user's assistant settings: default provider and model, system prompt, and whether the shell
// tool asks first. They reach the container the next time the chat connects.
import type { UserSettings } from "../../src/settings/user_settings.ts";
import { Alert, CsrfField, ErrorSlot } from "../components/forms.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";
import { PROVIDER_LABELS } from "./keys.tsx";

const SHELL_LABELS: Record<string, string> = {
  ask: "Ask me first: every command waits for my approval in the chat",
  run: "Run: the assistant runs commands in its container without asking",
  off: "Off: no shell tool",
};

export function SettingsSection(props: {
  settings: UserSettings;
  csrf: string;
  notice?: string | null;
  error?: string | null;
}) {
  const s = props.settings;
  return (
    <section id="settings-section" aria-labelledby="settings-heading">
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      <div class="card">
        <h2 id="settings-heading">Your assistant</h2>
        <form
          id="settings-form"
          method="post"
          action="/settings"
          hx-post="/settings"
          hx-target="#settings-section"
          hx-swap="outerHTML"
          aria-labelledby="settings-heading"
        >
          <ErrorSlot message={props.error} />
          <CsrfField token={props.csrf} />
          <div class="field">
            <label for="settings-provider">Default provider</label>
            <select id="settings-provider" name="default_provider">
              <option value="" selected={!s.default_provider}>
                The first one with a key
              </option>
              {Object.entries(PROVIDER_LABELS).map(([id, label]) => (
                <option value={id} selected={s.default_provider === id}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="settings-model">Default model</label>
            <input
              id="settings-model"
              name="default_model"
              type="text"
              maxlength={100}
              value={s.default_model ?? ""}
              placeholder="the provider's default, e.g. claude-sonnet-4-5"
              autocomplete="off"
            />
          </div>
          <div class="field">
            <label for="settings-prompt">System prompt</label>
            <textarea id="settings-prompt" name="system_prompt" rows="6" maxlength={8000} safe>
              {s.system_prompt}
            </textarea>
            <p class="small muted">Your memory notes are added after it. Leave empty for the default.</p>
          </div>
          <fieldset class="field">
            <legend>Shell commands</legend>
            {Object.entries(SHELL_LABELS).map(([mode, label]) => (
              <label class="choice">
                <input
                  type="radio"
                  name="shell_mode"
                  value={mode}
                  id={`settings-shell-${mode}`}
                  checked={s.shell_mode === mode}
                />{" "}
                <span safe>{label}</span>
              </label>
            ))}
          </fieldset>
          <div class="actions">
            <button type="submit">Save settings</button>
          </div>
        </form>
        <p class="small muted">
          Settings apply to your next message: the chat hands them to your container whenever it connects.
        </p>
      </div>
    </section>
  );
}

export function SettingsPage(props: { user: ConsoleUser; settings: UserSettings; error?: string | null }) {
  return (
    <Layout title="Settings" user={props.user} active="settings">
      <h1>Settings</h1>
      <SettingsSection settings={props.settings} csrf={props.user.csrf} error={props.error} />
    </Layout>
  );
}
