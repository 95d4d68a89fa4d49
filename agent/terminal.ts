// A terminal session: `docker exec` of the template's shell with a TTY, its raw stream relayed to a
// WebSocket. Binary or text frames are keystrokes; a text frame holding {"type":"resize",...} resizes.
import type { DockerClient } from "./docker/client.ts";
import { type ExecStream, startExecStream } from "./docker/exec_stream.ts";

export type TerminalSink = { send(data: Uint8Array): void; close(code: number, reason: string): void };

export async function openTerminal(
  docker: DockerClient,
  containerId: string,
  shell: string[],
  sink: TerminalSink,
) {
  const exec = await docker.createExec(containerId, {
    Cmd: shell,
    Tty: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Env: ["TERM=xterm-256color"],
  });
  const stream: ExecStream = await startExecStream(docker.socketPath, exec.Id, {
    onData: (data) => sink.send(data),
    onClose: () => sink.close(1000, "shell exited"),
  });
  return {
    input(frame: string | Uint8Array) {
      if (typeof frame === "string" && frame.startsWith("{")) {
        try {
          const message = JSON.parse(frame) as { type?: string; cols?: number; rows?: number };
          if (message.type === "resize") {
            const cols = Math.min(1000, Math.max(1, Math.floor(Number(message.cols))));
            const rows = Math.min(1000, Math.max(1, Math.floor(Number(message.rows))));
            if (Number.isFinite(cols) && Number.isFinite(rows))
              void docker.resizeExec(exec.Id, cols, rows).catch(() => {});
            return;
          }
        } catch {
          // Not a control message: it is input that happens to start with "{".
        }
      }
      stream.write(frame);
    },
    close() {
      stream.close();
    },
  };
}
