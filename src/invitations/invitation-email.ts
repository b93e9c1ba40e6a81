import type { Services } from '../app.ts';
import type { Config } from '../config.ts';
import type { JobPayload } from '../jobs/jobs.ts';
import type { Logger } from '../logger.ts';
import { html, trusted } from '../mail/html.ts';
import { describeMailError, isPermanentMailError, type Mailer, type OutgoingEmail } from '../mail/mailer.ts';
import { permanentFailure, type QueueJob } from '../platform/queue.ts';
import type { DeliveryDetails } from './invitation.service.ts';

export interface InvitationEmailDetails {
  email: string;
  teamName: string;
  invitedByName: string | null;
  role: 'admin' | 'user';
  expiresAt: Date;
}

/** The accept page for a token; the token is the only secret, so it is the whole path. */
export function invitationLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/invitations/${encodeURIComponent(token)}`;
}

const ROLE_MEANING: Record<InvitationEmailDetails['role'], string> = {
  admin: 'an admin (manages members and moves money)',
  user: 'a user (uses your own sub-account)',
};

/** "Monday, 30 November 2026 at 16:00 UTC": unambiguous for a reader in any time zone. */
export function formatExpiry(date: Date): string {
  const day = new Intl.DateTimeFormat('en-GB', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(date);
  const time = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: 'UTC',
  }).format(date);
  return `${day} at ${time} UTC`;
}

export function invitationEmail(details: InvitationEmailDetails, link: string): OutgoingEmail {
  const inviter = details.invitedByName ?? 'An administrator';
  const role = ROLE_MEANING[details.role];
  const expires = formatExpiry(details.expiresAt);
  const subject = `${inviter} invited you to ${details.teamName} on teamops`;
  const text = [
    `${inviter} invited you to join ${details.teamName} on teamops as ${role}.`,
    '',
    'Accept the invitation and choose your display name here:',
    link,
    '',
    `The link works once and expires on ${expires}.`,
    'If you did not expect this invitation, ignore this email: nothing happens until the link is used.',
  ].join('\n');
  const body = html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${subject}</title></head>
<body style="font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d1c1d; line-height: 1.5">
  <p><strong>${inviter}</strong> invited you to join <strong>${details.teamName}</strong> on teamops as ${role}.</p>
  <p><a href="${link}" style="${trusted(BUTTON_STYLE)}">Accept the invitation</a></p>
  <p>Or open this link: <a href="${link}">${link}</a></p>
  <p style="color: #616061">The link works once and expires on ${expires}.
  If you did not expect this invitation, ignore this email: nothing happens until the link is used.</p>
</body>
</html>`;
  return { to: details.email, subject, text, html: body.value };
}

const BUTTON_STYLE =
  'display: inline-block; padding: 10px 18px; background: #007a5a; color: #ffffff; text-decoration: none; border-radius: 4px';

export interface InvitationDeliveryDeps {
  config: Pick<Config, 'publicUrl'>;
  services: Pick<Services, 'invitations'>;
  mailer: Mailer;
  logger: Logger;
}

/**
 * The `invitation.send` job: emails the link (an invitation by Slack mention is a DM job
 * instead, chosen when the invitation was made). Each attempt's outcome goes to the invitation service, which decides what it
 * means: `sent`; `failed` once retrying cannot help; otherwise still `queued`, with the reason
 * and the attempt count, so `/team invitations` can say why it has not arrived yet.
 */
export async function deliverInvitation(
  deps: InvitationDeliveryDeps,
  payload: JobPayload<'invitation.send'>,
  job: Pick<QueueJob, 'attemptsMade' | 'maxAttempts'>,
): Promise<'sent' | 'skipped'> {
  const invitations = deps.services.invitations;
  const details = await invitations.deliveryDetails(payload.invitationId, payload.nonce);
  // Revoked, accepted or expired before delivery, delivered by an earlier run of this job, or
  // re-sent since (that re-send has a job of its own).
  if (details?.status !== 'pending' || details.deliveryStatus === 'sent' || details.superseded)
    return 'skipped';
  if (!details.email) throw permanentFailure(`invitation ${details.id} has no email address to send to`);
  const token = await requireToken(invitations, details);
  const email = {
    ...invitationEmail({ ...details, email: details.email }, invitationLink(deps.config.publicUrl, token)),
    messageId: `<invitation-${details.id}@${new URL(deps.config.publicUrl).hostname}>`,
  };
  const attempt = { attemptsMade: job.attemptsMade, maxAttempts: job.maxAttempts };
  try {
    await deps.mailer.send(email);
  } catch (error) {
    const reason = describeMailError(error);
    const recorded = await invitations.recordDelivery(
      details.id,
      { error: reason, permanent: isPermanentMailError(error), nonce: payload.nonce },
      attempt,
    );
    if (recorded === 'failed') throw permanentFailure(`invitation email #${details.id} failed: ${reason}`);
    throw error;
  }
  await invitations.recordDelivery(details.id, { sent: true, nonce: payload.nonce }, attempt);
  deps.logger.info({ invitationId: details.id, attempt: job.attemptsMade + 1 }, 'invitation email sent');
  return 'sent';
}

/**
 * The link's token, or a permanent failure the admins see when it cannot be derived: the
 * server secret changed since the invitation was made, and only a re-send can help.
 */
export async function requireToken(
  invitations: Pick<Services['invitations'], 'recordDelivery'>,
  details: DeliveryDetails,
): Promise<string> {
  if (details.token) return details.token;
  const reason = 'the server secret changed since this invitation was made: re-send it';
  await invitations.recordDelivery(details.id, { error: reason, permanent: true });
  throw permanentFailure(`invitation #${details.id}: ${reason}`);
}
