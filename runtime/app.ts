// Wires the runtime together: store, chat service, channel connectors and the gateway server.

import type { LogSink } from "../common/log.ts";
import { version } from "../package.json";
import { ChannelManager } from "./channels/manager.ts";
import { ChatService } from "./chat.ts";
import { configSecrets, type RuntimeConfig } from "./config.ts";
import { startGatewayServer } from "./gateway/server.ts";
import { createRuntimeLogger } from "./logger.ts";
import { startReaper } from "./reaper.ts";
import { Scheduler } from "./schedules/scheduler.ts";
import { Scrubber } from "./scrub.ts";
import { SecretBox } from "./secret_box.ts";
import { Channels } from "./store/channels.ts";
import { History } from "./store/history.ts";
import { Memory } from "./store/memory.ts";
import { openStore } from "./store/open.ts";
import { Schedules } from "./store/schedules.ts";
import { RuntimeSettings } from "./store/settings.ts";
import { ToolCalls } from "./store/tool_calls.ts";
import { ScheduleTools } from "./tools/schedule_tools.ts";
import { ToolBox } from "./tools/toolbox.ts";

export const RUNTIME_VERSION: string = version;

export type Runtime = { url: string; port: number; stop(): Promise<void> };

export async function startRuntime(
  config: RuntimeConfig,
  options: { logSink?: LogSink } = {},
): Promise<Runtime> {
  const scrubber = new Scrubber(configSecrets(config));
  const log = createRuntimeLogger(config.logLevel, scrubber, options.logSink);
  const db = openStore(config.dataDir);
  const history = new History(db);
  const memory = new Memory(db);
  const settings = new RuntimeSettings(db, { shellMode: config.shellMode });
  const schedules = new Schedules(db);
  const toolCalls = new ToolCalls(db);
  // The scheduler needs the chat service and the tools need the scheduler: it is re-armed late-bound.
  let scheduler: Scheduler | null = null;
  const scheduleTools = new ScheduleTools(schedules, () => scheduler?.arm());
  const box = new ToolBox({
    dataDir: config.dataDir,
    fetchAllow: config.fetchAllow,
    settings,
    schedules: scheduleTools,
    scrubber,
  });
  const chat = new ChatService(config, history, memory, log, { box, calls: toolCalls }, settings);
  scheduler = new Scheduler(schedules, chat, log);
  const secretBox = config.secretsKey ? await SecretBox.fromSecret(config.secretsKey) : null;
  const channels = new ChannelManager({ config, channels: new Channels(db), chat, log, scrubber, secretBox });
  const server = startGatewayServer({
    config,
    version: RUNTIME_VERSION,
    chat,
    history,
    memory,
    channels,
    settings,
    schedules,
    scheduler,
    scheduleTools,
    toolCalls,
    scrubber,
    log,
  });
  await channels.startAll();
  scheduler.start();
  const stopReaper = await startReaper(log);
  log.info("runtime started", {
    port: server.port,
    data_dir: config.dataDir,
    providers: Object.values(config.providers)
      .filter((p) => p.apiKey)
      .map((p) => p.id),
    default_provider: config.defaultProvider,
    gateway_auth: config.gatewayToken !== null,
  });
  return {
    url: `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${server.port}`,
    port: server.port ?? config.port,
    async stop() {
      scheduler.stop();
      stopReaper();
      await channels.stopAll();
      await server.stop(true);
      db.close();
      log.info("runtime stopped");
    },
  };
}
