import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { API_OPERATIONS, openApiDocument } from "../../src/http/openapi.ts";

test("every /api/v1 route in src/http is documented in the OpenAPI document", () => {
  const dir = join(import.meta.dir, "../../src/http");
  const documented = new Set(
    Object.entries(API_OPERATIONS).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
    ),
  );
  const found: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(join(dir, file), "utf8");
    if (!text.includes("ApiBase")) continue;
    for (const m of text.matchAll(/\.(get|post|delete|put|patch)\(\s*"(\/[^"]+)"/g)) {
      if (m[2]?.startsWith("/api/") || m[2] === "/healthz" || m[2] === "/readyz") continue;
      found.push(`${m[1]} ${m[2]}`);
    }
  }
  expect(found.length).toBeGreaterThan(10);
  for (const route of found) expect(documented.has(route) ? route : `undocumented: ${route}`).toBe(route);
});

test("the document is valid-looking OpenAPI 3.1 with error schemas", () => {
  const doc = openApiDocument("1.2.3");
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toContain("/api/v1/auth/login");
  const login = (doc.paths["/api/v1/auth/login"] as Record<string, any>).post;
  expect(login.responses["429"].content["application/json"].schema.$ref).toBe("#/components/schemas/Error");
});
