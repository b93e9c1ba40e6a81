import { describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.ts';
import { CREDIT_REQUEST_LIFETIME_MS } from '../../src/credit-requests/credit-request.service.ts';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { expectRefusedWithoutChange } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

type Seeded = Awaited<ReturnType<typeof seedTeam>>;

async function balances(teamId: number, memberId: number) {
  const row = await queryOne<{ master: string; member: string }>(
    h.orm.em.fork(),
    `select t.master_balance as master, m.balance as member
       from teams t join members m on m.team_id = t.id where t.id = ? and m.id = ?`,
    [teamId, memberId],
  );
  return { master: BigInt(row!.master), member: BigInt(row!.member) };
}

async function outbox(job: string, like = '%') {
  return queryAll<{ payload: Record<string, unknown>; dedup_key: string; delay_ms: number }>(
    h.orm.em.fork(),
    `select payload, dedup_key, extract(epoch from available_at - created_at) * 1000 as delay_ms
       from outbox where job = ? and dedup_key like ? order by id`,
    [job, like],
  );
}

async function creditTransfers(requestId: number) {
  return queryAll<{ id: string; amount: string }>(
    h.orm.em.fork(),
    'select id::text, amount::text from transfers where idempotency_key = ?',
    [`credit-request-${requestId}`],
  );
}

/** Moves the request's deadline into the past, as seven days passing would. */
async function age(requestId: number) {
  await h.orm.em
    .fork()
    .execute(
      `update credit_requests set expires_at = now() - interval '1 minute', created_at = now() - interval '7 days 1 minute' where id = ?`,
      [requestId],
    );
}

async function linkAdmin(services: Services, team: Seeded, slackUserId: string) {
  await services.members.link(team.owner.actor, { id: team.admin.id }, slackUserId);
}

describe('asking for credit', () => {
  it('refuses amounts and reasons a person would not mean, naming the field, and stores nothing', async () => {
    const a = await seedTeam(h.services);
    for (const [amount, message] of [
      ['0', 'amount must be greater than 0'],
      ['-5', 'amount must be greater than 0'],
      ['1.1234567', 'amount has more than 6 decimals'],
      ['lots', 'amount must be a decimal number like 50 or 12.5, not "lots"'],
    ]) {
      await expectRefusedWithoutChange(
        h.orm,
        () => h.services.creditRequests.create(a.user.actor, { amount }),
        {
          code: 'validation',
          field: 'amount',
          message,
        },
      );
    }
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.creditRequests.create(a.user.actor, { amount: '5', reason: 'a\u0000b' }),
      { code: 'validation', field: 'reason', message: 'reason must not contain a NUL character' },
    );
  });

  it('keeps six decimals exactly, and lets a member have one open request at a time', async () => {
    const a = await seedTeam(h.services);
    const request = await h.services.creditRequests.create(a.user.actor, {
      amount: '12.345678',
      reason: 'Campaign next week',
    });
    expect(request).toMatchObject({
      status: 'open',
      amount: 12_345_678n,
      reason: 'Campaign next week',
      memberId: a.user.id,
      decidedById: null,
    });
    expect(request.expiresAt.getTime() - request.createdAt.getTime()).toBe(CREDIT_REQUEST_LIFETIME_MS);
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.creditRequests.create(a.user.actor, { amount: '1' }),
      {
        code: 'conflict',
        message: `You already have an open credit request (#${request.id}); wait for its decision`,
      },
    );
  });

  it('is not for the owner, whose money is the master balance', async () => {
    const a = await seedTeam(h.services);
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.creditRequests.create(a.owner.actor, { amount: '1' }),
      {
        code: 'forbidden',
        message: "The owner's money is the master balance; there is no one to ask for credit",
      },
    );
  });

  it('is audited, asks each owner and admin in Slack by DM without an alerts channel, and expires in 7 days', async () => {
    const a = await seedTeam(h.services);
    await linkAdmin(h.services, a, 'U0ADMINDM');
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '5' });
    const posts = await outbox('credit_request.post', `credit-request-${request.id}-%`);
    expect(posts.map((p) => p.payload.target).sort()).toEqual(['U0ADMINDM', a.owner.slackUserId].sort());
    const [expiry] = await outbox('credit_request.expire', `credit-request-${request.id}-%`);
    expect(Math.round(expiry!.delay_ms)).toBe(CREDIT_REQUEST_LIFETIME_MS);
    const [audit] = await queryAll<{ action: string; details: Record<string, unknown> }>(
      h.orm.em.fork(),
      `select action, details from audit_events where team_id = ? and action like 'credit_request.%'`,
      [a.team.id],
    );
    expect(audit).toEqual({
      action: 'credit_request.created',
      details: { requestId: request.id, amount: '5000000', reason: null },
    });
  });

  it('goes to the alerts channel alone when the team has one', async () => {
    const a = await seedTeam(h.services);
    await h.services.teams.setAlerts(a.owner.actor, { channel: 'C0ALERTS', level: '1' });
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '5' });
    const posts = await outbox('credit_request.post', `credit-request-${request.id}-%`);
    expect(posts.map((p) => p.payload.target)).toEqual(['C0ALERTS']);
  });
});

describe('deciding a credit request', () => {
  it('credits the member from the master exactly once, however often it is approved', async () => {
    const a = await seedTeam(h.services, { masterBalance: '100' });
    const request = await h.services.creditRequests.create(a.user.actor, {
      amount: '30',
      reason: 'SMS burst',
    });
    const first = await h.services.creditRequests.approve(a.admin.actor, request.id);
    expect(first.changed).toBe(true);
    expect(first.request).toMatchObject({
      status: 'approved',
      decidedById: a.admin.id,
      decidedByName: 'Adam Admin',
    });
    const again = await h.services.creditRequests.approve(a.owner.actor, request.id);
    const denied = await h.services.creditRequests.deny(a.owner.actor, request.id);
    expect([again.changed, denied.changed]).toEqual([false, false]);
    expect(denied.request.status).toBe('approved');
    expect(await balances(a.team.id, a.user.id)).toEqual({ master: 70_000_000n, member: 30_000_000n });
    const transfers = await creditTransfers(request.id);
    expect(transfers).toEqual([{ id: first.request.transferId, amount: '30000000' }]);
  });

  it('two admins approving at once make one credit', async () => {
    const a = await seedTeam(h.services, { masterBalance: '100' });
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '40' });
    const results = await Promise.all([
      h.services.creditRequests.approve(a.admin.actor, request.id),
      h.services.creditRequests.approve(a.owner.actor, request.id),
      h.services.creditRequests.approve(a.admin.actor, request.id),
      h.services.creditRequests.approve(a.owner.actor, request.id),
    ]);
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    expect(await balances(a.team.id, a.user.id)).toEqual({ master: 60_000_000n, member: 40_000_000n });
    expect(await creditTransfers(request.id)).toHaveLength(1);
  });

  it('denies without moving money, updating every copy of the message and telling the requester', async () => {
    const a = await seedTeam(h.services, { masterBalance: '100' });
    await h.services.members.link(a.owner.actor, { id: a.user.id }, 'U0REQUESTER');
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '10' });
    await h.services.creditRequests.recordSlackMessage(request.id, {
      target: 'U0A',
      channel: 'D0A',
      ts: '1.1',
    });
    await h.services.creditRequests.recordSlackMessage(request.id, {
      target: 'U0B',
      channel: 'D0B',
      ts: '2.2',
    });
    // The same copy recorded twice (a retried job) is one copy.
    await h.services.creditRequests.recordSlackMessage(request.id, {
      target: 'U0B',
      channel: 'D0B',
      ts: '2.2',
    });
    const { request: denied, changed } = await h.services.creditRequests.deny(a.owner.actor, request.id);
    expect(changed).toBe(true);
    expect(denied).toMatchObject({ status: 'denied', decidedByName: 'Olivia Owner', transferId: null });
    expect(await balances(a.team.id, a.user.id)).toEqual({ master: 100_000_000n, member: 0n });
    const posts = await outbox('slack.post', `credit-request-${request.id}-%`);
    const updates = posts.filter((p) => p.payload.ts);
    expect(updates.map((p) => [p.payload.channel, p.payload.ts])).toEqual([
      ['D0A', '1.1'],
      ['D0B', '2.2'],
    ]);
    for (const update of updates) {
      expect(JSON.stringify(update.payload.blocks)).toContain('*denied* by Olivia Owner');
      expect(JSON.stringify(update.payload.blocks)).not.toContain('"actions"');
    }
    const dm = posts.find((p) => p.payload.channel === 'U0REQUESTER');
    expect(dm?.payload.text).toContain('was denied by Olivia Owner');
  });

  it('is only for the owner and admins, and not for the admin who asked', async () => {
    const a = await seedTeam(h.services, { masterBalance: '100' });
    const { member: other } = await h.services.members.create(a.owner.actor, { name: 'Otto Other' });
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '10' });
    for (const actor of [a.user.actor, memberActor(other.id, 'api')]) {
      await expectRefusedWithoutChange(h.orm, () => h.services.creditRequests.approve(actor, request.id), {
        code: 'forbidden',
        message: 'Only the owner and admins can approve or deny credit requests',
      });
    }
    const b = await seedTeam(h.services);
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.creditRequests.approve(b.owner.actor, request.id),
      {
        code: 'not_found',
      },
    );
    const own = await h.services.creditRequests.create(a.admin.actor, { amount: '1' });
    await expectRefusedWithoutChange(h.orm, () => h.services.creditRequests.approve(a.admin.actor, own.id), {
      code: 'forbidden',
      message: 'You asked for this credit; another owner or admin must decide it',
    });
    expect((await h.services.creditRequests.approve(a.owner.actor, own.id)).changed).toBe(true);
  });

  it('refuses when the master balance is too low, and the request stays open to approve later', async () => {
    const a = await seedTeam(h.services, { masterBalance: '20' });
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '25' });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.creditRequests.approve(a.owner.actor, request.id),
      {
        code: 'insufficient_funds',
        message: `The master balance is €20.00, not enough for €25.00: request #${request.id} stays open; top up the master balance and approve it again`,
      },
    );
    expect((await h.services.creditRequests.get(a.owner.actor, request.id)).status).toBe('open');
    await h.services.ledger.topUp(operator, { teamId: a.team.id, amount: '10' });
    expect((await h.services.creditRequests.approve(a.owner.actor, request.id)).changed).toBe(true);
    expect(await balances(a.team.id, a.user.id)).toEqual({ master: 5_000_000n, member: 25_000_000n });
  });
});

describe('a credit request after seven days', () => {
  it('shows as expired, refuses decisions, updates its messages and tells the requester', async () => {
    const a = await seedTeam(h.services, { masterBalance: '100' });
    await h.services.members.link(a.owner.actor, { id: a.user.id }, 'U0LATE');
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '10' });
    await h.services.creditRequests.recordSlackMessage(request.id, {
      target: 'C0X',
      channel: 'C0X',
      ts: '9.9',
    });
    await age(request.id);
    expect(await h.services.creditRequests.list(a.owner.actor)).toEqual([]);
    const [listed] = await h.services.creditRequests.list(a.owner.actor, { status: 'expired' });
    expect(listed).toMatchObject({ id: request.id, status: 'expired' });
    await expect(h.services.creditRequests.approve(a.owner.actor, request.id)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(
        new RegExp(`^Credit request #${request.id} expired on .* UTC; nothing changed$`),
      ),
    });
    expect(await balances(a.team.id, a.user.id)).toEqual({ master: 100_000_000n, member: 0n });
    const posts = await outbox('slack.post', `credit-request-${request.id}-%`);
    expect(posts.find((p) => p.payload.ts === '9.9')?.payload.text).toContain('expired');
    expect(posts.find((p) => p.payload.channel === 'U0LATE')?.payload.text).toContain(
      'expired after seven days',
    );
    // The member may ask again.
    expect((await h.services.creditRequests.create(a.user.actor, { amount: '10' })).status).toBe('open');
  });

  it('is expired by its job on time, and the job does nothing to a decided request', async () => {
    const a = await seedTeam(h.services, { masterBalance: '100' });
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '10' });
    expect(await h.services.creditRequests.expire(request.id)).toBe('not due');
    await age(request.id);
    expect(await h.services.creditRequests.expire(request.id)).toBe('expired');
    expect(await h.services.creditRequests.expire(request.id)).toBe('not due');
    const audit = await queryAll<{ action: string }>(
      h.orm.em.fork(),
      `select action from audit_events where team_id = ? and action like 'credit_request.%' order by id`,
      [a.team.id],
    );
    expect(audit.map((e) => e.action)).toEqual(['credit_request.created', 'credit_request.expired']);

    const decided = await h.services.creditRequests.create(a.user.actor, { amount: '10' });
    await h.services.creditRequests.deny(a.owner.actor, decided.id);
    await age(decided.id);
    expect(await h.services.creditRequests.expire(decided.id)).toBe('not due');
    expect((await h.services.creditRequests.get(a.user.actor, decided.id)).status).toBe('denied');
  });
});

describe('listing credit requests', () => {
  it('shows a user only its own, and the owner and admins every one', async () => {
    const a = await seedTeam(h.services);
    const { member: other } = await h.services.members.create(a.owner.actor, { name: 'Otto Other' });
    const otherActor = memberActor(other.id, 'api');
    const mine = await h.services.creditRequests.create(a.user.actor, { amount: '1' });
    const theirs = await h.services.creditRequests.create(otherActor, { amount: '2' });
    expect((await h.services.creditRequests.list(a.user.actor)).map((r) => r.id)).toEqual([mine.id]);
    expect((await h.services.creditRequests.list(a.admin.actor)).map((r) => r.id)).toEqual([
      theirs.id,
      mine.id,
    ]);
    await expect(h.services.creditRequests.get(a.user.actor, theirs.id)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await h.services.creditRequests.get(a.user.actor, mine.id)).id).toBe(mine.id);
    await expect(
      h.services.creditRequests.list(a.owner.actor, { status: 'nope' as never }),
    ).rejects.toMatchObject({
      code: 'validation',
      field: 'status',
    });
  });
});
