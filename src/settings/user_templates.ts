// Which templates users may pick at spawn. CLAWFLEET_USER_TEMPLATES gives the starting list; an
// administrator replaces it at run time (API and console), and that choice is kept in server_settings
// so every replica reads the same list.
import { eq } from "drizzle-orm";
import { audit } from "../audit.ts";
import { TEMPLATE_NAME } from "../config.ts";
import type { AppContext } from "../context.ts";
import { asSystem } from "../db/rls.ts";
import { serverSettings } from "../db/schema.ts";
import { ApiError } from "../http/errors.ts";

const KEY = "user_templates";
/** The presets this server knows to describe; admins may enable any template name their nodes carry. */
export const KNOWN_TEMPLATES = ["clawfleet-runtime", "openclaw"];

export async function enabledTemplates(ctx: AppContext): Promise<string[]> {
  const [row] = await asSystem(ctx.database.db, (tx) =>
    tx.select().from(serverSettings).where(eq(serverSettings.key, KEY)),
  );
  const value = row?.value;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  return ctx.config.userTemplates;
}

export async function setEnabledTemplates(
  ctx: AppContext,
  actor: { userId: string; ip: string | null },
  body: unknown,
): Promise<string[]> {
  const templates = (body as { templates?: unknown } | null)?.templates;
  if (!Array.isArray(templates) || templates.length === 0 || templates.length > 50) {
    throw new ApiError(400, "invalid_request", "templates must be a list of 1 to 50 template names.");
  }
  const bad = templates.find((t) => typeof t !== "string" || !TEMPLATE_NAME.test(t));
  if (bad !== undefined) {
    throw new ApiError(400, "invalid_template", "Template names are lowercase letters, digits and dashes.");
  }
  const names = [...new Set(templates as string[])];
  await asSystem(ctx.database.db, (tx) =>
    tx
      .insert(serverSettings)
      .values({ key: KEY, value: names })
      .onConflictDoUpdate({ target: serverSettings.key, set: { value: names, updatedAt: new Date() } }),
  );
  await audit(ctx.database.db, {
    action: "admin.templates_changed",
    actorId: actor.userId,
    detail: { templates: names },
    ip: actor.ip,
  });
  return names;
}
