import { beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.ts';
import { type Actor, memberActor } from '../../src/shared/actor.ts';
import {
  type CallerRole,
  everyMember,
  expectOutcome,
  managersOnly,
  type Outcome,
  ROLES,
} from '../helpers/authorization.ts';
import { allBatches } from '../helpers/batches.ts';
import { expectRefusedWithoutChange } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

/**
 * The authorization matrix of messaging, prices, statistics, charts, digests and the audit trail
 * (matrix.test.ts has the team, member, money, invitation and approval services). A refused call
 * changes nothing; an allowed one is checked for what its caller would notice: the message in
 * the log and the balance it cost, the digest setting, and only what the caller may see.
 */
const h = useServices();

type Seeded = Awaited<ReturnType<typeof seedTeam>>;

interface Fixture {
  services: Services;
  a: Seeded;
  /** A user of team A, with a message of its own. */
  target: number;
  /** Tara's message, and the user's. */
  targetMessage: string;
  userMessage: string;
}

const OWN_TEXT = 'Matrix check';

interface Allowed {
  f: Fixture;
  role: CallerRole;
  actor: Actor;
  /** The caller's own member id. */
  self: number;
}

interface Operation {
  name: string;
  /** Changes nothing when allowed: the whole database is compared before and after. */
  readOnly?: boolean;
  call: (s: Services, actor: Actor, f: Fixture) => Promise<unknown>;
  expected: Record<CallerRole, Outcome>;
  /**
   * What an allowed call (or an outsider's call on its own team) did, as its caller would
   * notice. `before` is what `observe` saw before the call.
   */
  check: (result: never, context: Allowed, before: unknown) => Promise<void> | void;
  /** Read before the call, for `check`. */
  observe?: (context: Allowed) => Promise<unknown>;
}

let fixture: Fixture;
/** The outsider is the owner of another team: the most an outsider can be. */
let outsider: Seeded;

beforeAll(async () => {
  const services = h.services;
  const a = await seedTeam(services, { masterBalance: '100' });
  const owner = a.owner.actor;
  const target = (await services.members.create(owner, { name: 'Tara Target' })).member.id;
  // The owner's money is the master balance; the others need some of their own to send.
  for (const id of [a.admin.id, a.user.id, target]) {
    await services.ledger.credit(owner, { member: { id }, amount: '5' });
  }
  const sent = (actor: Actor, message: string) =>
    services.messaging.send(actor, { to: '+4917012345678', message }).then((r) => r.messages[0]!.id);
  const targetMessage = await sent(memberActor(target, 'api'), 'Hello from Tara');
  const userMessage = await sent(a.user.actor, 'Hello from Uma');
  fixture = { services, a, target, targetMessage, userMessage };
  outsider = await seedTeam(services, { masterBalance: '100' });
  // Team A's latest chart, as the worker records it after an upload.
  const days = { from: '2026-11-01', to: '2026-11-30' };
  const request = {
    teamId: a.team.id,
    memberId: null,
    channel: 'C0CHART',
    reason: 'stats',
    ...days,
  } as const;
  await services.charts.uploaded(request, { title: 'Team A chart', ...days }, 'F0TEAMA', 'matrix-chart');
});

function callerOf(role: CallerRole, f: Fixture): { actor: Actor; self: number } {
  const seeded = role === 'outsider' ? outsider.owner : f.a[role];
  return { actor: seeded.actor, self: seeded.id };
}

/** The money the caller's messages are paid from: an owner's is the master balance. */
async function ownBalance({ actor, self, role, f }: Allowed) {
  if (role === 'owner' || role === 'outsider') {
    const team = role === 'owner' ? f.a.team : outsider.team;
    return (await h.services.teams.get(actor, team.id)).masterBalance;
  }
  return (await h.services.members.show(actor, { id: self })).balance;
}

/** The ids of the messages a caller sees in its team's log. */
const idsOf = (page: { items: { id: string; memberId: number }[] }) => page.items.map((m) => m.id);

const OPERATIONS: Operation[] = [
  {
    name: 'messaging.send',
    call: (s, actor) => s.messaging.send(actor, { to: '+4917012345679', message: OWN_TEXT }),
    // Every active member sends from its own sub-account; an outsider's goes from its own team's.
    expected: everyMember('own team'),
    observe: ownBalance,
    async check(result: { messages: { id: string }[]; balance: bigint }, context, before) {
      const { actor, self } = context;
      const cost = (await h.services.messaging.getMessage(actor, result.messages[0]!.id)) as {
        memberId: number;
        message: string;
        cost: bigint;
      };
      expect(cost).toMatchObject({ memberId: self, message: OWN_TEXT });
      expect(cost.cost).toBeGreaterThan(0n);
      expect(await ownBalance(context)).toBe((before as bigint) - cost.cost);
      expect(result.balance).toBe((before as bigint) - cost.cost);
    },
  },
  {
    name: 'messaging.searchLog (team A)',
    readOnly: true,
    call: (s, actor, f) => s.messaging.searchLog(actor, { teamId: f.a.team.id }),
    expected: everyMember('forbidden'),
    check(page: { items: { id: string; memberId: number }[] }, { f, role }) {
      // A user sees its own messages only; managers see the whole team's.
      const senders = new Set(page.items.map((m) => m.memberId));
      if (role === 'user') expect([...senders]).toEqual([f.a.user.id]);
      else expect([...senders]).toEqual(expect.arrayContaining([f.target, f.a.user.id]));
      expect(idsOf(page)).toContain(f.userMessage);
    },
  },
  {
    name: 'messaging.searchLog (another member)',
    readOnly: true,
    call: (s, actor, f) => s.messaging.searchLog(actor, { member: { id: f.target } }),
    expected: managersOnly('not_found'),
    check(page: { items: { id: string; memberId: number }[] }, { f }) {
      expect(idsOf(page)).toEqual([f.targetMessage]);
    },
  },
  {
    name: 'messaging.searchLog (own)',
    readOnly: true,
    call: (s, actor) => s.messaging.searchLog(actor, { contains: 'Hello from' }),
    expected: everyMember('own team'),
    check(page: { items: { id: string; memberId: number }[] }, { f, role }) {
      const expected = { owner: [f.userMessage, f.targetMessage], admin: [f.userMessage, f.targetMessage] };
      if (role === 'user') expect(idsOf(page)).toEqual([f.userMessage]);
      else if (role === 'outsider') expect(idsOf(page)).toEqual([]);
      else expect(idsOf(page).sort()).toEqual(expected[role].sort());
    },
  },
  {
    name: 'messaging.statement (another member)',
    readOnly: true,
    call: async (s, actor, f) =>
      allBatches((await s.messaging.statement(actor, { member: { id: f.target } })).messages),
    expected: managersOnly('not_found'),
    check(messages: { id: string }[], { f }) {
      expect(messages.map((m) => m.id)).toEqual([f.targetMessage]);
    },
  },
  {
    name: 'messaging.statement (own)',
    readOnly: true,
    call: async (s, actor) =>
      allBatches((await s.messaging.statement(actor, { contains: 'Hello from' })).messages),
    expected: everyMember('own team'),
    check(messages: { id: string }[], { f, role }) {
      const ids = messages.map((m) => m.id).sort();
      if (role === 'user') expect(ids).toEqual([f.userMessage]);
      else if (role === 'outsider') expect(ids).toEqual([]);
      else expect(ids).toEqual([f.userMessage, f.targetMessage].sort());
    },
  },
  {
    name: 'messaging.getMessage (another member’s)',
    readOnly: true,
    call: (s, actor, f) => s.messaging.getMessage(actor, f.targetMessage),
    // Not forbidden: a user is not told that a message it may not read exists.
    expected: { owner: 'allowed', admin: 'allowed', user: 'not_found', outsider: 'not_found' },
    check(message: { id: string; memberId: number; message: string }, { f }) {
      expect(message).toMatchObject({ id: f.targetMessage, memberId: f.target, message: 'Hello from Tara' });
    },
  },
  {
    name: 'messaging.getMessage (a user’s own)',
    readOnly: true,
    call: (s, actor, f) => s.messaging.getMessage(actor, f.userMessage),
    expected: everyMember('not_found'),
    check(message: { id: string; message: string }, { f }) {
      expect(message).toMatchObject({ id: f.userMessage, memberId: f.a.user.id, message: 'Hello from Uma' });
    },
  },
  {
    name: 'messaging.setPrice',
    call: (s, actor, f) => s.messaging.setPrice(actor, { teamId: f.a.team.id, prefix: '44', price: '0.01' }),
    // Prices are the operator's: no member sets them, not even the owner.
    expected: { owner: 'forbidden', admin: 'forbidden', user: 'forbidden', outsider: 'forbidden' },
    check() {},
  },
  {
    name: 'messaging.listPrices',
    readOnly: true,
    call: (s, actor, f) => s.messaging.listPrices(actor, { teamId: f.a.team.id }),
    expected: everyMember('forbidden'),
    check(list: { teamId: number; currency: string }, { f }) {
      expect(list).toMatchObject({ teamId: f.a.team.id, currency: 'EUR' });
    },
  },
  {
    name: 'stats.query (team A)',
    readOnly: true,
    call: (s, actor, f) => s.stats.query(actor, { teamId: f.a.team.id }),
    expected: everyMember('forbidden'),
    check(view: { team: unknown; members: { memberId: number }[] }, { f, role }) {
      // A user gets its own figures and no team total; managers get every member's.
      if (role === 'user') {
        expect(view.team).toBeNull();
        expect(view.members.map((m) => m.memberId)).toEqual([f.a.user.id]);
      } else {
        expect(view.team).toMatchObject({ messages: expect.any(Number) });
        expect(view.members.map((m) => m.memberId)).toEqual(expect.arrayContaining([f.target, f.a.user.id]));
      }
    },
  },
  {
    name: 'stats.query (another member)',
    readOnly: true,
    call: (s, actor, f) => s.stats.query(actor, { member: { id: f.target } }),
    expected: managersOnly('not_found'),
    check(view: { team: unknown; members: { memberId: number; messages: number }[] }, { f }) {
      expect(view.members).toEqual([expect.objectContaining({ memberId: f.target, messages: 1 })]);
    },
  },
  {
    name: 'charts.request (team)',
    call: (s, actor) => s.charts.request(actor, { period: '7d' }, 'C0CHART'),
    // A user's chart is of its own figures, as its numbers are; an outsider's of its own team.
    expected: everyMember('own team'),
    check(request: { teamId: number; memberId: number | null; channel: string }, { f, role, self }) {
      const teamId = role === 'outsider' ? outsider.team.id : f.a.team.id;
      expect(request).toMatchObject({ teamId, channel: 'C0CHART', memberId: role === 'user' ? self : null });
    },
  },
  {
    name: 'charts.request (another member)',
    call: (s, actor, f) => s.charts.request(actor, { member: { id: f.target } }, 'C0CHART'),
    expected: managersOnly('not_found'),
    check(request: { teamId: number; memberId: number | null }, { f }) {
      expect(request).toMatchObject({ teamId: f.a.team.id, memberId: f.target });
    },
  },
  {
    name: 'charts.latest',
    readOnly: true,
    call: (s, actor) => s.charts.latest(actor),
    // The team's chart shows every member's figures: a user's App Home has none.
    expected: everyMember('own team'),
    check(latest: { slackFileId: string } | null, { role }) {
      if (role === 'owner' || role === 'admin') expect(latest).toMatchObject({ slackFileId: 'F0TEAMA' });
      else expect(latest).toBeNull();
    },
  },
  {
    name: 'digests.configure',
    call: (s, actor) =>
      s.digests.configure(actor, {
        channel: 'C0DIGEST',
        frequency: 'weekly',
        time: '08:30',
        timezone: 'UTC',
      }),
    expected: managersOnly('own team'),
    async check(_result, { actor }) {
      expect(await h.services.digests.settings(actor)).toMatchObject({
        channel: 'C0DIGEST',
        frequency: 'weekly',
        time: '08:30',
      });
      const [event] = await h.services.audit.list(actor, { limit: 1 });
      expect(event).toMatchObject({ action: 'team.digest' });
    },
  },
  {
    name: 'digests.settings',
    readOnly: true,
    call: (s, actor) => s.digests.settings(actor),
    expected: everyMember('own team'),
    check(settings: { teamId: number }, { f, role }) {
      expect(settings.teamId).toBe(role === 'outsider' ? outsider.team.id : f.a.team.id);
    },
  },
  {
    name: 'audit.list (own team)',
    readOnly: true,
    call: (s, actor) => s.audit.list(actor, { limit: 500 }),
    expected: managersOnly('own team'),
    check(events: { action: string; subjectMemberId: number | null }[], { f, role }) {
      // Only the caller's team's trail: team A's shows Tara created; the outsider's does not.
      const taraCreated = events.some((e) => e.action === 'member.created' && e.subjectMemberId === f.target);
      expect(events.length).toBeGreaterThan(0);
      expect(taraCreated).toBe(role !== 'outsider');
    },
  },
];

const CASES = OPERATIONS.flatMap((operation) =>
  ROLES.map((role) => ({ ...operation, role, outcome: operation.expected[role] })),
);

describe('authorization matrix: messaging, prices, statistics, digests, audit', () => {
  it.each(CASES)('$name as $role: $outcome', async ({ call, role, outcome, readOnly, check, observe }) => {
    const f = fixture;
    const { actor, self } = callerOf(role, f);
    await expectOutcome(h.orm, {
      outcome,
      role,
      teamId: f.a.team.id,
      readOnly,
      context: { f, role, actor, self } satisfies Allowed,
      attempt: () => call(f.services, actor, f),
      observe,
      check,
    });
  });

  it('covers every public operation of these services', () => {
    const covered = new Set(OPERATIONS.map((o) => o.name.split(' ')[0]));
    const services = h.services as unknown as Record<string, object>;
    const methods = ['messaging', 'stats', 'charts', 'digests', 'audit'].flatMap((service) =>
      Object.getOwnPropertyNames(Object.getPrototypeOf(services[service]))
        .filter((method) => method !== 'constructor')
        .map((method) => `${service}.${method}`),
    );
    // Called by workers, the provider's delivery reports or the runtime, never by a member
    // (charts.draw reads nothing: it draws the figures it is given).
    const notMemberCalls = new Set([
      'messaging.dispatch',
      'messaging.checkStatus',
      'messaging.recordProviderReport',
      'digests.syncSchedule',
      'digests.send',
      'charts.render',
      'charts.wasUploaded',
      'charts.uploaded',
      'charts.draw',
      'charts.close',
    ]);
    expect(methods.filter((m) => !covered.has(m) && !notMemberCalls.has(m))).toEqual([]);
  });

  it('a disabled member is refused every one of them, and nothing changes', async () => {
    const { a } = fixture;
    const { member } = await h.services.members.create(a.owner.actor, { name: 'Dora Disabled' });
    await h.services.members.disable(a.owner.actor, { id: member.id });
    for (const { call } of OPERATIONS) {
      await expectRefusedWithoutChange(
        h.orm,
        () => call(h.services, memberActor(member.id, 'api'), fixture),
        // Sending and prices have refusals of their own words; all are `forbidden`.
        { code: 'forbidden' },
      );
    }
  });
});
