import { describe, expect, it } from 'vitest';
import { deliverInvitation } from '../../src/invitations/invitation-email.ts';
import { jobs } from '../../src/jobs/jobs.ts';
import { createMailer } from '../../src/mail/mailer.ts';
import { seedTeam } from '../helpers/services.ts';
import { invitationNonce, useWorkerHarness } from '../helpers/worker-harness.ts';
import { silentLogger } from '../helpers/workers.ts';
import { useAdminViews } from './admin-views.ts';

/**
 * What the admins see of an invitation email while the SMTP server refuses it. No workers run:
 * the test is the queue, calling the `invitation.send` processor once per attempt with the
 * attempt numbers BullMQ gives it, against the real SMTP server, database and HTTP app.
 * (test/invitations/delivery-retries.test.ts runs the same through the real queue and backoff.)
 */
const h = useWorkerHarness({ workers: false });
const views = useAdminViews(h);
const MAX_ATTEMPTS = jobs['invitation.send'].attempts;

async function invite(email: string) {
  const seeded = await seedTeam(h.services);
  const invitation = await h.services.invitations.invite(seeded.admin.actor, { email });
  const payload = { invitationId: invitation.id, nonce: await invitationNonce(h.sql, invitation.id) };
  const mailer = createMailer(h.config, silentLogger);
  const deps = { config: h.config, services: h.services, mailer, queues: h.queues, logger: silentLogger };
  return {
    ...seeded,
    invitation,
    /** One run of the job, as attempt `attemptsMade + 1` of MAX_ATTEMPTS. */
    attempt: (attemptsMade: number) =>
      deliverInvitation(deps, payload, { attemptsMade, maxAttempts: MAX_ATTEMPTS }),
    /** `/team invitations` as the team's owner sees it. */
    slack: () => views.slack(seeded.team.slackTeamId!, seeded.owner.slackUserId!),
  };
}

describe('an invitation email the SMTP server refuses for a while', () => {
  it('shows "retrying" with the attempt and the reason everywhere, then sent without a reason', async () => {
    const t = await invite('busy.mailbox@example.com');
    expect(t.invitation).toMatchObject({
      deliveryStatus: 'queued',
      deliveryError: null,
      deliveryAttempts: 0,
      deliveryMaxAttempts: null,
      deliveryRetrying: false,
    });
    expect(await t.slack()).toContain('busy.mailbox@example.com as *user* · pending · queued');

    h.smtp.refuseNext(421, 'mailbox busy');
    await expect(t.attempt(0)).rejects.toThrow(/mailbox busy/);
    const first = await t.slack();
    expect(first).toContain(`retrying (attempt 1 of ${MAX_ATTEMPTS}): 421 mailbox busy`);
    expect(await views.api(t.owner.apiKey)).toEqual([
      expect.objectContaining({
        id: t.invitation.id,
        status: 'pending',
        delivery_status: 'queued',
        delivery_error: '421 mailbox busy',
        delivery_attempts: 1,
        delivery_max_attempts: MAX_ATTEMPTS,
      }),
    ]);
    expect(await views.smsto(t.owner.apiKey)).toEqual([
      expect.objectContaining({
        id: t.invitation.id,
        delivery_status: 'queued',
        delivery_error: '421 mailbox busy',
      }),
    ]);

    h.smtp.refuseNext(451, 'Greylisted, try again later');
    await expect(t.attempt(1)).rejects.toThrow(/Greylisted/);
    const second = await t.slack();
    expect(second).toContain(`retrying (attempt 2 of ${MAX_ATTEMPTS}): 451 Greylisted, try again later`);
    expect(second).not.toContain('mailbox busy');

    await expect(t.attempt(2)).resolves.toBe('sent');
    expect(h.smtp.to('busy.mailbox@example.com')).toHaveLength(1);
    const sent = await t.slack();
    expect(sent).toContain('busy.mailbox@example.com as *user* · pending · sent');
    expect(sent).not.toContain('retrying');
    expect(sent).not.toContain('Greylisted');
    expect(await views.api(t.owner.apiKey)).toEqual([
      expect.objectContaining({
        delivery_status: 'sent',
        delivery_error: null,
        delivery_attempts: 3,
        delivery_max_attempts: MAX_ATTEMPTS,
      }),
    ]);
    expect(await views.smsto(t.owner.apiKey)).toEqual([
      expect.objectContaining({ delivery_status: 'sent', delivery_error: null }),
    ]);

    // A late run of the same job (delivered twice) neither sends again nor brings the error back.
    await expect(t.attempt(3)).resolves.toBe('skipped');
    expect(h.smtp.to('busy.mailbox@example.com')).toHaveLength(1);
  });

  it('shows failed with the reason once the last attempt is refused too', async () => {
    const t = await invite('always.busy@example.com');
    for (let made = 0; made < MAX_ATTEMPTS - 1; made += 1) {
      h.smtp.refuseNext(421, `mailbox busy (${made + 1})`);
      await expect(t.attempt(made)).rejects.toThrow(/mailbox busy/);
    }
    expect(await t.slack()).toContain(
      `retrying (attempt ${MAX_ATTEMPTS - 1} of ${MAX_ATTEMPTS}): 421 mailbox busy (${MAX_ATTEMPTS - 1})`,
    );

    h.smtp.refuseNext(421, 'mailbox busy (last)');
    // The queue must not try again: the job fails for good.
    await expect(t.attempt(MAX_ATTEMPTS - 1)).rejects.toMatchObject({ name: 'UnrecoverableError' });
    const failed = await t.slack();
    expect(failed).toContain(`:warning: failed after ${MAX_ATTEMPTS} attempts: 421 mailbox busy (last)`);
    expect(failed).not.toContain('retrying');
    expect(await views.api(t.owner.apiKey)).toEqual([
      expect.objectContaining({
        status: 'pending',
        delivery_status: 'failed',
        delivery_error: '421 mailbox busy (last)',
        delivery_attempts: MAX_ATTEMPTS,
      }),
    ]);
    expect(await views.smsto(t.owner.apiKey)).toEqual([
      expect.objectContaining({ delivery_status: 'failed', delivery_error: '421 mailbox busy (last)' }),
    ]);
    expect(h.smtp.to('always.busy@example.com')).toHaveLength(0);
  });

  it('shows failed at once when the server refuses the address for good', async () => {
    const t = await invite('no.such.mailbox@example.com');
    h.smtp.refuseNext(550, 'No such mailbox');
    await expect(t.attempt(0)).rejects.toMatchObject({ name: 'UnrecoverableError' });
    expect(await t.slack()).toContain(':warning: failed after 1 attempt: 550 No such mailbox');
    expect(await views.api(t.owner.apiKey)).toEqual([
      expect.objectContaining({ delivery_status: 'failed', delivery_error: '550 No such mailbox' }),
    ]);
  });

  it('does not call a revoked invitation "retrying", and sends nothing for it', async () => {
    const t = await invite('changed.mind@example.com');
    h.smtp.refuseNext(421, 'mailbox busy');
    await expect(t.attempt(0)).rejects.toThrow(/mailbox busy/);
    await h.services.invitations.revoke(t.admin.actor, { id: t.invitation.id });
    await expect(t.attempt(1)).resolves.toBe('skipped');
    const [revoked] = await h.services.invitations.list(t.admin.actor, { status: 'all' });
    expect(revoked).toMatchObject({
      id: t.invitation.id,
      status: 'revoked',
      deliveryStatus: 'queued',
      deliveryError: '421 mailbox busy',
      deliveryRetrying: false,
    });
    expect(await t.slack()).toContain('No pending invitations.');
    expect(h.smtp.to('changed.mind@example.com')).toHaveLength(0);
  });
});
