// The OpenAPI entries of issue 19's routes: settings, templates, upgrade (merged into API_OPERATIONS).
import type { Op } from "./openapi.ts";

export const TOOLS_OPERATIONS: Record<string, Record<string, Op>> = {
  "/settings": {
    get: {
      summary: "The assistant settings: {default_provider, default_model, system_prompt, shell_mode}",
      auth: true,
      responses: { 200: "Settings" },
    },
    put: {
      summary:
        "Change any of {default_provider, default_model, system_prompt, shell_mode}; null or empty clears provider and model",
      auth: true,
      body: {
        default_provider: "string",
        default_model: "string",
        system_prompt: "string",
        shell_mode: "string",
      },
      responses: { 200: "Settings", 400: "Invalid input (nothing changed)" },
    },
  },
  "/templates": {
    get: {
      summary: "The templates this user may pick at spawn",
      auth: true,
      responses: { 200: "{templates}" },
    },
  },
  "/admin/templates": {
    get: {
      summary: "Enabled templates and the known presets",
      auth: true,
      responses: { 200: "{templates, known}", 403: "Not an admin" },
    },
    put: {
      summary: "Enable templates for users {templates: [names]}",
      auth: true,
      responses: { 200: "{templates}", 400: "Invalid names", 403: "Not an admin" },
    },
  },
  "/session/upgrade": {
    get: {
      summary: "Whether the template now names a newer image than the container runs",
      auth: true,
      responses: { 200: "{available}" },
    },
    post: {
      summary: "Recreate the container on the newest image of its template, keeping its volume",
      auth: true,
      responses: { 202: "Session", 409: "No running or frozen container", 502: "The node could not do it" },
    },
  },
};
