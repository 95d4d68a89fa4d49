// The tools the default runtime offers the model, described once (name, description, JSON Schema)
// and run here. Every result is text for the model, capped and scrubbed of the runtime's secrets
// before it goes anywhere. A tool that fails answers with an error result the model can read; only a
// cancelled chat stops the turn.
import type { Cidr } from "../../common/ip.ts";
import type { ToolCall, ToolSpec } from "../providers/types.ts";
import type { Scrubber } from "../scrub.ts";
import type { RuntimeSettings } from "../store/settings.ts";
import { listDataDir, readDataFile, ToolInputError, writeDataFile } from "./files.ts";
import { fetchPublic } from "./http_fetch.ts";
import type { ScheduleTools } from "./schedule_tools.ts";
import { runShell, SHELL_MAX_TIMEOUT_MS, SHELL_TIMEOUT_MS } from "./shell.ts";

export type ToolOutcome = { output: string; status: "ok" | "error" | "denied" };

export type ToolContext = {
  conversationId: string;
  signal: AbortSignal;
  /** Asks the person at the console; absent where no one can answer (Telegram, schedules). */
  approve?: (call: ToolCall) => Promise<boolean>;
};

const str = (description: string) => ({ type: "string", description });

export const TOOL_SPECS: ToolSpec[] = [
  {
    name: "shell",
    description:
      "Run a command with /bin/sh in your own container (busybox tools). The working directory is the data directory. Output (stdout and stderr) is capped at 64 KiB.",
    parameters: {
      type: "object",
      properties: {
        command: str("the command line"),
        timeout_seconds: { type: "integer", minimum: 1, maximum: SHELL_MAX_TIMEOUT_MS / 1000 },
      },
      required: ["command"],
    },
  },
  {
    name: "read_file",
    description: "Read a text file under the data directory (the first 256 KiB).",
    parameters: {
      type: "object",
      properties: { path: str("relative to the data directory") },
      required: ["path"],
    },
  },
  {
    name: "write_file",
    description: "Create or replace a text file under the data directory (at most 1 MiB).",
    parameters: {
      type: "object",
      properties: { path: str("relative to the data directory"), content: str("the whole new content") },
      required: ["path", "content"],
    },
  },
  {
    name: "list_files",
    description: "List a directory under the data directory.",
    parameters: { type: "object", properties: { path: str("relative to the data directory; default .") } },
  },
  {
    name: "http_fetch",
    description:
      "Fetch a public http(s) URL (GET or HEAD); returns the status, type and up to 256 KiB of the body.",
    parameters: {
      type: "object",
      properties: { url: str("absolute http(s) URL"), method: { type: "string", enum: ["GET", "HEAD"] } },
      required: ["url"],
    },
  },
  {
    name: "schedule_create",
    description:
      "Schedule a prompt for yourself: once at `at` (ISO 8601 time) or repeatedly on `cron` (five fields, UTC). When it fires you answer the prompt and the answer reaches the user.",
    parameters: {
      type: "object",
      properties: {
        prompt: str("what to do when it fires"),
        at: str("ISO 8601 date-time, for a one-off"),
        cron: str("minute hour day month weekday, UTC, for a repeating schedule"),
        name: str("a short label"),
      },
      required: ["prompt"],
    },
  },
  {
    name: "schedule_list",
    description: "List your schedules with their next run times.",
    parameters: { type: "object", properties: {} },
  },
  {
    name: "schedule_delete",
    description: "Delete a schedule by id.",
    parameters: { type: "object", properties: { id: str("the schedule id") }, required: ["id"] },
  },
];

/** What the model sees of one result at most (the shell and file caps are smaller). */
const RESULT_CAP = 300_000;

export class ToolBox {
  constructor(
    private readonly deps: {
      dataDir: string;
      fetchAllow: Cidr[];
      settings: RuntimeSettings;
      schedules: ScheduleTools;
      scrubber: Scrubber;
    },
  ) {}

  specs(): ToolSpec[] {
    return this.deps.settings.shellMode() === "off"
      ? TOOL_SPECS.filter((t) => t.name !== "shell")
      : TOOL_SPECS;
  }

  async run(call: ToolCall, context: ToolContext): Promise<ToolOutcome> {
    let outcome: ToolOutcome;
    try {
      outcome = await this.dispatch(call, context);
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      if (error instanceof ToolInputError) outcome = { output: `error: ${error.message}`, status: "error" };
      // A filesystem refusal (ENOTDIR, EACCES, ENOSPC…) is the model's to read, not a runtime failure.
      else if (typeof code === "string" && /^E[A-Z]+$/.test(code))
        outcome = { output: `error: ${code}`, status: "error" };
      else throw error;
    }
    const output = this.deps.scrubber.scrub(outcome.output);
    return {
      ...outcome,
      output: output.length > RESULT_CAP ? `${output.slice(0, RESULT_CAP)}\n[cut]` : output,
    };
  }

  private async dispatch(call: ToolCall, context: ToolContext): Promise<ToolOutcome> {
    const input = call.input;
    const text = (field: string): string => {
      const value = input[field];
      if (typeof value !== "string") throw new ToolInputError(`${field} must be a string`);
      return value;
    };
    const { dataDir } = this.deps;
    switch (call.name) {
      case "shell":
        return this.shell(call, context);
      case "read_file": {
        const file = await readDataFile(dataDir, text("path"));
        return {
          output: file.truncated
            ? `${file.content}\n[first ${file.content.length} of ${file.size} bytes]`
            : file.content,
          status: "ok",
        };
      }
      case "write_file": {
        const { bytes } = writeDataFile(dataDir, text("path"), text("content"));
        return { output: `wrote ${bytes} bytes to ${text("path")}`, status: "ok" };
      }
      case "list_files": {
        const path = input.path === undefined ? "." : text("path");
        const { entries, truncated } = listDataDir(dataDir, path);
        const lines = entries.map(
          (e) => `${e.type === "directory" ? `${e.name}/` : e.name}\t${e.type}\t${e.size}`,
        );
        if (truncated) lines.push("[more entries not shown]");
        return { output: lines.join("\n") || "(empty)", status: "ok" };
      }
      case "http_fetch": {
        const method = input.method === undefined ? undefined : text("method");
        const result = await fetchPublic(text("url"), {
          method,
          allow: this.deps.fetchAllow,
          signal: context.signal,
        });
        const head = `HTTP ${result.status} ${result.contentType ?? ""}`.trim();
        return {
          output: `${head}\n\n${result.body}${result.truncated ? "\n[body cut at 256 KiB]" : ""}`,
          status: "ok",
        };
      }
      case "schedule_create":
      case "schedule_list":
      case "schedule_delete":
        return this.deps.schedules.run(call.name, input, context.conversationId);
      default:
        return { output: `error: there is no tool named ${call.name}`, status: "error" };
    }
  }

  private async shell(call: ToolCall, context: ToolContext): Promise<ToolOutcome> {
    const command = call.input.command;
    if (typeof command !== "string" || command.trim() === "" || command.length > 16_000) {
      throw new ToolInputError("command must be a non-empty string of at most 16000 characters");
    }
    const seconds = call.input.timeout_seconds;
    if (
      seconds !== undefined &&
      (typeof seconds !== "number" || seconds < 1 || seconds * 1000 > SHELL_MAX_TIMEOUT_MS)
    ) {
      throw new ToolInputError(`timeout_seconds must be between 1 and ${SHELL_MAX_TIMEOUT_MS / 1000}`);
    }
    const mode = this.deps.settings.shellMode();
    if (mode === "off") return { output: "error: the user has turned the shell tool off", status: "denied" };
    if (mode === "ask") {
      const approved = context.approve ? await context.approve(call) : false;
      if (!approved) {
        return {
          output: context.approve
            ? "the user declined to run this command"
            : "the shell asks the user first, and no one can answer here; ask the user to run it from the console",
          status: "denied",
        };
      }
    }
    const result = await runShell(command, {
      cwd: this.deps.dataDir,
      timeoutMs: seconds === undefined ? SHELL_TIMEOUT_MS : Math.round(seconds * 1000),
      signal: context.signal,
    });
    const status = result.timedOut ? `timed out (killed)` : `exit code ${result.exitCode}`;
    return {
      output: `${status}\n${result.output}${result.truncated ? "\n[output cut at 64 KiB]" : ""}`,
      status: result.timedOut || result.exitCode !== 0 ? "error" : "ok",
    };
  }
}
