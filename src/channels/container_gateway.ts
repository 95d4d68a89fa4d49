// A short conversation with a user's container over its gateway (through the node's agent, signed
// and pinned, like the console's sockets): send a few request frames, collect the answer to each by
// its id, close. Used for channel settings, whose credentials pass through here in memory only: no
// frame is logged, and errors carry the runtime's code and message, never a frame.

import { UserError } from "../errors.ts";
import type { NodeAgent } from "../fleet/agent_port.ts";

export type GatewayFrame = Record<string, unknown> & { type: string };
export type GatewayAnswer = Record<string, unknown> & { type: string };

const DEADLINE_MS = 30_000;

export async function askContainer(
  agent: NodeAgent,
  sessionId: string,
  frames: GatewayFrame[],
): Promise<GatewayAnswer[]> {
  const socket = await agent.connect(sessionId, "gateway");
  const ids = frames.map((_, i) => `cf-${i}-${crypto.randomUUID().slice(0, 8)}`);
  const answers = new Map<string, GatewayAnswer>();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new UserError(504, "container_timeout", "The container did not answer in time.")),
        DEADLINE_MS,
      );
      const finish = (error?: Error) => {
        clearTimeout(timer);
        error ? reject(error) : resolve();
      };
      // One at a time: the runtime handles frames concurrently, and a read after a change must see it.
      const sendNext = () => socket.send(JSON.stringify({ ...frames[answers.size], id: ids[answers.size] }));
      socket.addEventListener("open", sendNext);
      socket.addEventListener("message", (event) => {
        let answer: GatewayAnswer;
        try {
          answer = JSON.parse(String(event.data)) as GatewayAnswer;
        } catch {
          return;
        }
        if (typeof answer.id !== "string" || !ids.includes(answer.id)) return;
        if (answer.id !== ids[answers.size]) return;
        answers.set(answer.id, answer);
        if (answers.size === ids.length) finish();
        else sendNext();
      });
      socket.addEventListener("close", () =>
        finish(new UserError(502, "container_unreachable", "The container closed the connection.")),
      );
      socket.addEventListener("error", () =>
        finish(new UserError(502, "container_unreachable", "The container could not be reached.")),
      );
    });
  } finally {
    socket.close();
  }
  return ids.map((id) => answers.get(id) as GatewayAnswer);
}
