// A network namespace that looks like "a server on the internet" to containers. Containers cannot
// reach the host's own addresses (the fleet agent firewalls them), so a fake provider for end-to-end
// tests runs inside a namespace of its own, joined to the host by a veth pair with a /30 from
// 198.18.0.0/15 (the benchmarking range, RFC 2544): host side .1, namespace side .2. A container's
// packets leave its bridge, are forwarded (and masqueraded) by the host into the veth, and reach the
// fake at the .2 address like any routed destination.
//
// Names carry the creating process id, so parallel test files never collide and a later run can
// remove what a crashed one left behind. Needs root (ip netns), like the rest of the suite.
import type { Subprocess } from "bun";
import { connectFakeProvider, type FakeProvider } from "../fakes/provider.ts";
import { connectFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";

const PREFIX = "cfnet";

export type Netns = {
  name: string;
  /** The host's end of the veth pair. */
  hostAddress: string;
  /** The namespace's address: where processes started with `spawn` can listen. */
  address: string;
  /** Starts a Bun script inside the namespace; it must print `READY <url>` on its first line. */
  spawnReady(script: string, args: string[]): Promise<{ url: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
};

function ip(args: string[], allowFailure = false): string {
  const proc = Bun.spawnSync(["ip", ...args], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0 && !allowFailure) {
    throw new Error(`ip ${args.join(" ")} failed: ${proc.stderr.toString().trim()}`);
  }
  return proc.stdout.toString();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Deletes namespaces (and their veth pairs) left by test processes that no longer run. */
function sweepStale(): void {
  for (const line of ip(["netns", "list"], true).split("\n")) {
    const match = new RegExp(`^(${PREFIX}-(\\d+)-([0-9a-f]+))`).exec(line.trim());
    if (!match || processAlive(Number(match[2]))) continue;
    ip(["netns", "delete", match[1] as string], true);
    ip(["link", "delete", `cfh${match[3]}`], true);
  }
}

/** A /30 in 198.18.0.0/15 that no local address or route uses yet. */
function pickSubnet(): { host: string; ns: string } {
  const used = ip(["-4", "-o", "addr", "show"]) + ip(["-4", "route", "show"]);
  for (let attempt = 0; attempt < 64; attempt++) {
    const block = (crypto.getRandomValues(new Uint32Array(1))[0] ?? 0) % (1 << 15);
    const base = (198 << 24) + (18 << 16) + block * 4;
    const octets = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    if (used.includes(`${octets(base)}/30`) || used.includes(`${octets(base + 1)}/`)) continue;
    return { host: octets(base + 1), ns: octets(base + 2) };
  }
  throw new Error("netns: no free /30 found in 198.18.0.0/15");
}

export async function createNetns(): Promise<Netns> {
  sweepStale();
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 6);
  const name = `${PREFIX}-${process.pid}-${tag}`;
  // Interface names are limited to 15 characters.
  const hostVeth = `cfh${tag}`;
  const nsVeth = `cfn${tag}`;
  const subnet = pickSubnet();
  const children = new Set<Subprocess>();

  ip(["netns", "add", name]);
  try {
    ip(["link", "add", hostVeth, "type", "veth", "peer", "name", nsVeth]);
    ip(["link", "set", nsVeth, "netns", name]);
    ip(["addr", "add", `${subnet.host}/30`, "dev", hostVeth]);
    ip(["link", "set", hostVeth, "up"]);
    ip(["-n", name, "addr", "add", `${subnet.ns}/30`, "dev", nsVeth]);
    ip(["-n", name, "link", "set", nsVeth, "up"]);
    ip(["-n", name, "link", "set", "lo", "up"]);
  } catch (error) {
    ip(["netns", "delete", name], true);
    ip(["link", "delete", hostVeth], true);
    throw error;
  }

  const stopChild = async (child: Subprocess) => {
    if (!children.delete(child)) return;
    child.kill("SIGTERM");
    const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
    if (!exited) child.kill("SIGKILL");
    await child.exited;
  };

  return {
    name,
    hostAddress: subnet.host,
    address: subnet.ns,
    async spawnReady(script, args) {
      const child = Bun.spawn(["ip", "netns", "exec", name, process.execPath, script, ...args], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "inherit",
      });
      children.add(child);
      const reader = child.stdout.getReader();
      let output = "";
      const deadline = Date.now() + 15_000;
      while (!output.includes("\n")) {
        const next = await Promise.race([
          reader.read(),
          Bun.sleep(Math.max(0, deadline - Date.now())).then(() => null),
        ]);
        if (!next || next.done) {
          await stopChild(child);
          throw new Error(`netns: ${script} did not report READY (${output.trim() || "no output"})`);
        }
        output += new TextDecoder().decode(next.value);
      }
      reader.releaseLock();
      const match = /^READY (\S+)/.exec(output);
      if (!match) {
        await stopChild(child);
        throw new Error(`netns: ${script} printed "${output.trim()}" instead of READY <url>`);
      }
      return { url: match[1] as string, stop: () => stopChild(child) };
    },
    async stop() {
      await Promise.all([...children].map(stopChild));
      // Deleting the namespace destroys its end of the veth pair, and with it the host's end.
      ip(["netns", "delete", name], true);
      ip(["link", "delete", hostVeth], true);
    },
  };
}

const FAKES_DIR = `${import.meta.dir}/../fakes`;

/** The fake provider, listening on the namespace's address like a public API server. */
/** `tls`: serve HTTPS with a certificate of test/helpers/test_ca.ts (issued for the namespace's address). */
export async function startFakeProviderInNetns(
  netns: Netns,
  port = 80,
  tls?: { certFile: string; keyFile: string; caPem: string },
): Promise<FakeProvider> {
  const child = await netns.spawnReady(`${FAKES_DIR}/provider.ts`, [
    "--host",
    netns.address,
    "--port",
    String(port),
    ...(tls ? ["--tls-cert", tls.certFile, "--tls-key", tls.keyFile] : []),
  ]);
  return connectFakeProvider(child.url, child.stop, tls?.caPem);
}

/** The fake Telegram Bot API inside the namespace. */
export async function startFakeTelegramInNetns(netns: Netns, port = 8081): Promise<FakeTelegram> {
  const child = await netns.spawnReady(`${FAKES_DIR}/telegram.ts`, [
    "--host",
    netns.address,
    "--port",
    String(port),
  ]);
  return connectFakeTelegram(child.url, child.stop);
}
