// Structured JSON logs, one object per line. Everything passes through `redact`, so a password,
// token, key or credential-bearing header never reaches the output even when a caller logs a whole
// request or error object by mistake.
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEY =
  /pass(word)?|secret|token|api[_-]?key|apikey|authorization|cookie|credential|private[_-]?key|signature|^key$|plaintext/i;

// Secret-shaped substrings inside free text (error messages, URLs).
const SECRET_PATTERNS: RegExp[] = [
  /\b(sk-ant-[A-Za-z0-9_-]{8,}|sk-or-[A-Za-z0-9_-]{8,}|sk-(proj-)?[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{20,})/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  /(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi,
];

export const REDACTED = "[redacted]";

export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, ...groups) => {
      const prefix = pattern.source.startsWith("(postgres") ? String(groups[0]) : "";
      return prefix ? `${prefix}${REDACTED}@` : REDACTED;
    });
  }
  return out;
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[deep]";
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redactText(value.message),
      stack: value.stack && redactText(value.stack),
    };
  }
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof Headers) return redact(Object.fromEntries(value.entries()), depth + 1);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      SECRET_KEY.test(key) && item !== null && item !== undefined ? REDACTED : redact(item, depth + 1);
  }
  return out;
}

export type LogFields = Record<string, unknown>;
export type Logger = {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
};

export type LogSink = (line: string) => void;
const stdoutSink: LogSink = (line) => process.stdout.write(`${line}\n`);

export function createLogger(
  level: LogLevel = "info",
  base: LogFields = {},
  sink: LogSink = stdoutSink,
): Logger {
  const write = (at: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[at] < ORDER[level]) return;
    const record = redact({ ...base, ...fields }) as LogFields;
    sink(JSON.stringify({ time: new Date().toISOString(), level: at, msg: redactText(msg), ...record }));
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, sink),
  };
}
