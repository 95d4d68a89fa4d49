// Channels: connect Telegram, Slack or WhatsApp to the assistant, see each one's status, choose who
// may talk to it, disconnect. Everything shown comes from the container; credential fields are always
// empty (a credential is never shown again) and leaving one empty keeps what the container has.
import { Alert, CsrfField, ErrorSlot } from "../components/forms.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

export type ChannelView = Record<string, unknown> & { channel: string };
export type ChannelsSectionProps = {
  csrf: string;
  channels: ChannelView[];
  keepsAwake: boolean;
  publicUrl: boolean;
  notice?: string | null;
  error?: { channel: string; message: string } | null;
};

type FieldSpec = { name: string; label: string; secret: boolean; hint: string };

export const CHANNEL_FORMS: Record<string, { label: string; allowed: FieldSpec; fields: FieldSpec[] }> = {
  telegram: {
    label: "Telegram",
    allowed: {
      name: "allowed_chat_ids",
      label: "Allowed chat ids",
      secret: false,
      hint: "Comma-separated. A stranger who writes to the bot is told its chat id.",
    },
    fields: [
      { name: "bot_token", label: "Bot token", secret: true, hint: "From @BotFather, e.g. 123456:ABC…" },
    ],
  },
  slack: {
    label: "Slack",
    allowed: {
      name: "allowed_user_ids",
      label: "Allowed user ids",
      secret: false,
      hint: "Comma-separated Slack member ids, e.g. U012AB3CD.",
    },
    fields: [
      {
        name: "bot_token",
        label: "Bot token",
        secret: true,
        hint: "The app's Bot User OAuth Token (xoxb-…).",
      },
      {
        name: "signing_secret",
        label: "Signing secret",
        secret: true,
        hint: "Basic Information → App Credentials.",
      },
    ],
  },
  whatsapp: {
    label: "WhatsApp",
    allowed: {
      name: "allowed_numbers",
      label: "Allowed numbers",
      secret: false,
      hint: "Comma-separated, international form, digits only (e.g. 15551234567).",
    },
    fields: [
      { name: "phone_number_id", label: "Phone number id", secret: false, hint: "WhatsApp → API Setup." },
      { name: "access_token", label: "Access token", secret: true, hint: "A system user's permanent token." },
      { name: "app_secret", label: "App secret", secret: true, hint: "App settings → Basic." },
      {
        name: "verify_token",
        label: "Verify token",
        secret: true,
        hint: "Any phrase of 8+ characters; type the same one in Meta's webhook settings.",
      },
    ],
  },
};

const STATUS_TEXT: Record<string, string> = {
  stopped: "Not connected",
  starting: "Starting…",
  polling: "Connected (polling)",
  webhook: "Connected (webhook)",
  unauthorized: "The platform rejected the credentials",
  conflict: "Another client uses this bot",
  rate_limited: "Rate limited, retrying",
  unreachable: "The platform cannot be reached",
  error: "Error",
};

function list(value: unknown): string {
  return Array.isArray(value) ? value.join(", ") : "";
}

function account(view: ChannelView): string | null {
  for (const key of ["bot_username", "team", "display_phone_number"]) {
    const value = view[key];
    if (typeof value === "string" && value) return key === "bot_username" ? `@${value}` : value;
  }
  return null;
}

function ChannelCard(props: { view: ChannelView; csrf: string; error: string | null }) {
  const { view } = props;
  const form = CHANNEL_FORMS[view.channel];
  if (!form) return "";
  const id = view.channel;
  const status = String(view.status ?? "stopped");
  const who = account(view);
  const values: Record<string, string> = {
    [form.allowed.name]: list(view[form.allowed.name]),
    phone_number_id: String(view.phone_number_id ?? ""),
  };
  return (
    <div
      class="card channel"
      id={`channel-${id}`}
      data-channel={id}
      data-status={status}
      data-configured={String(view.configured === true)}
    >
      <h2 id={`channel-${id}-heading`}>{form.label}</h2>
      <p class="channel-status" role="status">
        <strong safe>{STATUS_TEXT[status] ?? status}</strong>
        {who ? <span class="muted" safe>{` · ${who}`}</span> : ""}
        {view.mode === "polling" ? <span class="muted"> · keeps your container awake</span> : ""}
      </p>
      {typeof view.detail === "string" && view.detail ? (
        <p class="small muted channel-detail" safe>
          {view.detail}
        </p>
      ) : (
        ""
      )}
      {typeof view.webhook_url === "string" && view.configured === true ? (
        <div class="field">
          <label for={`channel-${id}-url`}>
            {id === "slack"
              ? "Request URL for Slack's Event Subscriptions"
              : "Callback URL for Meta's webhook settings"}
          </label>
          <input id={`channel-${id}-url`} class="mono" type="text" readonly value={view.webhook_url} />
          <span class="hint">It holds a secret: give it only to {form.label}.</span>
        </div>
      ) : (
        ""
      )}
      <form
        id={`channel-${id}-form`}
        method="post"
        action={`/channels/${id}`}
        hx-post={`/channels/${id}`}
        hx-target="#channels-section"
        hx-swap="outerHTML"
        aria-labelledby={`channel-${id}-heading`}
      >
        <ErrorSlot message={props.error} />
        <CsrfField token={props.csrf} />
        {[...form.fields, form.allowed].map((field) => (
          <div class="field">
            <label for={`channel-${id}-${field.name}`}>{field.label}</label>
            <input
              id={`channel-${id}-${field.name}`}
              name={field.name}
              type={field.secret ? "password" : "text"}
              autocomplete="off"
              spellcheck="false"
              maxlength={1000}
              value={field.secret ? "" : (values[field.name] ?? "")}
              placeholder={field.secret && view.configured === true ? "(unchanged)" : ""}
            />
            <span class="hint" safe>
              {field.hint}
            </span>
          </div>
        ))}
        <div class="actions">
          <button type="submit">{view.configured === true ? "Save" : `Connect ${form.label}`}</button>
        </div>
      </form>
      {view.configured === true ? (
        <form
          method="post"
          action={`/channels/${id}/delete`}
          hx-post={`/channels/${id}/delete`}
          hx-target="#channels-section"
          hx-swap="outerHTML"
        >
          <CsrfField token={props.csrf} />
          <button type="submit" class="link danger" id={`channel-${id}-disconnect`}>
            Disconnect {form.label}
          </button>
        </form>
      ) : (
        ""
      )}
    </div>
  );
}

export function ChannelsSection(props: ChannelsSectionProps) {
  return (
    <section id="channels-section" aria-label="Channels">
      {props.notice ? <Alert kind="success" message={props.notice} /> : ""}
      {props.publicUrl ? (
        ""
      ) : (
        <Alert
          kind="info"
          message="This platform has no public URL: Telegram polls (and keeps your container awake); Slack and WhatsApp cannot deliver messages."
        />
      )}
      <p class="small muted">
        Credentials go straight to your container, which keeps them encrypted in its own volume; the platform
        never stores them. Only the chats and people you allow get answers.
      </p>
      {props.channels.map((view) => (
        <ChannelCard
          view={view}
          csrf={props.csrf}
          error={props.error?.channel === view.channel ? props.error.message : null}
        />
      ))}
    </section>
  );
}

export function ChannelsPage(props: { user: ConsoleUser; state: string } & Partial<ChannelsSectionProps>) {
  const ready = props.state === "running" || props.state === "frozen";
  return (
    <Layout title="Channels" user={props.user} active="channels">
      <h1>Channels</h1>
      {ready && props.channels ? (
        <ChannelsSection
          csrf={props.user.csrf}
          channels={props.channels}
          keepsAwake={props.keepsAwake ?? false}
          publicUrl={props.publicUrl ?? false}
          notice={props.notice}
          error={props.error}
        />
      ) : (
        <div class="alert alert-info" role="status" id="not-running">
          Channels live in your container, and you have none running.{" "}
          <a href="/dashboard">Go to the dashboard</a> to start it.
        </div>
      )}
    </Layout>
  );
}
