import { expect, test } from "bun:test";
import { DockerClient, DockerError } from "../../agent/docker/client.ts";
import { ensureRuntimeImage } from "../helpers/fleet.ts";

const docker = new DockerClient(process.env.DOCKER_SOCKET ?? "/var/run/docker.sock");

test("engine errors become typed DockerErrors with the engine's message", async () => {
  const error = await docker.inspectContainer("clawfleet-no-such-container").catch((e) => e);
  expect(error).toBeInstanceOf(DockerError);
  expect((error as DockerError).notFound).toBe(true);
  expect((error as DockerError).message).toContain("container inspect");
  const unreachable = await new DockerClient("/nonexistent.sock").version().catch((e) => e);
  expect((unreachable as DockerError).status).toBe(503);
});

test("events stream the lifecycle of a labelled container; wait reports its exit", async () => {
  await ensureRuntimeImage();
  const label = `clawfleet.test=${crypto.randomUUID()}`;
  const seen: string[] = [];
  const stop = docker.events({ type: ["container"], label: [label] }, (event) => seen.push(event.Action));
  await Bun.sleep(200);
  const created = await docker.createContainer(`cf-events-${crypto.randomUUID().slice(0, 8)}`, {
    Image: "clawfleet-runtime:0.1.0",
    Cmd: ["/bin/sh", "-c", "exit 3"],
    Entrypoint: [],
    User: "1000:1000",
    Labels: { [label.split("=")[0] ?? ""]: label.split("=")[1] ?? "" },
    HostConfig: { CapDrop: ["ALL"], ReadonlyRootfs: true },
  });
  await docker.startContainer(created.Id);
  const exit = await docker.waitContainer(created.Id);
  expect(exit.StatusCode).toBe(3);
  await docker.removeContainer(created.Id, { force: true });
  for (let i = 0; i < 50 && !seen.includes("destroy"); i++) await Bun.sleep(50);
  stop();
  expect(seen).toContain("create");
  expect(seen).toContain("start");
  expect(seen).toContain("die");
  expect(seen).toContain("destroy");
});
