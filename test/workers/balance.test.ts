import { describe, expect, it } from 'vitest';
import { handleBalanceLow } from '../../src/ledger/balance-low.ts';
import { formatMoney } from '../../src/shared/money.ts';
import { ACTIONS } from '../../src/slack/ids.ts';
import { clearOfUtcMidnight } from '../helpers/clock.ts';
import type { SlackCall } from '../helpers/fake-slack.ts';
import { seedTeam } from '../helpers/services.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually, silentLogger, sleep } from '../helpers/workers.ts';

const h = useWorkerHarness();

let channelCounter = 0;

/**
 * How long to wait for a Slack post that goes through the outbox, the relay, the balance queue,
 * the outbox again and the Slack queue: well under a second on a quiet machine, seconds under load.
 */
const POSTED_WITHIN_MS = 20_000;

/** A seeded team whose alerts go to a channel of its own, and a user with `balance` on it. */
async function teamWithUser(options: { balance: string; masterBalance?: string; level?: string }) {
  const seeded = await seedTeam(h.services, { masterBalance: options.masterBalance ?? '1000' });
  channelCounter += 1;
  const channel = `CALERTS${process.pid}X${channelCounter}`;
  await h.services.teams.setAlerts(seeded.owner.actor, { channel, level: options.level });
  await h.services.ledger.credit(seeded.admin.actor, {
    member: { id: seeded.user.id },
    amount: options.balance,
  });
  return { ...seeded, channel };
}

async function transfers(memberId: number, kind: string) {
  const { rows } = await h.sql.query<{
    id: string;
    amount: string;
    created_at: Date;
    member_balance_after: string;
  }>(
    `select id, amount, created_at, member_balance_after from transfers
      where kind = $2 and (to_member_id = $1 or from_member_id = $1) order by id`,
    [memberId, kind],
  );
  return rows;
}

async function balances(teamId: number, memberId: number) {
  const { rows } = await h.sql.query<{ master: string; member: string }>(
    `select t.master_balance as master, m.balance as member from teams t join members m on m.team_id = t.id
      where t.id = $1 and m.id = $2`,
    [teamId, memberId],
  );
  return rows[0]!;
}

function postsTo(channel: string, text: RegExp): SlackCall[] {
  return h.slack
    .callsTo('chat.postMessage')
    .filter((call) => call.args.channel === channel && text.test(call.args.text));
}

function buttons(call: SlackCall) {
  return (call.args.blocks as { elements?: { type: string; action_id: string; value: string }[] }[])
    .flatMap((block) => block.elements ?? [])
    .filter((element) => element.type === 'button')
    .map((button) => [button.action_id, button.value]);
}

describe('auto-recharge', () => {
  it('recharges exactly once, promptly, when 64 concurrent debits cross the threshold', async () => {
    const { team, admin, user, channel } = await teamWithUser({ balance: '10' });
    await h.services.autoRecharge.set(admin.actor, {
      member: { id: user.id },
      threshold: '5',
      amount: '20',
      dailyCap: '100',
    });
    await Promise.all(
      Array.from({ length: 64 }, () =>
        h.services.ledger.debit(admin.actor, { member: { id: user.id }, amount: '0.1' }),
      ),
    );
    const [recharge] = await eventually(async () => {
      const found = await transfers(user.id, 'auto_recharge');
      return found.length > 0 ? found : undefined;
    });
    const { rows: crossing } = await h.sql.query<{ created_at: Date }>(
      `select t.created_at from transfers t
        where t.from_member_id = $1 and t.kind = 'debit' and t.member_balance_after < 5000000
        order by t.id limit 1`,
      [user.id],
    );
    // Woken by the commit, not left for a later sweep: about 0.2 s on a quiet machine, but more
    // than a second on a loaded CI machine (seen: 1.5 s at load 8), so the bound leaves room.
    expect(recharge!.created_at.getTime() - crossing[0]!.created_at.getTime()).toBeLessThan(10_000);
    await sleep(1_000);
    expect(await transfers(user.id, 'auto_recharge')).toHaveLength(1);
    expect(recharge!.amount).toBe('20000000');
    // 10 − 64 × 0.1 + 20, and the master paid 20 after getting the 6.4 back.
    expect(await balances(team.id, user.id)).toEqual({
      member: '23600000',
      master: String(990_000_000 + 6_400_000 - 20_000_000),
    });
    const notes = await eventually(() => {
      const found = postsTo(channel, /Auto-recharge/);
      return found.length > 0 ? found : undefined;
    });
    expect(notes).toHaveLength(1);
    // The balance right after the recharge: the debits may have gone on around it.
    const after = formatMoney(BigInt(recharge!.member_balance_after), 'EUR');
    expect(notes[0]!.args.text).toBe(`Auto-recharge: €20.00 moved to Uma User; balance now ${after}.`);
    expect(postsTo(channel, /Low balance/)).toHaveLength(0);
  });

  it('moves nothing when the master cannot pay, and tells the owner and the alerts channel', async () => {
    const { team, owner, admin, user, channel } = await teamWithUser({ balance: '10', masterBalance: '30' });
    await h.services.autoRecharge.set(admin.actor, { member: { id: user.id }, threshold: '5', amount: '50' });
    await h.services.ledger.debit(admin.actor, { member: { id: user.id }, amount: '6' });
    const toChannel = await h.slack.waitFor(
      'chat.postMessage',
      (call) => call.args.channel === channel && /failed/.test(call.args.text),
      POSTED_WITHIN_MS,
    );
    const toOwner = await h.slack.waitFor(
      'chat.postMessage',
      (call) => call.args.channel === owner.slackUserId && /failed/.test(call.args.text),
      POSTED_WITHIN_MS,
    );
    for (const message of [toChannel, toOwner]) {
      expect(message.args.text).toContain('Auto-recharge of €50.00 for Uma User');
      expect(message.args.text).toContain('the master balance is €26.00. Nothing was moved');
      expect(buttons(message)).toEqual([[ACTIONS.topUp, String(user.id)]]);
    }
    await sleep(500);
    expect(await transfers(user.id, 'auto_recharge')).toHaveLength(0);
    expect(await balances(team.id, user.id)).toEqual({ member: '4000000', master: '26000000' });
    expect(postsTo(channel, /failed/)).toHaveLength(1);
  });

  it('stops at the daily cap and alerts instead', async () => {
    // The cap counts per UTC day: both recharges must fall on the same one.
    await clearOfUtcMidnight(30_000);
    const { admin, user, channel } = await teamWithUser({ balance: '6' });
    await h.services.autoRecharge.set(admin.actor, {
      member: { id: user.id },
      threshold: '5',
      amount: '10',
      dailyCap: '15',
    });
    await h.services.ledger.debit(admin.actor, { member: { id: user.id }, amount: '2' });
    await eventually(async () => (await transfers(user.id, 'auto_recharge')).length === 1);
    await h.services.ledger.debit(admin.actor, { member: { id: user.id }, amount: '10' });
    const alert = await h.slack.waitFor(
      'chat.postMessage',
      (call) => call.args.channel === channel && /Low balance/.test(call.args.text),
      POSTED_WITHIN_MS,
    );
    expect(alert.args.text).toBe('Low balance: Uma User has €4.00, below €5.00.');
    expect(JSON.stringify(alert.args.blocks)).toContain('daily cap');
    await sleep(500);
    expect(await transfers(user.id, 'auto_recharge')).toHaveLength(1);
  }, 90_000);

  it('does its work once when the same job is delivered twice', async () => {
    const { team, user } = await teamWithUser({ balance: '3' });
    await h.workers.stop();
    try {
      await h.sql.query(
        `insert into auto_recharge_rules (member_id, threshold, amount, created_at, updated_at)
         values ($1, 5000000, 7000000, now(), now())`,
        [user.id],
      );
      const payload = { teamId: team.id, memberId: user.id, transferId: null };
      const outcomes = await Promise.all([
        handleBalanceLow(h.orm, silentLogger, payload, 'member.balance_low.ktwice'),
        handleBalanceLow(h.orm, silentLogger, payload, 'member.balance_low.ktwice'),
      ]);
      expect(outcomes.sort()).toEqual(['already handled', 'recharged']);
      expect(await handleBalanceLow(h.orm, silentLogger, payload, 'member.balance_low.ktwice')).toBe(
        'already handled',
      );
      expect(await transfers(user.id, 'auto_recharge')).toHaveLength(1);
      expect((await balances(team.id, user.id)).member).toBe('10000000');
    } finally {
      await restartWorkers();
    }
  });
});

describe('low-balance alerts', () => {
  it('alerts once per crossing, with a Top up button, and again after the balance rose above the level', async () => {
    const { admin, user, channel } = await teamWithUser({ balance: '3', level: '1' });
    const debit = (amount: string) =>
      h.services.ledger.debit(admin.actor, { member: { id: user.id }, amount });

    await debit('2.5');
    const first = await h.slack.waitFor(
      'chat.postMessage',
      (call) => call.args.channel === channel,
      POSTED_WITHIN_MS,
    );
    expect(first.args.text).toBe('Low balance: Uma User has €0.50, below €1.00.');
    expect(buttons(first)).toEqual([[ACTIONS.topUp, String(user.id)]]);

    await debit('0.1');
    await debit('0.1');
    await sleep(1_000);
    expect(postsTo(channel, /Low balance/)).toHaveLength(1);

    await h.services.ledger.credit(admin.actor, { member: { id: user.id }, amount: '5' });
    await debit('5');
    await eventually(() => postsTo(channel, /Low balance/).length === 2, { message: 'second alert' });
    expect(postsTo(channel, /Low balance/)[1]!.args.text).toBe(
      'Low balance: Uma User has €0.30, below €1.00.',
    );
    await sleep(500);
    expect(postsTo(channel, /Low balance/)).toHaveLength(2);
  });

  it('says nothing when a credit lifted the balance before the alert was due', async () => {
    const { team, user, channel } = await teamWithUser({ balance: '3', level: '1' });
    const payload = { teamId: team.id, memberId: user.id, transferId: null };
    expect(await handleBalanceLow(h.orm, silentLogger, payload, 'member.balance_low.klate')).toBe(
      'recovered',
    );
    await sleep(300);
    expect(postsTo(channel, /Low balance/)).toHaveLength(0);
  });
});

async function restartWorkers() {
  const { startWorkers } = await import('../../workers/index.ts');
  h.workers = startWorkers(
    { config: h.config, logger: silentLogger, orm: h.orm, services: h.services, queues: h.queues },
    { databaseUrl: h.db.url, relay: { pollIntervalMs: 500 } },
  );
  await h.workers.ready();
}
