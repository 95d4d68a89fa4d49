import { expect, test } from "bun:test";
import { FleetFullError, type NodeLoad, pickNode } from "../../src/fleet/scheduler.ts";

const node = (id: string, state: NodeLoad["state"], freeMemory: number, containers = 0): NodeLoad => ({
  id,
  state,
  capacity: { cpuMillis: 4000, memoryMb: 4096, containers: 10 },
  used: { cpuMillis: 0, memoryMb: 4096 - freeMemory, containers },
});

test("the active node with the most free memory wins", () => {
  const picked = pickNode(
    [node("a", "active", 1024), node("b", "active", 3000), node("c", "draining", 4096)],
    {
      cpuMillis: 500,
      memoryMb: 512,
    },
  );
  expect(picked.id).toBe("b");
});

test("draining and unreachable nodes are never chosen", () => {
  expect(() =>
    pickNode([node("a", "draining", 4096), node("b", "unreachable", 4096)], { cpuMillis: 1, memoryMb: 1 }),
  ).toThrow(FleetFullError);
});

test("a full fleet is a clear error", () => {
  expect(() => pickNode([node("a", "active", 256)], { cpuMillis: 500, memoryMb: 512 })).toThrow(/full/);
  expect(() => pickNode([node("a", "active", 4096, 10)], { cpuMillis: 500, memoryMb: 512 })).toThrow(
    FleetFullError,
  );
  expect(() => pickNode([], { cpuMillis: 1, memoryMb: 1 })).toThrow(FleetFullError);
});
