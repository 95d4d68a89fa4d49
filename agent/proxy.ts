// WS /v1/containers/:id/gateway: relays the control plane's socket to the container's gateway (at its
// address on its own bridge, ContainerManager.address), adding the per-container gateway token. The relay itself (order,
// back-pressure, caps, close mirroring) is the one every hop uses: common/ws_relay.ts.
import type { ServerWebSocket } from "bun";
import type { Logger } from "../common/log.ts";
import { type RelayOptions, WsRelay } from "../common/ws_relay.ts";

export type GatewayTarget = { url: string; token: string };

export function relayToGateway(
  client: ServerWebSocket<unknown>,
  target: GatewayTarget,
  log: Logger,
  opts: RelayOptions = {},
): WsRelay {
  const relay = new WsRelay(client, {
    ...opts,
    onRefused: (code) => log.warn("the container's gateway refused the connection", { code }),
  });
  relay.attach(new WebSocket(target.url, { headers: { authorization: `Bearer ${target.token}` } } as never));
  return relay;
}

/** An app's WebSocket (its own origin, through the server): relayed as is, no gateway token added. */
export function relayToApp(
  client: ServerWebSocket<unknown>,
  url: string,
  log: Logger,
  opts: RelayOptions = {},
): WsRelay {
  const relay = new WsRelay(client, {
    ...opts,
    onRefused: (code) => log.warn("the container's app refused a WebSocket", { code }),
  });
  relay.attach(new WebSocket(url));
  return relay;
}
