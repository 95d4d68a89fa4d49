import { Elysia } from "elysia";
import type { AppContext } from "../context.ts";
import { errorHandler } from "./errors.ts";
import { healthRoutes } from "./health.ts";

export function buildApp(ctx: AppContext) {
  return new Elysia().use(errorHandler(ctx.log)).use(healthRoutes(ctx));
}

export type App = ReturnType<typeof buildApp>;
