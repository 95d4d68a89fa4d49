import { describe, expect, test } from "bun:test";
import { CronError, nextCronTime, parseCron } from "../../../runtime/schedules/cron.ts";

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, from: string) => {
  const t = nextCronTime(parseCron(expr), at(from));
  return t === null ? null : new Date(t).toISOString();
};

describe("cron", () => {
  test("next times in UTC", () => {
    expect(next("0 7 * * *", "2026-12-01T06:59:30Z")).toBe("2026-12-01T07:00:00.000Z");
    expect(next("0 7 * * *", "2026-12-01T07:00:00Z")).toBe("2026-12-02T07:00:00.000Z");
    expect(next("*/15 * * * *", "2026-12-01T10:16:00Z")).toBe("2026-12-01T10:30:00.000Z");
    expect(next("30 8-18/5 * * *", "2026-12-01T14:00:00Z")).toBe("2026-12-01T18:30:00.000Z");
    // Monday to Friday: 2026-12-05 is a Saturday.
    expect(next("0 9 * * 1-5", "2026-12-04T10:00:00Z")).toBe("2026-12-07T09:00:00.000Z");
    expect(next("0 0 * * 7", "2026-12-01T00:00:00Z")).toBe("2026-12-06T00:00:00.000Z");
    // Both day fields restricted: either matches (the 1st, or a Friday).
    expect(next("0 0 1 * 5", "2026-12-01T12:00:00Z")).toBe("2026-12-04T00:00:00.000Z");
    expect(next("0 0 29 2 *", "2026-03-01T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z");
    expect(next("0 0 31 2 *", "2026-03-01T00:00:00Z")).toBeNull();
  });

  test("bad expressions are refused with the field named", () => {
    for (const [expr, field] of [
      ["61 * * * *", "minute"],
      ["* 24 * * *", "hour"],
      ["* * 0 * *", "day of month"],
      ["* * * 13 *", "month"],
      ["* * * * 8", "day of week"],
      ["*/0 * * * *", "minute"],
      ["5-1 * * * *", "minute"],
      ["a * * * *", "minute"],
    ] as const) {
      expect(() => parseCron(expr)).toThrow(CronError);
      expect(() => parseCron(expr)).toThrow(field);
    }
    expect(() => parseCron("* * * *")).toThrow("five fields");
  });
});
