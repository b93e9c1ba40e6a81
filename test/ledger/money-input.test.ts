import { beforeAll, describe, expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { expectRefusedWithoutChange } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

/** Refused calls change nothing, so one team serves every case of this file. */
let t: Awaited<ReturnType<typeof seedTeam>> & { closedId: number; invitedId: number };
beforeAll(async () => {
  const team = await seedTeam(h.services, { masterBalance: '100' });
  await h.services.ledger.credit(team.owner.actor, { member: { id: team.user.id }, amount: '10' });
  const closed = await h.services.members.create(team.owner.actor, {
    name: 'Gone Dept',
    email: 'gone@example.com',
  });
  await h.services.members.close(team.owner.actor, { id: closed.member.id });
  const invited = await h.services.invitations.invite(team.owner.actor, { email: 'invited@example.com' });
  t = { ...team, closedId: closed.member.id, invitedId: invited.memberId };
});

const BAD_AMOUNTS: [unknown, string][] = [
  [0, 'amount must be greater than 0'],
  ['0.000000', 'amount must be greater than 0'],
  [-1, 'amount must be greater than 0'],
  ['-0.5', 'amount must be greater than 0'],
  ['0.0000001', 'amount has more than 6 decimals'],
  [0.1 + 0.2, 'amount has more than 6 decimals'],
  ['abc', 'amount must be a decimal number like 50 or 12.5, not "abc"'],
  ['1,50', 'amount must be a decimal number like 50 or 12.5, not "1,50"'],
  ['1e3', 'amount must be a decimal number like 50 or 12.5, not "1e3"'],
  [Number.NaN, 'amount must be a number'],
  [Number.POSITIVE_INFINITY, 'amount must be a number'],
  [1e21, 'amount has more than 6 decimals or is too large'],
  ['1000000000000.000001', 'amount is too large'],
  ['', 'amount is required'],
  [null, 'amount is required'],
  [{ value: 5 }, 'amount is required'],
];

describe.each(['credit', 'debit'] as const)('%s refuses bad input and changes nothing', (operation) => {
  const move = (input: Record<string, unknown>) =>
    h.services.ledger[operation](t.admin.actor, {
      member: { id: t.user.id },
      amount: '1',
      ...input,
    } as never);

  it.each(BAD_AMOUNTS)('amount %j', async (amount, message) => {
    await expectRefusedWithoutChange(h.orm, () => move({ amount }), {
      code: 'validation',
      field: 'amount',
      message,
    });
  });

  it('an unknown member, by id, email or Slack user', async () => {
    for (const [member, name] of [
      [{ id: 888_888 }, '#888888'],
      [{ email: 'nobody@example.com' }, 'nobody@example.com'],
      [{ slackUserId: 'UNOBODY' }, '<@UNOBODY>'],
    ] as const) {
      await expectRefusedWithoutChange(h.orm, () => move({ member }), {
        code: 'not_found',
        message: `There is no member ${name} in this team`,
      });
    }
  });

  it('a closed or invited member', async () => {
    await expectRefusedWithoutChange(h.orm, () => move({ member: { id: t.closedId } }), {
      code: 'conflict',
      message: 'Gone Dept is closed, so no money can move to or from it',
    });
    await expectRefusedWithoutChange(h.orm, () => move({ member: { id: t.invitedId } }), {
      code: 'conflict',
      message: 'invited is invited, so no money can move to or from it',
    });
  });

  it('the owner, whose money is the master balance', async () => {
    await expectRefusedWithoutChange(h.orm, () => move({ member: { id: t.owner.id } }), {
      code: 'forbidden',
      message: "The owner's money is the master balance; credit or debit another member",
    });
  });

  it('a reason that is too long, and a malformed idempotency key', async () => {
    await expectRefusedWithoutChange(h.orm, () => move({ reason: 'r'.repeat(501) }), {
      code: 'validation',
      field: 'reason',
      message: 'reason must be at most 500 characters',
    });
    for (const idempotencyKey of ['has space', 'k'.repeat(201), 'naïve']) {
      await expectRefusedWithoutChange(h.orm, () => move({ idempotencyKey }), {
        code: 'validation',
        field: 'idempotency key',
      });
    }
  });
});

describe('more than the balance', () => {
  it('refuses to credit more than the master holds, naming both amounts', async () => {
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.ledger.credit(t.owner.actor, { member: { id: t.user.id }, amount: '90.01' }),
      { code: 'insufficient_funds', message: 'The master balance is €90.00, not enough for €90.01' },
    );
  });

  it('refuses to debit more than the member holds, and a member holding nothing', async () => {
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.ledger.debit(t.owner.actor, { member: { id: t.user.id }, amount: '10.000001' }),
      { code: 'insufficient_funds', message: "Uma User's balance is €10.00, not enough for €10.000001" },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.ledger.debit(t.owner.actor, { member: { id: t.admin.id }, amount: '0.01' }),
      { code: 'insufficient_funds', message: "Adam Admin's balance is €0.00, not enough for €0.01" },
    );
  });

  it('moves exactly the whole balance', async () => {
    const debited = await h.services.ledger.debit(t.owner.actor, {
      member: { id: t.user.id },
      amount: '10.000000',
    });
    expect(debited.memberBalance).toBe(0n);
    await h.services.ledger.credit(t.owner.actor, { member: { id: t.user.id }, amount: '10' });
  });
});

describe('master top-up and history input', () => {
  it.each(BAD_AMOUNTS)('top-up refuses the amount %j', async (amount, message) => {
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.ledger.topUp(operator, { teamId: t.team.id, amount: amount as string }),
      { code: 'validation', field: 'amount', message },
    );
  });

  it('top-up refuses an unknown team and an overlong reference', async () => {
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.ledger.topUp(operator, { teamId: 4_040_404, amount: '1' }),
      {
        code: 'not_found',
        message: 'Team 4040404 does not exist',
      },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.ledger.topUp(operator, { teamId: t.team.id, amount: '1', reference: 'R'.repeat(201) }),
      { code: 'validation', field: 'reference' },
    );
  });

  it('history refuses a malformed cursor or limit, and an unknown member', async () => {
    await expect(h.services.ledger.history(t.owner.actor, { before: 'yesterday' })).rejects.toMatchObject({
      code: 'validation',
      field: 'before',
      message: 'before must be a transfer id',
    });
    await expect(h.services.ledger.history(t.owner.actor, { member: { id: 888_888 } })).rejects.toMatchObject(
      {
        code: 'not_found',
      },
    );
    await expect(h.services.ledger.history(t.owner.actor, { limit: Number.NaN })).rejects.toMatchObject({
      code: 'validation',
      field: 'limit',
      message: 'limit must be a whole number',
    });
  });

  it('history pages with its cursor', async () => {
    const all = await h.services.ledger.history(t.owner.actor, { member: { id: t.user.id } });
    const [newest, ...rest] = all;
    expect(
      await h.services.ledger.history(t.owner.actor, { member: { id: t.user.id }, before: newest!.id }),
    ).toEqual(rest);
  });
});
