// The one error a bad setting raises, on either side: its message is the single line printed before
// the process exits with 78 (EX_CONFIG).
export class ConfigError extends Error {
  override name = "ConfigError";
}
