import { describe, expect, it } from 'vitest';
import { jobs } from '../../src/jobs/jobs.ts';
import { seedTeam } from '../helpers/services.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually } from '../helpers/workers.ts';
import { useAdminViews } from './admin-views.ts';

/**
 * The same as delivery-status.test.ts, through the real relay, queue, worker and backoff: the
 * attempt numbers are BullMQ's own. (The last of 10 attempts comes ~40 minutes in, so giving up
 * is tested there, by calling the processor as the last attempt.)
 */
const h = useWorkerHarness();
const views = useAdminViews(h);
const MAX_ATTEMPTS = jobs['invitation.send'].attempts;

describe('an invitation email retried by the worker', () => {
  it('shows the refusal in /team invitations while it waits for the retry, then sent', async () => {
    const seeded = await seedTeam(h.services);
    const slack = () => views.slack(seeded.team.slackTeamId!, seeded.owner.slackUserId!);
    h.smtp.refuseNext(421, 'mailbox busy');
    const invitation = await h.services.invitations.invite(seeded.admin.actor, {
      email: 'retried@example.com',
    });

    await eventually(
      async () => (await h.services.invitations.list(seeded.admin.actor))[0]?.deliveryRetrying,
      { message: 'the first attempt recorded as retrying', intervalMs: 100 },
    );
    // The retry comes 5 s after the refusal: time enough to look.
    expect(await slack()).toContain(`retrying (attempt 1 of ${MAX_ATTEMPTS}): 421 mailbox busy`);
    expect(await views.api(seeded.owner.apiKey)).toEqual([
      expect.objectContaining({
        id: invitation.id,
        delivery_status: 'queued',
        delivery_error: '421 mailbox busy',
        delivery_attempts: 1,
        delivery_max_attempts: MAX_ATTEMPTS,
      }),
    ]);

    await h.smtp.waitFor((e) => e.to.includes('retried@example.com'), 30_000);
    await eventually(
      async () => (await h.services.invitations.list(seeded.admin.actor))[0]?.deliveryStatus === 'sent',
      { message: 'the second attempt recorded as sent', intervalMs: 100 },
    );
    const sent = await slack();
    expect(sent).toContain('retried@example.com as *user* · pending · sent');
    expect(sent).not.toContain('mailbox busy');
    expect(await views.api(seeded.owner.apiKey)).toEqual([
      expect.objectContaining({ delivery_status: 'sent', delivery_error: null, delivery_attempts: 2 }),
    ]);
    expect(await views.smsto(seeded.owner.apiKey)).toEqual([
      expect.objectContaining({ delivery_status: 'sent', delivery_error: null }),
    ]);
    expect(h.smtp.to('retried@example.com')).toHaveLength(1);
  }, 30_000);
});
