// `npm start`: the console on the embedded default (PGlite in ./data). When this machine has a Docker
// engine, the default runtime image is built first (offline, seconds when up to date), so the
// all-in-one agent can spawn containers right away; without Docker the console starts anyway.
import { existsSync } from "node:fs";
import { buildRuntimeImage } from "./image_runtime.ts";

const socket = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";
if (existsSync(socket)) {
  try {
    const image = await buildRuntimeImage();
    console.error(`start: runtime image ${image.tag} ${image.built ? "built" : "up to date"}`);
  } catch (error) {
    console.error(
      `start: could not build the runtime image (${(error as Error).message}); spawning will fail until it exists`,
    );
  }
}
const server = Bun.spawn([process.execPath, "src/main.ts", "serve", ...process.argv.slice(2)], {
  cwd: `${import.meta.dir}/..`,
  stdio: ["inherit", "inherit", "inherit"],
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.kill(signal));
process.exit(await server.exited);
