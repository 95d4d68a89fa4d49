// Tiny flag parsing for the sub-commands: `--name value`, `--name=value`, and bare `--flag`.
export class UsageError extends Error {}

export function parseFlags(args: string[], spec: Record<string, "string" | "boolean">) {
  const values: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const [name = "", inline] = arg.slice(2).split("=", 2);
    const kind = spec[name];
    if (!kind) continue; // server-wide flags (--data-dir, --database-url…) are read by loadServerConfig
    if (kind === "boolean") values[name] = true;
    else {
      const value = inline ?? args[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      values[name] = value;
    }
  }
  return { values, positional };
}

export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}
