import { expect, test } from "bun:test";
import { isDatabaseDriverGlitch, isDatabaseUnavailable } from "../../src/db/availability.ts";

test("connection failures are recognised through the cause chain; bugs and bad input are not", () => {
  expect(
    isDatabaseUnavailable(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })),
  ).toBe(true);
  expect(
    isDatabaseUnavailable(
      new Error("Failed query", { cause: Object.assign(new Error("x"), { code: "57P01" }) }),
    ),
  ).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error("syntax"), { code: "42601" }))).toBe(false);
  expect(isDatabaseUnavailable(new TypeError("undefined is not a function"))).toBe(false);
});

test("postgres.js's deferred write after a dropped socket is survivable; other TypeErrors are not", () => {
  const glitch = new TypeError("null is not an object (evaluating 'socket.write')");
  glitch.stack = `${glitch.message}\n    at nextWrite (/app/node_modules/postgres/src/connection.js:255:15)`;
  expect(isDatabaseDriverGlitch(glitch)).toBe(true);
  const bug = new TypeError("null is not an object (evaluating 'user.id')");
  bug.stack = `${bug.message}\n    at handler (/app/src/http/session.ts:10:3)`;
  expect(isDatabaseDriverGlitch(bug)).toBe(false);
});
