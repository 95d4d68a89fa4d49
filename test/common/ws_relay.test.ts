import { expect, test } from "bun:test";
import { parseResize } from "../../agent/terminal.ts";
import { closeReason, mirrorClose, sendableCloseCode } from "../../common/ws_relay.ts";

test("a close is mirrored: sendable codes as they are, none for none, abrupt for abrupt", () => {
  const calls: string[] = [];
  const socket = {
    close: (code?: number, reason?: string) => calls.push(`close ${code ?? "-"} ${reason ?? "-"}`),
    terminate: () => calls.push("terminate"),
  };
  mirrorClose(socket, 1000, "done");
  mirrorClose(socket, 4001, "app");
  mirrorClose(socket, 1005, "");
  mirrorClose(socket, 1006, "");
  mirrorClose(socket, 1015, "");
  expect(calls).toEqual([
    "close 1000 done",
    "close 4001 app",
    "close - -",
    "terminate",
    "close 1011 unexpected close",
  ]);
  expect([999, 1004, 1005, 1006, 1015, 2000, 5000].some(sendableCloseCode)).toBe(false);
  expect(Buffer.byteLength(closeReason("é".repeat(100)))).toBeLessThanOrEqual(123);
});

test("only a well-formed resize message is a control message; anything else is keystrokes", () => {
  expect(parseResize('{"type":"resize","cols":120,"rows":40}')).toEqual({ cols: 120, rows: 40 });
  expect(parseResize('{"type":"resize","cols":99999,"rows":2}')).toEqual({ cols: 1000, rows: 2 });
  for (const input of [
    '{"type":"resize","cols":0,"rows":40}',
    '{"type":"resize"}',
    '{"a":1}',
    "{oops",
    "ls\n",
  ])
    expect(parseResize(input)).toBeNull();
});
