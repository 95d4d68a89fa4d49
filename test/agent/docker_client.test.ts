import { afterAll, expect, test } from "bun:test";
import { DockerClient, DockerError } from "../../agent/docker/client.ts";
import { attachContainer, startExec } from "../../agent/docker/hijack.ts";
import { ensureRuntimeImage } from "../helpers/fleet.ts";

const docker = new DockerClient(process.env.DOCKER_SOCKET ?? "/var/run/docker.sock");
// Everything this file creates carries this label; whatever a failed test left is removed at the end.
const FILE_LABEL = `clawfleet.test=${crypto.randomUUID()}`;
const fileLabels = { "clawfleet.test": FILE_LABEL.split("=")[1] ?? "" };

afterAll(async () => {
  for (const c of await docker.listContainers([FILE_LABEL]))
    await docker.removeContainer(c.Id, { force: true, volumes: true });
  for (const v of (await docker.listVolumes([FILE_LABEL])).Volumes ?? []) await docker.removeVolume(v.Name);
  for (const n of await docker.listNetworks([FILE_LABEL])) await docker.removeNetwork(n.Id);
});

test("engine errors become typed DockerErrors with the engine's message", async () => {
  const error = await docker.inspectContainer("clawfleet-no-such-container").catch((e) => e);
  expect(error).toBeInstanceOf(DockerError);
  expect((error as DockerError).notFound).toBe(true);
  expect((error as DockerError).message).toContain("container inspect");
  const unreachable = await new DockerClient("/nonexistent.sock").version().catch((e) => e);
  expect((unreachable as DockerError).status).toBe(503);
  expect((unreachable as DockerError).unreachable).toBe(true);
  expect(await new DockerClient("/nonexistent.sock").ping().catch(() => false)).toBe(false);
  expect(await docker.ping()).toBe(true);
});

test("events stream the lifecycle of a labelled container; wait reports its exit", async () => {
  await ensureRuntimeImage();
  const label = FILE_LABEL;
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
  await docker.removeContainer(created.Id, { force: true, volumes: true });
  for (let i = 0; i < 50 && !seen.includes("destroy"); i++) await Bun.sleep(50);
  stop();
  expect(seen).toContain("create");
  expect(seen).toContain("start");
  expect(seen).toContain("die");
  expect(seen).toContain("destroy");
});

test("attach to a TTY container: a hijacked raw stream both ways, resized through the API", async () => {
  await ensureRuntimeImage();
  const labels = fileLabels;
  const created = await docker.createContainer(`cf-attach-${crypto.randomUUID().slice(0, 8)}`, {
    Image: "clawfleet-runtime:0.1.0",
    Entrypoint: ["/bin/sh"],
    Cmd: [],
    User: "1000:1000",
    Tty: true,
    OpenStdin: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Labels: labels,
    HostConfig: { CapDrop: ["ALL"], ReadonlyRootfs: true, NetworkMode: "none" },
  });
  try {
    let out = "";
    let closed = false;
    const stream = await attachContainer(docker.socketPath, created.Id, {
      onData: (data) => {
        out += new TextDecoder().decode(data);
      },
      onClose: () => {
        closed = true;
      },
    });
    await docker.startContainer(created.Id);
    await docker.resizeContainer(created.Id, 100, 30);
    stream.write("stty size; echo ATTACH-$((3*4))\n");
    for (let i = 0; i < 100 && !out.includes("ATTACH-12"); i++) await Bun.sleep(50);
    expect(out).toContain("30 100");
    expect(out).toContain("ATTACH-12");
    stream.write("exit 5\n");
    expect((await docker.waitContainer(created.Id)).StatusCode).toBe(5);
    for (let i = 0; i < 50 && !closed; i++) await Bun.sleep(20);
    expect(closed).toBe(true);
  } finally {
    await docker.removeContainer(created.Id, { force: true, volumes: true });
  }
});

test("images, volumes and networks are listed by label and inspected; a refused exec start is typed", async () => {
  await ensureRuntimeImage();
  expect((await docker.listImages()).some((i) => i.RepoTags?.includes("clawfleet-runtime:0.1.0"))).toBe(true);
  const label = FILE_LABEL;
  const labels = fileLabels;
  const volume = await docker.createVolume({
    Name: `cf-test-${crypto.randomUUID().slice(0, 8)}`,
    Labels: labels,
  });
  const network = await docker.createNetwork({
    Name: `cf-test-${crypto.randomUUID().slice(0, 8)}`,
    Labels: labels,
  });
  try {
    expect((await docker.listVolumes([label])).Volumes?.map((v) => v.Name)).toEqual([volume.Name]);
    expect((await docker.inspectVolume(volume.Name)).Labels).toEqual(labels);
    expect((await docker.listNetworks([label])).map((n) => n.Id)).toEqual([network.Id]);
  } finally {
    await docker.removeVolume(volume.Name);
    await docker.removeNetwork(network.Id);
  }
  expect((await docker.listVolumes([label])).Volumes ?? []).toEqual([]);
  const refused = await startExec(docker.socketPath, "no-such-exec", { onData() {}, onClose() {} }).catch(
    (e) => e,
  );
  expect(refused).toBeInstanceOf(DockerError);
  expect((refused as DockerError).notFound).toBe(true);
});
