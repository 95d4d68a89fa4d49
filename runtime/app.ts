// Wires the runtime together: store, chat service, channel connectors and the gateway server.

import type { LogSink } from "../common/log.ts";
import { version } from "../package.json";
import { ChannelManager } from "./channels/manager.ts";
import { ChatService } from "./chat.ts";
import { configSecrets, type RuntimeConfig } from "./config.ts";
import { startGatewayServer } from "./gateway/server.ts";
import { createRuntimeLogger } from "./logger.ts";
import { Scrubber } from "./scrub.ts";
import { SecretBox } from "./secret_box.ts";
import { Channels } from "./store/channels.ts";
import { History } from "./store/history.ts";
import { Memory } from "./store/memory.ts";
import { openStore } from "./store/open.ts";

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
  const chat = new ChatService(config, history, memory, log);
  const secretBox = config.secretsKey ? await SecretBox.fromSecret(config.secretsKey) : null;
  const channels = new ChannelManager({ config, channels: new Channels(db), chat, log, scrubber, secretBox });
  const server = startGatewayServer({
    config,
    version: RUNTIME_VERSION,
    chat,
    history,
    memory,
    channels,
    scrubber,
    log,
  });
  await channels.startAll();
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
      await channels.stopAll();
      await server.stop(true);
      db.close();
      log.info("runtime stopped");
    },
  };
}
