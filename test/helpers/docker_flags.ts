/**
 * `docker run` flags matching the agent's isolation for the runtime image (agent/isolation.ts), for
 * tests and benchmarks that run the image without the agent as a baseline.
 */
export const ISOLATION_FLAGS = [
  "--read-only",
  "--tmpfs",
  "/tmp",
  "--cap-drop",
  "ALL",
  "--security-opt",
  "no-new-privileges",
  "--user",
  "1000:1000",
  "--memory",
  "256m",
  "--pids-limit",
  "128",
];
