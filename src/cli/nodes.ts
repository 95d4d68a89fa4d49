import type { ServerConfig } from "../config.ts";
import { mintNodeSecret } from "../fleet/node_secrets.ts";
import { addNode, findNode, listNodes, removeNode, setNodeState } from "../fleet/nodes.ts";
import { loadMasterKeyring } from "../secrets/master_keys.ts";
import { parseFlags, UsageError } from "./args.ts";
import { withDatabase } from "./database.ts";

export const NODES_HELP = `Usage: clawfleet nodes <command>

Commands:
  add --name <name> --url https://host:7443 --fingerprint <sha256>   register an agent
  list                                                                nodes, state, last health
  drain <name|id>                                                     no new containers on it
  activate <name|id>                                                  accept containers again
  remove <name|id> [--force]                                          forget it (must be empty)

The fingerprint is what \`clawfleet-agent cert\` prints on the node. \`add\` mints a secret for that
node alone and prints the two variables to set on it (CLAWFLEET_NODE_ID, CLAWFLEET_NODE_SECRETS);
requests to it are then signed with that secret, bound to the node (signature v2).
`;

export async function runNodes(config: ServerConfig, args: string[]): Promise<string> {
  const [command, ...rest] = args;
  const { values, positional } = parseFlags(rest, {
    name: "string",
    url: "string",
    fingerprint: "string",
    force: "boolean",
  });
  return withDatabase(config, async (db) => {
    const target = async () => {
      const ref = positional[0];
      if (!ref) throw new UsageError(`nodes ${command}: name the node`);
      const node = await findNode(db, ref);
      if (!node) throw new UsageError(`no node named ${ref}`);
      return node;
    };
    switch (command) {
      case "add": {
        const { name, url, fingerprint } = values;
        if (typeof name !== "string" || typeof url !== "string" || typeof fingerprint !== "string") {
          throw new UsageError("nodes add needs --name, --url and --fingerprint");
        }
        const node = await addNode(db, { name, url, fingerprint }, { via: "cli" });
        const minted = await mintNodeSecret(db, await loadMasterKeyring(config), node);
        return `node ${node.name} added (${node.id})\nStart clawfleet-agent on it with (shown once):\n${minted.env}\n`;
      }
      case "list": {
        const rows = await listNodes(db);
        if (rows.length === 0) return "no nodes\n";
        return `${rows
          .map((n) => [n.name, n.state, n.url, n.lastSeenAt?.toISOString() ?? "never seen"].join("\t"))
          .join("\n")}\n`;
      }
      case "drain":
      case "activate": {
        const node = await target();
        await setNodeState(db, node.id, command === "drain" ? "draining" : "active", { via: "cli" });
        return `node ${node.name} ${command === "drain" ? "draining" : "active"}\n`;
      }
      case "remove": {
        const node = await target();
        await removeNode(db, node.id, values.force === true, { via: "cli" });
        return `node ${node.name} removed\n`;
      }
      default:
        throw new UsageError(`unknown nodes command "${command ?? ""}" (see clawfleet nodes --help)`);
    }
  });
}
