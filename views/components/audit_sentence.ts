// An audit entry as a sentence an operator reads at a glance ("ana@example.com froze their
// container"), from its action, the people on either side (by email) and its details. The raw action
// stays beside it in the table for search and for actions this list does not know yet.

export type AuditFacts = {
  action: string;
  userId: string | null;
  actorId: string | null;
  userEmail: string | null;
  actorEmail: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
};

const PROVIDER_NAMES: Record<string, string> = {
  anthropic: "an Anthropic",
  openai: "an OpenAI",
  google: "a Google",
  openrouter: "an OpenRouter",
};

function person(email: string | null, id: string | null): string {
  if (email) return email;
  return id ? "a deleted account" : "clawfleet";
}

/** What the subject did, with `their` standing for the person acted on when it is the subject. */
const PHRASES: Record<string, (f: AuditFacts) => string> = {
  "session.spawn": () => "started their container",
  "session.freeze": () => "froze their container",
  "session.restore": () => "restored their container",
  "session.kill": () => "killed their container and deleted its data",
  "session.hook_rotate": () => "got a new webhook address for their container",
  "credential.added": (f) => `added ${keyName(f)} key`,
  "credential.replaced": (f) => `replaced their ${keyName(f).replace(/^an? /, "")} key`,
  "credential.deleted": () => "deleted a provider key",
  "auth.login": () => "signed in",
  "auth.logout": () => "signed out",
  "auth.session_revoked": () => "signed out one of their devices",
  "auth.password_changed": () => "changed their password",
  "auth.password_reset_requested": () => "asked for a password reset link",
  "auth.password_reset": () => "set a new password with a reset link",
  "auth.refresh_reuse": () => "presented a used sign-in token again (its sign-in was ended)",
  "auth.totp_enabled": () => "turned on two-factor sign-in",
  "auth.totp_disabled": () => "turned off two-factor sign-in",
  "account.signup": (f) =>
    f.detail?.first_account ? "created the first account (an administrator)" : "signed up",
  "account.email_verified": () => "confirmed their email address",
  "account.deleted": () => "deleted their account",
  "channel.connect": (f) => `connected their ${channelName(f)} channel`,
  "channel.disconnect": (f) => `disconnected their ${channelName(f)} channel`,
  "settings.update": () => "changed their assistant settings",
  "token.created": () => "created a personal access token",
  "token.revoked": () => "revoked a personal access token",
  "admin.created": () => "was made an administrator",
  "admin.reset_link_issued": () => "was sent a password reset link by an operator",
  "admin.node_added": () => "added a node",
  "admin.node_removed": () => "removed a node",
  "admin.node_drain": () => "drained a node (no new containers go there)",
  "admin.node_activate": () => "activated a node",
  "admin.invite_created": () => "created an invite link",
  "admin.templates_changed": () => "changed which templates users may pick",
  "admin.invite_revoked": () => "revoked an invite link",
};

const CHANNEL_NAMES: Record<string, string> = { telegram: "Telegram", slack: "Slack", whatsapp: "WhatsApp" };

function channelName(f: AuditFacts): string {
  return CHANNEL_NAMES[f.target ?? ""] ?? "chat";
}

function keyName(f: AuditFacts): string {
  const provider = typeof f.detail?.provider === "string" ? f.detail.provider : "";
  return PROVIDER_NAMES[provider] ?? "a provider";
}

export function auditSentence(f: AuditFacts): string {
  const user = person(f.userEmail, f.userId);
  const actingForSomeoneElse = f.actorId && f.actorId !== f.userId;
  if (f.action === "admin.plan_changed") {
    const plan = typeof f.detail?.plan === "string" ? f.detail.plan : "another";
    return `${person(f.actorEmail, f.actorId)} moved ${user} to the ${plan} plan`;
  }
  const phrase = PHRASES[f.action];
  if (!phrase) {
    const subject = actingForSomeoneElse ? person(f.actorEmail, f.actorId) : user;
    return `${subject}: ${f.action}`;
  }
  const text = phrase(f);
  if (actingForSomeoneElse && f.userId) {
    // An operator acting on someone's behalf: "admin@… froze ana@…'s container".
    return `${person(f.actorEmail, f.actorId)} ${text.replace(/\btheir\b/, `${user}'s`)}`;
  }
  if (!f.userId && f.actorId) return `${person(f.actorEmail, f.actorId)} ${text}`;
  return `${user} ${text}`;
}
