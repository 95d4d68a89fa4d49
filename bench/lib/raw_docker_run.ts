// The spawn baseline of the benches: a raw `docker run` of the runtime image with the same isolation
// flags, its port published on 127.0.0.1, then the agent's own readiness wait (agent/readiness.ts), so
// the baseline waits exactly as the agent does. The container is removed afterwards.
import { waitHealthy } from "../../agent/readiness.ts";
import { ISOLATION_FLAGS } from "../../test/helpers/docker_flags.ts";

export type RawPhase = "run" | "port" | "wait";

/** Milliseconds from `docker run` to a healthy /healthz; `onPhase` gets each phase's duration. */
export async function rawDockerRun(
  image: string,
  onPhase: (phase: RawPhase, ms: number) => void = () => {},
): Promise<number> {
  const name = `bench-raw-${crypto.randomUUID().slice(0, 8)}`;
  const start = performance.now();
  let at = start;
  const lap = (phase: RawPhase) => {
    const now = performance.now();
    onPhase(phase, now - at);
    at = now;
  };
  try {
    const run = Bun.spawnSync([
      "docker",
      "run",
      "-d",
      "--name",
      name,
      ...ISOLATION_FLAGS,
      "-p",
      "127.0.0.1::8080",
      image,
    ]);
    if (run.exitCode !== 0) throw new Error(run.stderr.toString());
    lap("run");
    const port = Number(
      Bun.spawnSync(["docker", "port", name, "8080/tcp"]).stdout.toString().trim().split(":").pop(),
    );
    lap("port");
    if (!(await waitHealthy({ port, path: "/healthz", timeoutMs: 30_000 })))
      throw new Error("the raw container never answered /healthz");
    lap("wait");
    return performance.now() - start;
  } finally {
    Bun.spawnSync(["docker", "rm", "-f", "-v", name]);
  }
}
