import { describe, expect, test } from "bun:test";
import { OpenSockets } from "../../src/proxy/open_sockets.ts";

const U1 = "11111111-1111-4111-8111-111111111111";
const U2 = "22222222-2222-4222-8222-222222222222";
const A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const C = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";

describe("OpenSockets", () => {
  test("one ended sign-in closes only its sockets", () => {
    const sockets = new OpenSockets();
    const closed: string[] = [];
    sockets.register({ userId: U1, signInId: A }, 0, () => closed.push("a1"));
    sockets.register({ userId: U1, signInId: A }, 0, () => closed.push("a2"));
    sockets.register({ userId: U1, signInId: B }, 0, () => closed.push("b"));
    sockets.register({ userId: U2, signInId: C }, 0, () => closed.push("c"));
    expect(sockets.ended({ userId: U1, signInId: A, except: null })).toBe(2);
    expect(closed.sort()).toEqual(["a1", "a2"]);
  });

  test("all of a user's sign-ins but one (password change), then all (account deleted)", () => {
    const sockets = new OpenSockets();
    const closed: string[] = [];
    sockets.register({ userId: U1, signInId: A }, 0, () => closed.push("a"));
    sockets.register({ userId: U1, signInId: B }, 0, () => closed.push("b"));
    sockets.register({ userId: U2, signInId: C }, 0, () => closed.push("c"));
    sockets.ended({ userId: U1, signInId: null, except: B });
    expect(closed).toEqual(["a"]);
    sockets.ended({ userId: U1, signInId: null, except: null });
    expect(closed).toEqual(["a", "b"]);
  });

  test("a socket unregistered on close is not closed again, and the maps empty", () => {
    const sockets = new OpenSockets();
    let closes = 0;
    const remove = sockets.register({ userId: U1, signInId: A }, 0, () => closes++);
    remove();
    expect(sockets.size).toBe(0);
    sockets.ended({ userId: U1, signInId: A, except: null });
    expect(closes).toBe(0);
  });

  test("a revocation that overtook a socket still opening closes it on registration", () => {
    const sockets = new OpenSockets();
    const checkedAt = Date.now();
    sockets.ended({ userId: U1, signInId: A, except: null }, checkedAt + 5);
    let closed = 0;
    sockets.register({ userId: U1, signInId: A }, checkedAt, () => closed++);
    expect(closed).toBe(1);
    expect(sockets.size).toBe(0);
    // A token checked after the revocation was checked against the revoked row: not this path's job.
    sockets.register({ userId: U1, signInId: B }, checkedAt, () => closed++);
    expect(closed).toBe(1);
  });
});
