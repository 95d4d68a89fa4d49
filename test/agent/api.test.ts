import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentClient, AgentRequestError, PinMismatchError } from "../../agent/api/client.ts";
import { signRequest } from "../../agent/api/contract.ts";
import { AGENT_API_VERSION, VERSION_HEADER } from "../../agent/api/route_table.ts";
import { loadAgentConfig } from "../../agent/config.ts";
import { type RunningAgent, startAgent } from "../../agent/server.ts";
import { ensureCertificate } from "../../agent/tls.ts";
import { parseKeyring } from "../../common/keyring.ts";
import { createLogger } from "../../common/log.ts";
import {
  agentEnv,
  cleanupNode,
  dockerInspect,
  dockerLeftovers,
  ensureRuntimeImage,
  TEST_CLUSTER_SECRET,
  volumeKey,
} from "../helpers/fleet.ts";
import { freePort, tempDir } from "../helpers/process.ts";
import { waitFor } from "../helpers/wait.ts";

const keys = parseKeyring("K", TEST_CLUSTER_SECRET, "secret");
const limits = { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 };
/** One key for every session of this file: a respawn of the same session must bring the same key. */
const VOLUME = volumeKey();
const insecure = { tls: { rejectUnauthorized: false } } as RequestInit;

describe("agent API", () => {
  let agent: RunningAgent;
  let client: AgentClient;
  const env = agentEnv();
  const logs: string[] = [];
  const start = () =>
    startAgent(
      loadAgentConfig(env, []),
      createLogger("debug", {}, (l) => logs.push(l)),
    );

  beforeAll(async () => {
    await ensureRuntimeImage();
    agent = await start();
    client = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
  });
  afterAll(async () => {
    await agent?.stop();
    await cleanupNode(env.CLAWFLEET_NODE_ID ?? "");
    rmSync(env.CLAWFLEET_AGENT_DATA_DIR ?? "", { recursive: true, force: true });
  });

  const raw = async (headers: Record<string, string>, path = "/v1/health", method = "GET", body?: string) =>
    (
      await fetch(`${agent.url}${path}`, {
        ...insecure,
        method,
        headers: { [VERSION_HEADER]: AGENT_API_VERSION, ...headers },
        body,
      })
    ).status;

  test("a connection that never sends a whole request head is closed after 10 s", async () => {
    const started = Date.now();
    let closedAt = 0;
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: agent.port,
      tls: { rejectUnauthorized: false },
      socket: {
        data() {},
        close() {
          closedAt = Date.now();
        },
      },
    });
    socket.write("GET /v1/health HTTP/1.1\r\nhost: agent\r\n");
    await waitFor(
      "the agent to close it",
      async () => closedAt,
      (t) => t > 0,
      20_000,
      100,
    );
    expect(closedAt - started).toBeGreaterThanOrEqual(9_000);
    // A request that finishes its head in time is served on a connection of its own.
    expect((await client.health()).nodeId).toBe(agent.nodeId);
  });

  test("a correctly signed request is served", async () => {
    expect(
      await raw(await signRequest(keys[0] ?? { id: "", secret: new Uint8Array() }, "GET", "/v1/health")),
    ).toBe(200);
  });

  test("unsigned, wrongly signed, unknown key, stale, future, replayed and body-swapped requests are 401", async () => {
    const key = keys[0] ?? { id: "", secret: new Uint8Array() };
    expect(await raw({})).toBe(401);
    const wrongSecret = await signRequest(
      { id: key.id, secret: new TextEncoder().encode("a-completely-different-secret-value!!") },
      "GET",
      "/v1/health",
    );
    expect(await raw(wrongSecret)).toBe(401);
    const unknownKey = await signRequest({ id: "nobody", secret: key.secret }, "GET", "/v1/health");
    expect(await raw(unknownKey)).toBe(401);
    expect(await raw(await signRequest(key, "GET", "/v1/health", "", Date.now() - 120_000))).toBe(401);
    expect(await raw(await signRequest(key, "GET", "/v1/health", "", Date.now() + 120_000))).toBe(401);
    const once = await signRequest(key, "GET", "/v1/health");
    expect(await raw(once)).toBe(200);
    expect(await raw(once)).toBe(401);
    const otherPath = await signRequest(key, "GET", "/v1/containers");
    expect(await raw(otherPath, "/v1/health")).toBe(401);
    const signedBody = await signRequest(key, "POST", "/v1/containers", '{"a":1}');
    expect(
      await raw({ ...signedBody, "content-type": "application/json" }, "/v1/containers", "POST", '{"a":2}'),
    ).toBe(401);
    const joined = logs.join("\n");
    expect(joined).toContain("refused an unsigned or badly signed request");
    expect(joined).not.toContain(TEST_CLUSTER_SECRET.split(":")[1] ?? "never");
  });

  test("the API version travels on every request: another version, or none, is a clear 400", async () => {
    const key = keys[0] ?? { id: "", secret: new Uint8Array() };
    for (const version of ["0", "2", undefined]) {
      const headers: Record<string, string> = { ...(await signRequest(key, "GET", "/v1/health")) };
      if (version !== undefined) headers[VERSION_HEADER] = version;
      const response = await fetch(`${agent.url}/v1/health`, { ...insecure, headers });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("version_mismatch");
      expect(body.error.message).toContain(`version ${AGENT_API_VERSION}`);
    }
    // And the client checks the agent's answer: a server that speaks no version is refused.
    const impostor = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: await ensureCertificate(agent.dataDir),
      fetch: () => Response.json({ nodeId: "x" }),
    });
    try {
      const client = new AgentClient({
        url: `https://127.0.0.1:${impostor.port}`,
        fingerprint: agent.fingerprint,
        keys,
      });
      const error = (await client.health().catch((e: unknown) => e)) as AgentRequestError;
      expect(error.code).toBe("version_mismatch");
    } finally {
      impostor.stop(true);
    }
  });

  test("the client refuses an agent whose certificate does not match the pin", async () => {
    const wrong = new AgentClient({ url: agent.url, fingerprint: "00".repeat(32), keys });
    await expect(wrong.health()).rejects.toBeInstanceOf(PinMismatchError);
  });

  test("only the high-level spec is accepted: raw Docker options and bad limits are 400", async () => {
    const sessionId = crypto.randomUUID();
    for (const body of [
      { sessionId, template: "clawfleet-runtime", limits, HostConfig: { Privileged: true } },
      { sessionId, template: "clawfleet-runtime", limits: { ...limits, memoryMb: 1 } },
      { sessionId, template: "clawfleet-runtime", limits: { ...limits, Binds: ["/:/host"] } },
      { sessionId: "../../etc", template: "clawfleet-runtime", limits },
      { sessionId, template: "clawfleet-runtime", limits, secrets: { evil: "x" } },
    ]) {
      const error = await client.call("spawn", undefined, body as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentRequestError);
      expect((error as AgentRequestError).status).toBe(400);
    }
    const unknown = await client
      .spawn({ sessionId, template: "not-a-template", limits, volume: VOLUME })
      .catch((e) => e);
    expect((unknown as AgentRequestError).status).toBe(400);
    expect(dockerLeftovers(sessionId)).toEqual({ containers: [], volumes: [], networks: [] });
  });

  test("only images of configured templates can run (an admin template naming a missing image is refused)", async () => {
    const templatesDir = tempDir("cf-tpl");
    const templatesFile = join(templatesDir, "templates.json");
    await Bun.write(
      templatesFile,
      JSON.stringify([
        { name: "custom", image: "not-present-here:1", port: 80, dataPath: "/data", user: "1000:1000" },
      ]),
    );
    const other = await startAgent(
      loadAgentConfig(agentEnv({ CLAWFLEET_AGENT_TEMPLATES: templatesFile }), []),
      createLogger("error"),
    );
    try {
      const otherClient = new AgentClient({ url: other.url, fingerprint: other.fingerprint, keys });
      const error = await otherClient
        .spawn({ sessionId: crypto.randomUUID(), template: "custom", limits, volume: VOLUME })
        .catch((e) => e);
      expect((error as AgentRequestError).status).toBe(409);
      expect((error as AgentRequestError).code).toBe("image_missing");
    } finally {
      await other.stop();
      await cleanupNode(other.nodeId);
      rmSync(other.dataDir, { recursive: true, force: true });
      rmSync(templatesDir, { recursive: true, force: true });
    }
  });

  test("spawn is idempotent; the key variables hold a per-container credential, rotated by a respawn", async () => {
    const sessionId = crypto.randomUUID();
    const spec = { sessionId, template: "clawfleet-runtime", limits, volume: VOLUME };
    const [first, second] = await Promise.all([client.spawn(spec), client.spawn(spec)]);
    expect(first.dockerId).toBe(second.dockerId);
    expect(first.status).toBe("ready");
    // The answer says how long each step took on the node, in order (the console shows them).
    expect(first.spawnSteps?.map((s) => s.status)).toEqual(["creating", "starting", "waiting"]);
    for (const step of first.spawnSteps ?? []) expect(Number.isInteger(step.ms) && step.ms >= 0).toBe(true);
    const env = (id: string, name: string) =>
      Bun.spawnSync(["docker", "exec", id, "sh", "-c", `echo "$${name}"`])
        .stdout.toString()
        .trim();
    const credential = env(first.dockerId, "ANTHROPIC_API_KEY");
    expect(credential).toMatch(/^cfgw_[0-9a-f]{64}$/);
    expect(env(first.dockerId, "OPENAI_API_KEY")).toBe(credential);
    expect(env(first.dockerId, "ANTHROPIC_BASE_URL")).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:\d+\/anthropic$/);
    expect(JSON.stringify(dockerInspect(first.dockerId)?.Config.Labels)).not.toContain(credential);
    expect(logs.join("\n")).not.toContain(credential);
    // A new container for the session (respawn after a kill) gets a new credential.
    await client.remove(sessionId);
    const again = await client.spawn(spec);
    expect(env(again.dockerId, "ANTHROPIC_API_KEY")).toMatch(/^cfgw_/);
    expect(env(again.dockerId, "ANTHROPIC_API_KEY")).not.toBe(credential);
    await client.remove(sessionId);
  });

  test("freeze pauses and restore resumes the same container; a spawn thaws a frozen one; stats", async () => {
    const sessionId = crypto.randomUUID();
    const spawned = await client.spawn({
      sessionId,
      template: "clawfleet-runtime",
      limits,
      volume: VOLUME,
    });
    const stats = await client.stats(sessionId);
    expect(stats.memoryLimitBytes).toBe(limits.memoryMb * 1024 * 1024);
    expect(stats.pids).toBeGreaterThan(0);
    expect(stats.memoryBytes).toBeGreaterThan(0);
    await client.freeze(sessionId);
    expect(dockerInspect(spawned.dockerId)?.State.Paused).toBe(true);
    expect(await client.get(sessionId)).toMatchObject({ status: "paused", paused: true });
    await client.freeze(sessionId); // idempotent
    await client.restore(sessionId, { volume: VOLUME });
    expect(dockerInspect(spawned.dockerId)?.State.Paused).toBe(false);
    expect(await client.get(sessionId)).toMatchObject({
      status: "ready",
      paused: false,
      dockerId: spawned.dockerId,
    });
    await client.freeze(sessionId);
    const again = await client.spawn({
      sessionId,
      template: "clawfleet-runtime",
      limits,
      volume: VOLUME,
    });
    expect(again).toMatchObject({ dockerId: spawned.dockerId, status: "ready", paused: false });
    // Thawing what already ran has no steps to time.
    expect(again.spawnSteps).toBeUndefined();
    const missing = await client.freeze(crypto.randomUUID()).catch((e) => e);
    expect((missing as AgentRequestError).status).toBe(404);
    await client.remove(sessionId);
  });

  test("kill leaves no container, volume or network behind", async () => {
    const sessionId = crypto.randomUUID();
    await client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume: VOLUME });
    expect(dockerLeftovers(sessionId).containers).toHaveLength(1);
    // Its own network or a warm-pool one (no session label of its own): named by the container's label.
    const network = dockerInspect(`clawfleet-${sessionId}`)?.Config.Labels["clawfleet.network"];
    expect(dockerInspect(network)).not.toBeNull();
    await client.remove(sessionId);
    expect(dockerLeftovers(sessionId)).toEqual({ containers: [], volumes: [], networks: [] });
    expect(dockerInspect(network)).toBeNull();
    await client.remove(sessionId);
    expect(await client.get(sessionId)).toBeNull();
  });

  test("containers keep running while the agent is down, and a restarted agent finds them", async () => {
    const sessionId = crypto.randomUUID();
    const spawned = await client.spawn({
      sessionId,
      template: "clawfleet-runtime",
      limits,
      volume: VOLUME,
    });
    await agent.stop();
    expect(dockerInspect(spawned.dockerId)?.State.Running).toBe(true);
    agent = await start();
    client = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
    expect(agent.fingerprint).toBe(spawned ? agent.fingerprint : "");
    const found = await client.list();
    expect(found.map((c) => c.sessionId)).toContain(sessionId);
    const ws = await client.connect(sessionId, "gateway");
    const hello = await new Promise<string>((resolve, reject) => {
      ws.onmessage = (e) => resolve(String(e.data));
      ws.onerror = reject;
    });
    expect(JSON.parse(hello).type).toBe("hello");
    ws.close();
    await client.remove(sessionId);
  });

  test("a terminal session runs a command and returns its output", async () => {
    const sessionId = crypto.randomUUID();
    await client.spawn({ sessionId, template: "clawfleet-runtime", limits, volume: VOLUME });
    const ws = await client.connect(sessionId, "terminal");
    ws.binaryType = "arraybuffer";
    let out = "";
    ws.onmessage = (e) => {
      out += typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
    };
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    // Like a person: wait for the shell's prompt, resize, then type.
    const promptBy = Date.now() + 10_000;
    while (!out.includes("$ ") && Date.now() < promptBy) await Bun.sleep(50);
    ws.send(JSON.stringify({ type: "resize", cols: 120, rows: 40 }));
    await Bun.sleep(300);
    ws.send("stty size; echo RESULT-$((6*7))\n");
    const deadline = Date.now() + 10_000;
    while (!out.includes("RESULT-42") && Date.now() < deadline) await Bun.sleep(50);
    expect(out).toContain("RESULT-42");
    expect(out).toContain("40 120");
    ws.close();
    await client.remove(sessionId);
  });

  test("terminal output waits for a slow reader and arrives whole; closing ends the shell", async () => {
    const sessionId = crypto.randomUUID();
    const spawned = await client.spawn({
      sessionId,
      template: "clawfleet-runtime",
      limits,
      volume: VOLUME,
    });
    const ws = (await client.connect(sessionId, "terminal")) as WebSocket & { pause(): void; resume(): void };
    ws.binaryType = "arraybuffer";
    let zs = 0;
    let tail = "";
    ws.onmessage = (e) => {
      const text = new TextDecoder().decode(e.data as ArrayBuffer);
      for (const ch of text) if (ch === "Z") zs++;
      tail = (tail + text).slice(-200);
    };
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const promptBy = Date.now() + 10_000;
    while (!tail.includes("$ ") && Date.now() < promptBy) await Bun.sleep(50);
    const total = 24 * 1024 * 1024;
    ws.pause();
    // 24 MiB of "Z" (octal 132, so the typed command holds none): more than Bun would buffer for a
    // socket that is not read, so without back-pressure some of it would be lost.
    ws.send(`head -c ${total} /dev/zero | tr '\\0' '\\132'; echo; echo END-$((2*3))\n`);
    await Bun.sleep(1500);
    ws.resume();
    const deadline = Date.now() + 30_000;
    while (!tail.includes("END-6") && Date.now() < deadline) await Bun.sleep(50);
    expect(tail).toContain("END-6");
    expect(zs).toBe(total);
    const shells = () =>
      Bun.spawnSync(["docker", "top", spawned.dockerId, "-o", "pid,args"])
        .stdout.toString()
        .split("\n")
        .filter((l) => /\/bin\/sh$/.test(l.trim())).length;
    expect(shells()).toBe(1);
    ws.close();
    const gone = Date.now() + 5000;
    while (shells() > 0 && Date.now() < gone) await Bun.sleep(50);
    expect(shells()).toBe(0);
    await client.remove(sessionId);
  });
});

describe("the compiled agent binary, copied alone into an empty folder", () => {
  const buildDir = tempDir("cf-agent-build");
  const runDir = tempDir("cf-agent-run");
  beforeAll(() => {
    const build = Bun.spawnSync(
      [
        process.execPath,
        "build",
        "--compile",
        "agent/main.ts",
        "--outfile",
        join(buildDir, "clawfleet-agent"),
      ],
      {
        cwd: join(import.meta.dir, "../.."),
      },
    );
    expect(build.exitCode).toBe(0);
    copyFileSync(join(buildDir, "clawfleet-agent"), join(runDir, "clawfleet-agent"));
  });
  afterAll(() => {
    rmSync(buildDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  test("`cert` generates a certificate without any tool beside it and prints the fingerprint to pin", () => {
    // No PATH at all: the certificate is made with WebCrypto, not an openssl found on the node.
    const proc = Bun.spawnSync([join(runDir, "clawfleet-agent"), "cert"], { cwd: runDir, env: {} });
    expect(proc.exitCode).toBe(0);
    const printed = proc.stdout.toString().trim();
    expect(printed).toMatch(/^sha256:([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
    const again = Bun.spawnSync([join(runDir, "clawfleet-agent"), "cert"], { cwd: runDir, env: {} });
    expect(again.stdout.toString().trim()).toBe(printed);
    // An independent X.509 implementation agrees: it parses, verifies its own signature, same digest.
    const cert = join(runDir, "agent-data/agent-cert.pem");
    const key = join(runDir, "agent-data/agent-key.pem");
    expect(Bun.spawnSync(["openssl", "verify", "-CAfile", cert, cert]).exitCode).toBe(0);
    const openssl = Bun.spawnSync(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"]);
    expect(openssl.stdout.toString().trim().split("=")[1]?.toLowerCase()).toBe(
      printed.slice("sha256:".length),
    );
    const text = Bun.spawnSync(["openssl", "x509", "-in", cert, "-noout", "-text"]).stdout.toString();
    expect(text).toContain("ecdsa-with-SHA256");
    expect(text).toContain("IP Address:127.0.0.1");
    const pub = (args: string[]) => Bun.spawnSync(["openssl", ...args]).stdout.toString();
    expect(pub(["pkey", "-in", key, "-pubout"])).toBe(pub(["x509", "-in", cert, "-noout", "-pubkey"]));
    expect(statSync(key).mode & 0o777).toBe(0o600);
  });

  test("`run` serves the signed API with the certificate `cert` printed, and stops on SIGTERM", async () => {
    const fingerprint = Bun.spawnSync([join(runDir, "clawfleet-agent"), "cert"], { cwd: runDir, env: {} })
      .stdout.toString()
      .trim();
    const port = await freePort();
    const nodeId = `bin-${crypto.randomUUID().slice(0, 8)}`;
    const proc = Bun.spawn([join(runDir, "clawfleet-agent"), "run", "--listen", `127.0.0.1:${port}`], {
      cwd: runDir,
      env: {
        PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
        CLAWFLEET_CLUSTER_SECRETS: TEST_CLUSTER_SECRET,
        CLAWFLEET_NODE_ID: nodeId,
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const binClient = new AgentClient({ url: `https://127.0.0.1:${port}`, fingerprint, keys });
      const health = await waitFor(
        "the binary to listen",
        () => binClient.health().catch(() => null),
        (h) => h !== null,
        20_000,
      );
      expect(health?.nodeId).toBe(nodeId);
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    } finally {
      proc.kill("SIGKILL");
      await cleanupNode(nodeId);
    }
  });

  test("a bad setting stops `run` with one line naming the variable", () => {
    const secret = `k:${"s".repeat(40)}`;
    const templates = join(runDir, "templates.json");
    writeFileSync(
      templates,
      JSON.stringify([{ name: "x", image: "x:1", port: 1, dataPath: "/d", user: "0:0" }]),
    );
    for (const [env, variable] of [
      // Neither this node's own secret nor a cluster secret: nothing could sign for it.
      [{}, "CLAWFLEET_NODE_SECRETS"],
      [{ CLAWFLEET_CLUSTER_SECRETS: "nocolon" }, "CLAWFLEET_CLUSTER_SECRETS"],
      [{ CLAWFLEET_NODE_SECRETS: "nocolon" }, "CLAWFLEET_NODE_SECRETS"],
      [
        { CLAWFLEET_CLUSTER_SECRETS: secret, CLAWFLEET_EGRESS_ALLOW: "169.254.169.254" },
        "CLAWFLEET_EGRESS_ALLOW",
      ],
      [{ CLAWFLEET_CLUSTER_SECRETS: secret, CLAWFLEET_AGENT_LISTEN: "everywhere" }, "CLAWFLEET_AGENT_LISTEN"],
      [
        { CLAWFLEET_CLUSTER_SECRETS: secret, CLAWFLEET_AGENT_BLOCKED: "10.0.0.0/99" },
        "CLAWFLEET_AGENT_BLOCKED",
      ],
      [
        { CLAWFLEET_CLUSTER_SECRETS: secret, CLAWFLEET_AGENT_TEMPLATES: templates },
        "CLAWFLEET_AGENT_TEMPLATES",
      ],
      [{ CLAWFLEET_CLUSTER_SECRETS: secret, CLAWFLEET_AGENT_FIREWALL: "maybe" }, "CLAWFLEET_AGENT_FIREWALL"],
      [{ CLAWFLEET_CLUSTER_SECRETS: secret, DOCKER_SOCKET: join(runDir, "no.sock") }, "DOCKER_SOCKET"],
      [{ CLAWFLEET_CLUSTER_SECRETS: secret, CLAWFLEET_TLS_CERT: "/nonexistent" }, "CLAWFLEET_TLS_CERT"],
      // No iptables to be found on this PATH: the firewall cannot be installed, so the agent does not run.
      [{ CLAWFLEET_CLUSTER_SECRETS: secret, PATH: runDir }, "CLAWFLEET_AGENT_FIREWALL"],
    ] as const) {
      // Bounded: an agent that wrongly started would otherwise run forever.
      const proc = Bun.spawnSync([join(runDir, "clawfleet-agent"), "run"], {
        cwd: runDir,
        env,
        timeout: 15_000,
        stderr: "pipe",
      });
      const err = proc.stderr.toString().trim();
      expect(`${variable}: exit ${proc.exitCode}, ${err.split("\n").length} line(s)`).toBe(
        `${variable}: exit 78, 1 line(s)`,
      );
      expect(err).toStartWith(`clawfleet-agent: ${variable}:`);
    }
  });
});
