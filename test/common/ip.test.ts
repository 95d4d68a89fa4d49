import { describe, expect, test } from "bun:test";
import { clientKey, formatCidr, inCidr, parseCidr, parseIp } from "../../common/ip.ts";
import { ipMatches } from "../../src/http/client_ip.ts";

describe("common/ip", () => {
  test("CIDRs past the family's width, double `::` and leading zeros are refused", () => {
    for (const bad of [
      "10.0.0.1/33",
      "0.0.0.0/99",
      "::/129",
      "1::2::3",
      "10.0.0.01",
      "10.0.0.1/08",
      "10.0.0.1/",
      "x",
    ]) {
      expect({ bad, parsed: parseCidr(bad) }).toEqual({ bad, parsed: null });
    }
    expect(formatCidr(parseCidr("10.9.8.7/8") ?? { family: 4, value: 0n, bits: 0 })).toBe("10.0.0.0/8");
    expect(formatCidr(parseCidr("2001:db8:1:2:3:4:5:6/64") ?? { family: 6, value: 0n, bits: 0 })).toBe(
      "2001:db8:1:2::/64",
    );
  });

  test("IPv6 ranges match, and an IPv4-mapped address is its IPv4 address", () => {
    expect(ipMatches("fd12:3456::1", "fc00::/7")).toBe(true);
    expect(ipMatches("2001:db8::1", "fc00::/7")).toBe(false);
    expect(ipMatches("::ffff:10.1.2.3", "10.0.0.0/8")).toBe(true);
    expect(ipMatches("10.1.2.3", "10.0.0.1/33")).toBe(false);
    expect(ipMatches("203.0.113.9", "10.0.0.1/33")).toBe(false);
    const ip = parseIp("::1");
    const cidr = parseCidr("::1");
    expect(Boolean(ip && cidr && inCidr(ip, cidr))).toBe(true);
  });

  test("clients are keyed by IPv4 address or IPv6 /64", () => {
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe(clientKey("2001:db8:1:2:bbbb::2"));
    expect(clientKey("2001:db8:1:3::1")).not.toBe(clientKey("2001:db8:1:2::1"));
    expect(clientKey("198.51.100.7")).toBe("198.51.100.7");
    expect(clientKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
  });
});
