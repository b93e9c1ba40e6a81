import nodemailer from 'nodemailer';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { permanentFailure } from '../platform/queue.ts';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /**
   * Stable for one logical email (e.g. one invitation): if a worker dies between the server's
   * "250 OK" and recording it, the resent copy carries the same Message-ID.
   */
  messageId?: string;
}

export interface Mailer {
  /** Resolves once the SMTP server accepted the message (or it was logged, without SMTP_URL). */
  send(email: OutgoingEmail): Promise<{ messageId: string | undefined }>;
  close(): void;
}

// A stuck SMTP server must fail the job (and let it retry), not hold a worker forever.
const SMTP_TIMEOUT_MS = 15_000;

/** nodemailer over SMTP_URL; without it, emails are written to the log so a local setup still shows them. */
export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailFrom'>, logger: Logger): Mailer {
  const log = logger.child({ component: 'mailer' });
  if (!config.smtpUrl) {
    return {
      async send(email) {
        log.info(
          { to: email.to, subject: email.subject, text: email.text },
          'email not sent (no SMTP_URL): logged instead',
        );
        return { messageId: undefined };
      },
      close() {},
    };
  }
  const transport = nodemailer.createTransport(
    {
      url: config.smtpUrl,
      connectionTimeout: SMTP_TIMEOUT_MS,
      greetingTimeout: SMTP_TIMEOUT_MS,
      socketTimeout: SMTP_TIMEOUT_MS,
    },
    { from: config.mailFrom },
  );
  return {
    async send(email) {
      const info = await transport.sendMail(email);
      log.info({ to: email.to, subject: email.subject, messageId: info.messageId }, 'email sent');
      return { messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}

/**
 * A 5xx reply means the server refused this message for good (no such mailbox, policy): trying
 * again cannot help. Connection failures and 4xx replies are worth retrying.
 */
export function isPermanentMailError(error: unknown): boolean {
  const code = (error as { responseCode?: number } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** A reason short enough to keep on the invitation and show in `/team invitations`. */
export function describeMailError(error: unknown): string {
  const e = error as { response?: string; message?: string; code?: string } | null;
  return (e?.response ?? e?.message ?? String(error)).replace(/\s+/g, ' ').slice(0, 300);
}

/** The `email.send` job: one email, refused for good when the server says no retry can help. */
export async function sendEmailJob(
  mailer: Mailer,
  email: OutgoingEmail,
): Promise<{ messageId: string | undefined }> {
  try {
    return await mailer.send(email);
  } catch (error) {
    if (isPermanentMailError(error)) throw permanentFailure(`email to ${email.to} refused: ${String(error)}`);
    throw error;
  }
}
