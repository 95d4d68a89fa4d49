// A real SMTP server (the smtp-server package) on loopback for the mail tests: it accepts every
// message and keeps it, decoded enough to read links. `delayMs` holds each message before accepting
// it, to prove a request does not wait for its mail.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export type ReceivedMail = { from: string; to: string[]; raw: string; subject: string; text: string };

function decodeQuotedPrintable(body: string): string {
  return body
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

function parse(raw: string): Pick<ReceivedMail, "subject" | "text"> {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const body = raw.slice(split + 4);
  const subject = /^subject: (.*)$/im.exec(head)?.[1] ?? "";
  const encoding = /^content-transfer-encoding: (.*)$/im.exec(head)?.[1]?.trim().toLowerCase();
  const text =
    encoding === "quoted-printable"
      ? decodeQuotedPrintable(body)
      : encoding === "base64"
        ? Buffer.from(body, "base64").toString("utf8")
        : body;
  return { subject, text };
}

export type TestSmtp = {
  url: string;
  mails: ReceivedMail[];
  delayMs: number;
  /** Resolves with the next mail to `to` whose subject contains `subject` (bounded wait). */
  nextMailTo(to: string, subject?: string, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
};

export async function startTestSmtp(): Promise<TestSmtp> {
  const mails: ReceivedMail[] = [];
  const seen = new Map<string, number>();
  const state = { delayMs: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        setTimeout(() => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            ...parse(raw),
          });
          callback();
        }, state.delayMs);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    async nextMailTo(to, subject = "", timeoutMs = 10_000) {
      const key = `${to}\n${subject}`;
      const from = seen.get(key) ?? 0;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const matching = mails.filter((m) => m.to.includes(to) && m.subject.includes(subject));
        if (matching.length > from) {
          seen.set(key, from + 1);
          return matching[from] as ReceivedMail;
        }
        await Bun.sleep(25);
      }
      throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The token of the first link to `path` in a mail. */
export function tokenFromMail(mail: ReceivedMail, path: string): { link: string; token: string } {
  const match = new RegExp(`(https?://\\S+${path}\\?token=([A-Za-z0-9_-]+))`).exec(mail.text);
  if (!match?.[1] || !match[2]) throw new Error(`no ${path} link in mail: ${mail.text}`);
  return { link: match[1], token: match[2] };
}
