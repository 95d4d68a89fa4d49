// The agent's checks on relayed webhook and app requests: what it refuses before any container is
// contacted.
import { describe, expect, test } from "bun:test";
import { parseAppRelayRequest, parseHookRelayRequest } from "../../agent/api/contract.ts";

const good = {
  path: "/telegram?x=1",
  method: "POST",
  headers: { "content-type": "application/json" },
  bodyBase64: "e30=",
};

describe("relayed requests", () => {
  test("a well-formed webhook and app request pass", () => {
    expect(parseHookRelayRequest(good)).toEqual(good as never);
    // GET, bodyless, for a platform's verification handshake (WhatsApp's hub.challenge).
    const handshake = { ...good, method: "GET", bodyBase64: "" };
    expect(parseHookRelayRequest(handshake)).toEqual(handshake as never);
    expect(parseAppRelayRequest({ ...good, method: "GET" })).toMatchObject({
      method: "GET",
      path: "/telegram?x=1",
    });
  });

  test.each([
    [{ ...good, path: "telegram" }, /path/],
    [{ ...good, path: "/a/../../etc" }, /path/],
    [{ ...good, path: "/a b" }, /path/],
    [{ ...good, method: "PUT" }, /POST/],
    [{ ...good, method: "GET" }, /no body/],
    [{ ...good, bodyBase64: "not base64!" }, /base64/],
    [{ ...good, headers: { "bad header": "x" } }, /header/],
    [{ ...good, headers: { "x-long": "x".repeat(9000) } }, /header/],
    [{ ...good, headers: [] }, /headers/],
    [null, /object/],
  ])("a webhook is refused: %#", (input, message) => {
    expect(parseHookRelayRequest(input)).toMatch(message);
  });

  test("an app request with a method outside the list is refused", () => {
    expect(parseAppRelayRequest({ ...good, method: "CONNECT" })).toMatch(/method/);
    expect(parseAppRelayRequest({ ...good, method: "TRACE" })).toMatch(/method/);
  });
});
