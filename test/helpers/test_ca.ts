// A throwaway certificate authority for tests that need real TLS to a local fake (the provider
// gateway's upstream): a CA, and a server certificate it signs for 127.0.0.1 / localhost. The CA's
// PEM file is what the agent is told to trust (CLAWFLEET_PROVIDER_CA); nothing else trusts it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./process.ts";

export type TestCa = { caFile: string; caPem: string; cert: string; key: string; dir: string };

function openssl(args: string[], cwd: string) {
  const proc = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`openssl ${args[0]}: ${proc.stderr.toString()}`);
}

/** `ips`: more addresses the server certificate is valid for (a fake inside a network namespace). */
export function createTestCa(ips: string[] = []): TestCa {
  const dir = tempDir("cf-test-ca");
  openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key"]
      .concat(["-out", "ca.pem", "-days", "2", "-subj", "/CN=clawfleet test CA"])
      .concat(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]),
    dir,
  );
  openssl(
    ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key"].concat(
      ["-out", "server.csr", "-subj", "/CN=127.0.0.1"],
    ),
    dir,
  );
  writeFileSync(
    join(dir, "ext.cnf"),
    `subjectAltName=${["127.0.0.1", ...ips].map((ip) => `IP:${ip}`).join(",")},DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"].concat([
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ]),
    dir,
  );
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return {
    caFile: join(dir, "ca.pem"),
    caPem: read("ca.pem"),
    cert: read("server.pem"),
    key: read("server.key"),
    dir,
  };
}
