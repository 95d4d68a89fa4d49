// Outgoing mail through the operator's SMTP server (CLAWFLEET_SMTP_URL). Without it there is no
// mailer, and the features that need one say so (an admin hands reset links over by hand).
import nodemailer from "nodemailer";
import type { AccountsConfig } from "../config_accounts.ts";

export type OutgoingMail = { to: string; subject: string; text: string };

export type Mailer = { send(mail: OutgoingMail): Promise<void> };

export function createMailer(config: AccountsConfig): Mailer | null {
  if (!config.smtpUrl) return null;
  const transport = nodemailer.createTransport(config.smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({
        from: config.mailFrom,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
      });
    },
  };
}
