import { beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.ts';
import { type Actor, memberActor } from '../../src/shared/actor.ts';
import { databaseState, expectRefusedWithoutChange, teamState } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

/** Refusals run here: a small database, so "nothing changed" compares little. */
const h = useServices();
/** Allowed calls run here, each on a fixture of its own. */
const roomy = useServices();

type Seeded = Awaited<ReturnType<typeof seedTeam>>;

/** Team A, with something in every state an operation can act on. */
interface Fixture {
  services: Services;
  a: Seeded;
  /** A user with money and an auto-recharge rule, and a pending request to become admin. */
  target: number;
  targetEmail: string;
  /** The target's public key id, as the Vonage API names it. */
  targetKeyId: string;
  /** A user with a pending request to become owner. */
  heir: number;
  inactive: number;
  invitationId: number;
  invitationEmail: string;
  requestId: number;
  ownershipRequestId: number;
}

let fixtureCounter = 0;
async function buildFixture(services: Services): Promise<Fixture> {
  fixtureCounter += 1;
  const a = await seedTeam(services, { masterBalance: '100' });
  const owner = a.owner.actor;
  const create = async (name: string, email?: string) =>
    (await services.members.create(owner, { name, email })).member.id;
  const targetEmail = `tara-${fixtureCounter}@example.com`;
  const target = await create('Tara Target', targetEmail);
  const heir = await create('Hugo Heir');
  const inactive = await create('Ivy Inactive');
  await services.members.disable(owner, { id: inactive });
  await services.ledger.credit(owner, { member: { id: target }, amount: '5' });
  await services.autoRecharge.set(owner, { member: { id: target }, threshold: '1', amount: '2' });
  const invitationEmail = `invitee-${fixtureCounter}@example.com`;
  const invitation = await services.invitations.invite(owner, { email: invitationEmail });
  const request = await services.approvals.request(owner, { member: { id: target }, role: 'admin' });
  const ownership = await services.approvals.request(owner, { member: { id: heir }, role: 'owner' });
  return {
    services,
    a,
    target,
    targetEmail,
    targetKeyId: (await services.members.show(owner, { id: target })).keyId,
    heir,
    inactive,
    invitationId: invitation.id,
    invitationEmail,
    requestId: request.id,
    ownershipRequestId: ownership.id,
  };
}

const ROLES = ['owner', 'admin', 'user', 'outsider'] as const;
type CallerRole = (typeof ROLES)[number];
/** `own team`: an outsider's call that names no team acts on its own team and leaves team A alone. */
type Outcome = 'allowed' | 'forbidden' | 'not_found' | 'own team';

interface Operation {
  name: string;
  /** Changes nothing even when allowed, so it may run on the shared fixture. */
  readOnly?: boolean;
  /** Allowed again and again on the same fixture without getting in another such call's way. */
  repeatable?: boolean;
  call: (s: Services, actor: Actor, f: Fixture) => Promise<unknown>;
  expected: Record<CallerRole, Outcome>;
}

/** The owner and admins may; a user is forbidden; an outsider gets `outsider`. */
function managersOnly(outsider: Outcome): Record<CallerRole, Outcome> {
  return { owner: 'allowed', admin: 'allowed', user: 'forbidden', outsider };
}

const OPERATIONS: Operation[] = [
  {
    name: 'teams.get',
    readOnly: true,
    call: (s, actor, f) => s.teams.get(actor, f.a.team.id),
    expected: { owner: 'allowed', admin: 'allowed', user: 'allowed', outsider: 'forbidden' },
  },
  {
    name: 'teams.setAlerts',
    repeatable: true,
    call: (s, actor) => s.teams.setAlerts(actor, { channel: 'C0MATRIX', level: '2' }),
    expected: managersOnly('own team'),
  },
  {
    name: 'members.list',
    readOnly: true,
    call: (s, actor, f) => s.members.list(actor, { teamId: f.a.team.id }),
    expected: { owner: 'allowed', admin: 'allowed', user: 'allowed', outsider: 'forbidden' },
  },
  {
    name: 'members.show (another member)',
    readOnly: true,
    call: (s, actor, f) => s.members.show(actor, { id: f.target }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.show (by email)',
    readOnly: true,
    call: (s, actor, f) => s.members.show(actor, { email: f.targetEmail }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.show (by key id)',
    readOnly: true,
    call: (s, actor, f) => s.members.show(actor, { keyId: f.targetKeyId }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.update (rename another member)',
    repeatable: true,
    call: (s, actor, f) => s.members.update(actor, { id: f.target }, { name: 'Tara Renamed' }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.update (another member’s username)',
    repeatable: true,
    call: (s, actor, f) => s.members.update(actor, { id: f.target }, { username: `tara.${f.target}` }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.create',
    repeatable: true,
    call: (s, actor, f) => s.members.create(actor, { name: 'New Dept', teamId: f.a.team.id }),
    expected: managersOnly('forbidden'),
  },
  {
    name: 'members.enable',
    repeatable: true,
    call: (s, actor, f) => s.members.enable(actor, { id: f.inactive }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.disable',
    call: (s, actor, f) => s.members.disable(actor, { id: f.target }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.close',
    call: (s, actor, f) => s.members.close(actor, { id: f.target }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.rotateKey (another member)',
    repeatable: true,
    call: (s, actor, f) => s.members.rotateKey(actor, { id: f.target }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'members.rotateKey (the owner)',
    repeatable: true,
    call: (s, actor, f) => s.members.rotateKey(actor, { id: f.a.owner.id }),
    expected: { owner: 'allowed', admin: 'forbidden', user: 'forbidden', outsider: 'not_found' },
  },
  {
    name: 'members.link (the owner)',
    repeatable: true,
    call: (s, actor, f) => s.members.link(actor, { id: f.a.owner.id }, 'UMATRIXOWNER'),
    expected: { owner: 'allowed', admin: 'forbidden', user: 'forbidden', outsider: 'not_found' },
  },
  {
    name: 'members.link',
    repeatable: true,
    call: (s, actor, f) => s.members.link(actor, { id: f.target }, 'UMATRIX'),
    expected: managersOnly('not_found'),
  },
  {
    name: 'ledger.credit',
    repeatable: true,
    call: (s, actor, f) => s.ledger.credit(actor, { member: { id: f.target }, amount: '1' }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'ledger.debit',
    repeatable: true,
    call: (s, actor, f) => s.ledger.debit(actor, { member: { id: f.target }, amount: '1' }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'ledger.history (another member)',
    readOnly: true,
    call: (s, actor, f) => s.ledger.history(actor, { member: { id: f.target } }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'ledger.history (team)',
    readOnly: true,
    call: (s, actor) => s.ledger.history(actor),
    expected: { owner: 'allowed', admin: 'allowed', user: 'allowed', outsider: 'own team' },
  },
  {
    name: 'ledger.between (team)',
    readOnly: true,
    call: (s, actor) =>
      s.ledger.between(actor, { kinds: ['credit', 'debit'], start: new Date(0), end: null }),
    expected: managersOnly('own team'),
  },
  {
    name: 'ledger.topUp',
    call: (s, actor, f) => s.ledger.topUp(actor, { teamId: f.a.team.id, amount: '1' }),
    expected: { owner: 'forbidden', admin: 'forbidden', user: 'forbidden', outsider: 'forbidden' },
  },
  {
    name: 'autoRecharge.set',
    repeatable: true,
    call: (s, actor, f) =>
      s.autoRecharge.set(actor, { member: { id: f.target }, threshold: '3', amount: '4' }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'autoRecharge.off',
    call: (s, actor, f) => s.autoRecharge.off(actor, { id: f.target }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'invitations.invite',
    call: (s, actor, f) => s.invitations.invite(actor, { email: 'matrix@example.com', teamId: f.a.team.id }),
    expected: managersOnly('forbidden'),
  },
  {
    name: 'invitations.list',
    readOnly: true,
    call: (s, actor, f) => s.invitations.list(actor, { teamId: f.a.team.id }),
    expected: managersOnly('forbidden'),
  },
  {
    name: 'invitations.revoke (by id)',
    call: (s, actor, f) => s.invitations.revoke(actor, { id: f.invitationId }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'invitations.revoke (by email)',
    call: (s, actor, f) => s.invitations.revoke(actor, { email: f.invitationEmail }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'approvals.request',
    call: (s, actor, f) => s.approvals.request(actor, { member: { id: f.inactive }, role: 'admin' }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'approvals.approve',
    call: (s, actor, f) => s.approvals.approve(actor, f.requestId),
    expected: managersOnly('not_found'),
  },
  {
    name: 'approvals.deny',
    call: (s, actor, f) => s.approvals.deny(actor, f.requestId),
    expected: managersOnly('not_found'),
  },
  {
    name: 'approvals.approve (ownership)',
    call: (s, actor, f) => s.approvals.approve(actor, f.ownershipRequestId),
    expected: { owner: 'allowed', admin: 'forbidden', user: 'forbidden', outsider: 'not_found' },
  },
  {
    name: 'approvals.deny (ownership)',
    call: (s, actor, f) => s.approvals.deny(actor, f.ownershipRequestId),
    expected: { owner: 'allowed', admin: 'forbidden', user: 'forbidden', outsider: 'not_found' },
  },
  {
    name: 'approvals.get (about another member)',
    readOnly: true,
    call: (s, actor, f) => s.approvals.get(actor, f.requestId),
    expected: managersOnly('not_found'),
  },
  {
    name: 'approvals.approvers',
    readOnly: true,
    call: (s, actor, f) => s.approvals.approvers(actor, f.requestId),
    expected: managersOnly('not_found'),
  },
  {
    name: 'invitations.resend',
    call: (s, actor, f) => s.invitations.resend(actor, { id: f.invitationId }),
    expected: managersOnly('not_found'),
  },
  {
    name: 'audit.list',
    readOnly: true,
    call: (s, actor, f) => s.audit.list(actor, { teamId: f.a.team.id }),
    expected: managersOnly('forbidden'),
  },
];

const CASES = OPERATIONS.flatMap((operation) =>
  ROLES.map((role) => ({ ...operation, role, outcome: operation.expected[role] })),
);

/** Refusals change nothing, so they share one fixture; every allowed call gets a fresh one. */
let shared: Fixture;
/** The outsider is the owner of another team: the most an outsider can be. */
let outsider: Seeded;
/** Fresh fixtures, built ahead a few at a time: most of the time here is waiting on commits. */
const fresh: Fixture[] = [];
const FRESH_NEEDED = CASES.filter((c) => c.outcome === 'allowed' && !c.readOnly && !c.repeatable).length + 3;
beforeAll(async () => {
  shared = await buildFixture(h.services);
  outsider = await seedTeam(h.services, { masterBalance: '100' });
  const builders = Array.from({ length: 6 }, async () => {
    while (fresh.length + pendingBuilds < FRESH_NEEDED) {
      pendingBuilds += 1;
      fresh.push(await buildFixture(roomy.services));
      pendingBuilds -= 1;
    }
  });
  await Promise.all(builders);
});
let pendingBuilds = 0;

function freshFixture(): Fixture {
  const fixture = fresh.pop();
  if (!fixture) throw new Error('FRESH_NEEDED is too small for the tests that want a fresh fixture');
  return fixture;
}

function actorFor(role: CallerRole, f: Fixture): Actor {
  return role === 'outsider' ? outsider.owner.actor : f.a[role].actor;
}

describe('authorization matrix', () => {
  let reused: Fixture | undefined;
  it.each(CASES)('$name as $role: $outcome', async ({ call, role, outcome, readOnly, repeatable }) => {
    let f = shared;
    if (outcome === 'allowed' && repeatable) f = reused ??= freshFixture();
    else if (outcome === 'allowed' && !readOnly) f = freshFixture();
    const attempt = () => call(f.services, actorFor(role, f), f);
    const teamA = role === 'outsider' ? await teamState(h.orm, f.a.team.id) : null;
    if (outcome === 'forbidden' || outcome === 'not_found') {
      await expectRefusedWithoutChange(h.orm, attempt, { code: outcome });
    } else if (readOnly) {
      const before = await databaseState(h.orm);
      await attempt();
      expect(await databaseState(h.orm)).toEqual(before);
    } else {
      await attempt();
    }
    if (teamA) expect(await teamState(h.orm, f.a.team.id)).toEqual(teamA);
  });

  it('covers every public operation of the team services', () => {
    const covered = new Set(OPERATIONS.map((o) => o.name.split(' ')[0]));
    const services = h.services as unknown as Record<string, object>;
    const actorMethods = [
      'teams',
      'members',
      'ledger',
      'autoRecharge',
      'invitations',
      'approvals',
      'audit',
    ].flatMap((service) =>
      Object.getOwnPropertyNames(Object.getPrototypeOf(services[service]))
        .filter((method) => method !== 'constructor')
        .map((method) => `${service}.${method}`),
    );
    // Not called by a member: the token is the credential, or the caller is a transport or worker.
    const notMemberCalls = new Set([
      'teams.setup',
      'teams.getBySlackTeam',
      'members.identifySlackUser',
      'members.authenticateApiKey',
      'ledger.post',
      'invitations.inspect',
      'invitations.accept',
      'invitations.decline',
      'invitations.recordDelivery',
      'invitations.deliveryDetails',
      'invitations.deliver',
      'autoRecharge.handleBalanceLow',
      'approvals.recordSlackMessage',
    ]);
    const uncovered = actorMethods.filter((m) => !covered.has(m) && !notMemberCalls.has(m));
    expect(uncovered).toEqual([]);
  });
});

describe('a user and its own sub-account', () => {
  it('sees only itself in the list, whatever the filter', async () => {
    const { a } = shared;
    const page = await h.services.members.list(a.user.actor, { limit: 100 });
    expect(page).toMatchObject({ total: 1, items: [{ id: a.user.id }] });
    expect((await h.services.members.list(a.user.actor, { status: 'inactive' })).items).toEqual([]);
  });

  it('shows itself, by id, email or Slack user', async () => {
    const { a } = shared;
    expect((await h.services.members.show(a.user.actor, { id: a.user.id })).id).toBe(a.user.id);
    expect((await h.services.members.show(a.user.actor, { email: a.user.email! })).id).toBe(a.user.id);
  });

  it('rotates its own key: the old one stops working', async () => {
    const f = freshFixture();
    const rotated = await f.services.members.rotateKey(f.a.user.actor, { id: f.a.user.id });
    expect((await f.services.members.authenticateApiKey(rotated.apiKey)).id).toBe(f.a.user.id);
    await expect(f.services.members.authenticateApiKey(f.a.user.apiKey)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });

  it('sees only its own transfers, and its own role change requests', async () => {
    const f = freshFixture();
    const { a, services } = f;
    await services.ledger.credit(a.owner.actor, { member: { id: a.user.id }, amount: '3' });
    const own = await services.ledger.history(a.user.actor);
    expect(own.map((t) => [t.kind, t.toMemberId, t.amount])).toEqual([['credit', a.user.id, 3_000_000n]]);
    expect(await services.ledger.history(a.user.actor, { member: { id: a.user.id } })).toEqual(own);
    const aboutUser = await services.approvals.request(a.owner.actor, {
      member: { id: a.user.id },
      role: 'admin',
    });
    expect((await services.approvals.get(a.user.actor, aboutUser.id)).memberId).toBe(a.user.id);
  });

  it.each<[string, (s: Services, actor: Actor, f: Fixture) => Promise<unknown>]>([
    ['credit itself', (s, actor, f) => s.ledger.credit(actor, { member: { id: f.a.user.id }, amount: '1' })],
    ['debit itself', (s, actor, f) => s.ledger.debit(actor, { member: { id: f.a.user.id }, amount: '1' })],
    ['disable itself', (s, actor, f) => s.members.disable(actor, { id: f.a.user.id })],
    ['close itself', (s, actor, f) => s.members.close(actor, { id: f.a.user.id })],
    ['link itself', (s, actor, f) => s.members.link(actor, { id: f.a.user.id }, 'USELF')],
    [
      'set its own auto-recharge',
      (s, actor, f) =>
        s.autoRecharge.set(actor, { member: { id: f.a.user.id }, threshold: '1', amount: '1' }),
    ],
    [
      'ask to become admin',
      (s, actor, f) => s.approvals.request(actor, { member: { id: f.a.user.id }, role: 'admin' }),
    ],
    ['invite someone', (s, actor) => s.invitations.invite(actor, { email: 'friend@example.com' })],
  ])('may not %s', async (_what, call) => {
    await expectRefusedWithoutChange(h.orm, () => call(h.services, shared.a.user.actor, shared), {
      code: 'forbidden',
    });
  });
});

describe('members who may no longer act', () => {
  let disabledAdmin: Actor;
  let closedAdmin: Actor;
  beforeAll(async () => {
    const owner = shared.a.owner.actor;
    const promoted = async (name: string) => {
      const { member } = await h.services.members.create(owner, { name });
      const request = await h.services.approvals.request(owner, { member: { id: member.id }, role: 'admin' });
      await h.services.approvals.approve(owner, request.id);
      return member.id;
    };
    const disabledId = await promoted('Dora Disabled');
    await h.services.members.disable(owner, { id: disabledId });
    const closedId = await promoted('Cleo Closed');
    await h.services.members.close(owner, { id: closedId });
    disabledAdmin = memberActor(disabledId, 'slack');
    closedAdmin = memberActor(closedId, 'api');
  });

  it.each(OPERATIONS)('a disabled or closed admin is refused $name', async ({ call }) => {
    await expectRefusedWithoutChange(h.orm, () => call(h.services, disabledAdmin, shared), {
      code: 'forbidden',
      message: `Your sub-account is inactive; ask an admin of ${shared.a.team.name} to enable it`,
    });
    await expectRefusedWithoutChange(h.orm, () => call(h.services, closedAdmin, shared), {
      code: 'forbidden',
      message: `Your sub-account in ${shared.a.team.name} has been closed`,
    });
  });

  it('an unknown caller is not authenticated', async () => {
    await expectRefusedWithoutChange(h.orm, () => h.services.members.list(memberActor(9_999_999, 'api')), {
      code: 'unauthenticated',
      message: 'You are not a member of any team',
    });
  });
});
