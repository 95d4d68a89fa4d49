// The runtime knows its secrets by value (provider keys, the gateway token, channel tokens), so it can
// remove them from any text leaving the process (log lines, messages to the user) whatever shape
// they have. Only exact values are removed: pattern redaction would mangle ordinary chat text.
export const SCRUBBED = "[redacted]";

export class Scrubber {
  private readonly variants = new Set<string>();

  constructor(initial: Iterable<string> = []) {
    for (const secret of initial) this.add(secret);
  }

  /** Short values would match ordinary words; nothing that short is used as a secret. */
  add(secret: string | null | undefined): void {
    if (!secret || secret.length < 8) return;
    // As written, inside a URL, and inside a JSON string.
    this.variants.add(secret);
    this.variants.add(encodeURIComponent(secret));
    this.variants.add(JSON.stringify(secret).slice(1, -1));
  }

  scrub(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is removed whole.
    for (const variant of [...this.variants].sort((a, b) => b.length - a.length)) {
      if (out.includes(variant)) out = out.replaceAll(variant, SCRUBBED);
    }
    return out;
  }
}
