import { beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.ts';
import type { RoleChangeView } from '../../src/approvals/approval.service.ts';
import type { InvitationView } from '../../src/invitations/invitation.service.ts';
import {
  STATEMENT_TRANSFER_FIELDS,
  type StatementTransfer,
  type TransferView,
} from '../../src/ledger/ledger.service.ts';
import type { MemberDetails } from '../../src/members/member.service.ts';
import type { MemberView, TeamView } from '../../src/members/views.ts';
import { type Actor, memberActor, operator } from '../../src/shared/actor.ts';
import { parseAmount } from '../../src/shared/money.ts';
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
 * The authorization matrix of the team, member, money, invitation and approval services
 * (service-matrix.test.ts has messaging, statistics, digests and audit). A refused call changes
 * nothing; an allowed one is checked for what its caller would notice: the balances that moved,
 * the status, role, key or invitation that changed, and for reads, an unchanged database.
 */

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
  targetApiKey: string;
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
  const create = (name: string, email?: string) => services.members.create(owner, { name, email });
  const targetEmail = `tara-${fixtureCounter}@example.com`;
  const { member: targetMember, apiKey: targetApiKey } = await create('Tara Target', targetEmail);
  const target = targetMember.id;
  const heir = (await create('Hugo Heir')).member.id;
  const inactive = (await create('Ivy Inactive')).member.id;
  await services.members.disable(owner, { id: inactive });
  await services.ledger.credit(owner, { member: { id: target }, amount: '5' });
  // A credit facility for the primary account, so credit limit can be lent (Vonage's credit transfers).
  await services.ledger.setCreditLimit(operator, { teamId: a.team.id, creditLimit: '50' });
  await services.autoRecharge.set(owner, { member: { id: target }, threshold: '1', amount: '2' });
  await services.spendingLimits.set(owner, { member: { id: target }, amount: '50' });
  const invitationEmail = `invitee-${fixtureCounter}@example.com`;
  const invitation = await services.invitations.invite(owner, { email: invitationEmail });
  const request = await services.approvals.request(owner, { member: { id: target }, role: 'admin' });
  const ownership = await services.approvals.request(owner, { member: { id: heir }, role: 'owner' });
  return {
    services,
    a,
    target,
    targetEmail,
    targetApiKey,
    targetKeyId: (await services.members.show(owner, { id: target })).keyId,
    heir,
    inactive,
    invitationId: invitation.id,
    invitationEmail,
    requestId: request.id,
    ownershipRequestId: ownership.id,
  };
}

interface Allowed {
  f: Fixture;
  role: CallerRole;
  actor: Actor;
}

interface Operation {
  name: string;
  /** Changes nothing even when allowed, so it may run on the shared fixture. */
  readOnly?: boolean;
  /** Allowed again and again on the same fixture without getting in another such call's way. */
  repeatable?: boolean;
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

/** A member of team A as its owner sees it (the owner stays a manager even after a handover). */
const memberOf = (f: Fixture, id: number) => f.services.members.show(f.a.owner.actor, { id });
const masterOf = async (f: Fixture) => (await f.services.teams.get(f.a.owner.actor)).masterBalance;
/** The target's and the master balance, for money moves. */
const balances = async ({ f }: Allowed) => ({
  target: (await memberOf(f, f.target)).balance,
  master: await masterOf(f),
});
type Balances = Awaited<ReturnType<typeof balances>>;
const creditLimits = async ({ f }: Allowed) => ({
  target: (await memberOf(f, f.target)).creditLimit,
  primary: (await f.services.teams.get(f.a.owner.actor)).creditLimit,
});
type CreditLimits = Awaited<ReturnType<typeof creditLimits>>;
const invitationOf = async (f: Fixture, id: number) =>
  (await f.services.invitations.list(f.a.owner.actor, { status: 'all' })).find((i) => i.id === id);
const requestOf = (f: Fixture, id: number) => f.services.approvals.get(f.a.owner.actor, id);
/** Tara's 5 credited in the fixture, as it shows in a list of transfers. */
const isTargetCredit = (f: Fixture) => (t: { kind: string; toMemberId: number | null; amount: bigint }) =>
  t.kind === 'credit' && t.toMemberId === f.target && t.amount === 5_000_000n;
/** A statement row (text fields) read back as the fields the checks look at. */
const statementTransfers = (rows: StatementTransfer[]) =>
  rows.map((row) => {
    const field = (name: (typeof STATEMENT_TRANSFER_FIELDS)[number]) =>
      row[STATEMENT_TRANSFER_FIELDS.indexOf(name)];
    const id = (name: 'from_member_id' | 'to_member_id') =>
      field(name) === null ? null : Number(field(name));
    return {
      kind: field('kind')!,
      fromMemberId: id('from_member_id'),
      toMemberId: id('to_member_id'),
      amount: parseAmount(field('amount')),
    };
  });
const isManager = (role: CallerRole) => role === 'owner' || role === 'admin';

async function expectKeyRotated(f: Fixture, memberId: number, oldKey: string, newKey: string) {
  expect((await f.services.members.authenticateApiKey(newKey)).id).toBe(memberId);
  await expect(f.services.members.authenticateApiKey(oldKey)).rejects.toMatchObject({
    code: 'unauthenticated',
  });
}

const OPERATIONS: Operation[] = [
  {
    name: 'teams.get',
    readOnly: true,
    call: (s, actor, f) => s.teams.get(actor, f.a.team.id),
    expected: everyMember('forbidden'),
    check(team: TeamView, { f }) {
      expect(team).toMatchObject({ id: f.a.team.id, name: f.a.team.name });
    },
  },
  {
    name: 'teams.setAlerts',
    repeatable: true,
    call: (s, actor) => s.teams.setAlerts(actor, { channel: 'C0MATRIX', level: '2' }),
    expected: managersOnly('own team'),
    async check(_result, { f, role, actor }) {
      // An outsider names no team: its own team's alerts change (and team A's do not).
      const team = await f.services.teams.get(actor);
      expect(team).toMatchObject({
        id: role === 'outsider' ? outsider.team.id : f.a.team.id,
        alertsChannel: 'C0MATRIX',
        lowBalanceLevel: 2_000_000n,
      });
    },
  },
  {
    name: 'teams.setTimezone',
    repeatable: true,
    call: (s, actor) => s.teams.setTimezone(actor, { timezone: 'Europe/Athens' }),
    expected: managersOnly('own team'),
    async check(_result, { f, role, actor }) {
      // An outsider names no team: its own team's timezone changes (and team A's does not).
      const team = await f.services.teams.get(actor);
      expect(team).toMatchObject({
        id: role === 'outsider' ? outsider.team.id : f.a.team.id,
        timezone: 'Europe/Athens',
      });
    },
  },
  {
    name: 'members.list',
    readOnly: true,
    call: (s, actor, f) => s.members.list(actor, { teamId: f.a.team.id }),
    expected: everyMember('forbidden'),
    check(page: { items: { id: number }[] }, { f, role }) {
      const ids = page.items.map((m) => m.id);
      // A user sees only itself; managers see the whole team.
      if (role === 'user') expect(ids).toEqual([f.a.user.id]);
      else expect(ids).toEqual(expect.arrayContaining([f.a.owner.id, f.target, f.heir, f.inactive]));
    },
  },
  {
    name: 'members.show (another member)',
    readOnly: true,
    call: (s, actor, f) => s.members.show(actor, { id: f.target }),
    expected: managersOnly('not_found'),
    check(member: MemberDetails, { f }) {
      expect(member).toMatchObject({ id: f.target, email: f.targetEmail, balance: 5_000_000n });
    },
  },
  {
    name: 'members.show (by email)',
    readOnly: true,
    call: (s, actor, f) => s.members.show(actor, { email: f.targetEmail }),
    expected: managersOnly('not_found'),
    check(member: MemberDetails, { f }) {
      expect(member.id).toBe(f.target);
    },
  },
  {
    name: 'members.show (by key id)',
    readOnly: true,
    call: (s, actor, f) => s.members.show(actor, { keyId: f.targetKeyId }),
    expected: managersOnly('not_found'),
    check(member: MemberDetails, { f }) {
      expect(member).toMatchObject({ id: f.target, keyId: f.targetKeyId });
    },
  },
  {
    name: 'members.update (rename another member)',
    repeatable: true,
    call: (s, actor, f) => s.members.update(actor, { id: f.target }, { name: 'Tara Renamed' }),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await memberOf(f, f.target)).name).toBe('Tara Renamed');
    },
  },
  {
    name: 'members.update (another member’s username)',
    repeatable: true,
    call: (s, actor, f) => s.members.update(actor, { id: f.target }, { username: `tara.${f.target}` }),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await memberOf(f, f.target)).username).toBe(`tara.${f.target}`);
    },
  },
  {
    name: 'members.create',
    repeatable: true,
    call: (s, actor, f) => s.members.create(actor, { name: 'New Dept', teamId: f.a.team.id }),
    expected: managersOnly('forbidden'),
    async check(created: { member: MemberView; apiKey: string }, { f }) {
      expect(await memberOf(f, created.member.id)).toMatchObject({
        name: 'New Dept',
        teamId: f.a.team.id,
        role: 'user',
        status: 'active',
        balance: 0n,
      });
      // Its key works at once.
      expect((await f.services.members.authenticateApiKey(created.apiKey)).id).toBe(created.member.id);
    },
  },
  {
    name: 'members.enable',
    repeatable: true,
    call: (s, actor, f) => s.members.enable(actor, { id: f.inactive }),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await memberOf(f, f.inactive)).status).toBe('active');
    },
  },
  {
    name: 'members.disable',
    call: (s, actor, f) => s.members.disable(actor, { id: f.target }),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await memberOf(f, f.target)).status).toBe('inactive');
    },
  },
  {
    name: 'members.close',
    call: (s, actor, f) => s.members.close(actor, { id: f.target }),
    expected: managersOnly('not_found'),
    observe: balances,
    async check(result: { returned: bigint }, { f }, before) {
      // Its 5 return to the master balance, its key and its rule are gone.
      const { master } = before as Balances;
      expect(result.returned).toBe(5_000_000n);
      expect(await memberOf(f, f.target)).toMatchObject({
        status: 'closed',
        balance: 0n,
        autoRecharge: null,
      });
      expect(await masterOf(f)).toBe(master + 5_000_000n);
      await expect(f.services.members.authenticateApiKey(f.targetApiKey)).rejects.toMatchObject({
        code: 'unauthenticated',
      });
    },
  },
  {
    name: 'members.rotateKey (another member)',
    repeatable: true,
    call: (s, actor, f) => s.members.rotateKey(actor, { id: f.target }),
    expected: managersOnly('not_found'),
    async check(result: { apiKey: string }, { f }) {
      await expectKeyRotated(f, f.target, f.targetApiKey, result.apiKey);
    },
  },
  {
    name: 'members.rotateKey (the owner)',
    repeatable: true,
    call: (s, actor, f) => s.members.rotateKey(actor, { id: f.a.owner.id }),
    expected: { owner: 'allowed', admin: 'forbidden', user: 'forbidden', outsider: 'not_found' },
    async check(result: { apiKey: string }, { f }) {
      await expectKeyRotated(f, f.a.owner.id, f.a.owner.apiKey, result.apiKey);
    },
  },
  {
    name: 'members.link (the owner)',
    repeatable: true,
    call: (s, actor, f) => s.members.link(actor, { id: f.a.owner.id }, 'UMATRIXOWNER'),
    expected: { owner: 'allowed', admin: 'forbidden', user: 'forbidden', outsider: 'not_found' },
    async check(_result, { f }) {
      expect((await memberOf(f, f.a.owner.id)).slackUserId).toBe('UMATRIXOWNER');
    },
  },
  {
    name: 'members.link',
    repeatable: true,
    call: (s, actor, f) => s.members.link(actor, { id: f.target }, 'UMATRIX'),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await memberOf(f, f.target)).slackUserId).toBe('UMATRIX');
    },
  },
  {
    name: 'ledger.credit',
    repeatable: true,
    call: (s, actor, f) => s.ledger.credit(actor, { member: { id: f.target }, amount: '1' }),
    expected: managersOnly('not_found'),
    observe: balances,
    async check(_result, context, before) {
      const { target, master } = before as Balances;
      expect(await balances(context)).toEqual({ target: target + 1_000_000n, master: master - 1_000_000n });
    },
  },
  {
    name: 'ledger.debit',
    repeatable: true,
    call: (s, actor, f) => s.ledger.debit(actor, { member: { id: f.target }, amount: '1' }),
    expected: managersOnly('not_found'),
    observe: balances,
    async check(_result, context, before) {
      const { target, master } = before as Balances;
      expect(await balances(context)).toEqual({ target: target - 1_000_000n, master: master + 1_000_000n });
    },
  },
  {
    name: 'ledger.history (another member)',
    readOnly: true,
    call: (s, actor, f) => s.ledger.history(actor, { member: { id: f.target } }),
    expected: managersOnly('not_found'),
    check(transfers: TransferView[], { f }) {
      expect(transfers.some(isTargetCredit(f))).toBe(true);
      for (const t of transfers) expect([t.fromMemberId, t.toMemberId]).toContain(f.target);
    },
  },
  {
    name: 'ledger.history (team)',
    readOnly: true,
    call: (s, actor) => s.ledger.history(actor),
    expected: everyMember('own team'),
    check(transfers: TransferView[], { f, role }) {
      // Managers see the team's transfers; a user only its own; an outsider only its own team's.
      expect(transfers.some(isTargetCredit(f))).toBe(isManager(role));
      if (role === 'user') {
        for (const t of transfers) expect([t.fromMemberId, t.toMemberId]).toContain(f.a.user.id);
      }
    },
  },
  {
    name: 'ledger.statement (another member)',
    readOnly: true,
    call: async (s, actor, f) =>
      statementTransfers(await allBatches(await s.ledger.statement(actor, { member: { id: f.target } }))),
    expected: managersOnly('not_found'),
    check(transfers: ReturnType<typeof statementTransfers>, { f }) {
      expect(transfers.some(isTargetCredit(f))).toBe(true);
      for (const t of transfers) expect([t.fromMemberId, t.toMemberId]).toContain(f.target);
    },
  },
  {
    name: 'ledger.statement (team)',
    readOnly: true,
    call: async (s, actor) => statementTransfers(await allBatches(await s.ledger.statement(actor))),
    expected: everyMember('own team'),
    check(transfers: ReturnType<typeof statementTransfers>, { f, role }) {
      // The same rows as the history: managers the team's, a user only its own.
      expect(transfers.some(isTargetCredit(f))).toBe(isManager(role));
      if (role === 'user') {
        for (const t of transfers) expect([t.fromMemberId, t.toMemberId]).toContain(f.a.user.id);
      }
    },
  },
  {
    name: 'ledger.between (team)',
    readOnly: true,
    call: (s, actor) =>
      s.ledger.between(actor, { kinds: ['credit', 'debit'], start: new Date(0), end: null }),
    expected: managersOnly('own team'),
    check(transfers: TransferView[], { f, role }) {
      expect(transfers.some(isTargetCredit(f))).toBe(isManager(role));
      for (const t of transfers) expect(['credit', 'debit']).toContain(t.kind);
    },
  },
  {
    name: 'ledger.transferCreditLimit',
    repeatable: true,
    call: (s, actor, f) =>
      s.ledger.transferCreditLimit(actor, { member: { id: f.target }, direction: 'to_member', amount: '1' }),
    expected: managersOnly('not_found'),
    observe: creditLimits,
    async check(_result, context, before) {
      const { target, primary } = before as CreditLimits;
      expect(await creditLimits(context)).toEqual({
        target: target + 1_000_000n,
        primary: primary - 1_000_000n,
      });
    },
  },
  {
    name: 'ledger.setCreditLimit',
    call: (s, actor, f) => s.ledger.setCreditLimit(actor, { teamId: f.a.team.id, creditLimit: '1000' }),
    // The primary account's facility comes from the operator, never from a member.
    expected: { owner: 'forbidden', admin: 'forbidden', user: 'forbidden', outsider: 'forbidden' },
    check() {},
  },
  {
    name: 'ledger.topUp',
    call: (s, actor, f) => s.ledger.topUp(actor, { teamId: f.a.team.id, amount: '1' }),
    // Money enters a team from the operator, never from a member.
    expected: { owner: 'forbidden', admin: 'forbidden', user: 'forbidden', outsider: 'forbidden' },
    check() {},
  },
  {
    name: 'autoRecharge.set',
    repeatable: true,
    call: (s, actor, f) =>
      s.autoRecharge.set(actor, { member: { id: f.target }, threshold: '3', amount: '4' }),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await memberOf(f, f.target)).autoRecharge).toEqual({
        threshold: 3_000_000n,
        amount: 4_000_000n,
        dailyCap: null,
      });
    },
  },
  {
    name: 'autoRecharge.off',
    call: (s, actor, f) => s.autoRecharge.off(actor, { id: f.target }),
    expected: managersOnly('not_found'),
    async check(result: { removed: boolean }, { f }) {
      expect(result.removed).toBe(true);
      expect((await memberOf(f, f.target)).autoRecharge).toBeNull();
    },
  },
  {
    name: 'spendingLimits.set',
    repeatable: true,
    call: (s, actor, f) => s.spendingLimits.set(actor, { member: { id: f.target }, amount: '7' }),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await memberOf(f, f.target)).spendingLimit).toMatchObject({ monthlyLimit: 7_000_000n });
    },
  },
  {
    name: 'spendingLimits.off',
    call: (s, actor, f) => s.spendingLimits.off(actor, { id: f.target }),
    expected: managersOnly('not_found'),
    async check(result: { removed: boolean }, { f }) {
      expect(result.removed).toBe(true);
      expect((await memberOf(f, f.target)).spendingLimit).toBeNull();
    },
  },
  {
    name: 'spendingLimits.get',
    readOnly: true,
    call: (s, actor, f) => s.spendingLimits.get(actor, { id: f.target }),
    expected: managersOnly('not_found'),
    check(limit: { memberId: number; monthlyLimit: bigint }, { f }) {
      expect(limit).toMatchObject({ memberId: f.target, monthlyLimit: 50_000_000n });
    },
  },
  {
    name: 'spendingLimits.ofMembers',
    readOnly: true,
    call: (s, actor, f) => s.spendingLimits.ofMembers(actor, [f.target]),
    expected: everyMember('own team'),
    check(limits: Map<number, unknown>, { f, role }) {
      // A user sees its own limit only; an outsider, only its own team's.
      expect([...limits.keys()]).toEqual(isManager(role) ? [f.target] : []);
    },
  },
  {
    name: 'invitations.invite',
    call: (s, actor, f) => s.invitations.invite(actor, { email: 'matrix@example.com', teamId: f.a.team.id }),
    expected: managersOnly('forbidden'),
    async check(invitation: InvitationView, { f }) {
      expect(await invitationOf(f, invitation.id)).toMatchObject({
        email: 'matrix@example.com',
        teamId: f.a.team.id,
        status: 'pending',
      });
    },
  },
  {
    name: 'invitations.list',
    readOnly: true,
    call: (s, actor, f) => s.invitations.list(actor, { teamId: f.a.team.id }),
    expected: managersOnly('forbidden'),
    check(invitations: InvitationView[], { f }) {
      expect(invitations).toEqual([
        expect.objectContaining({ id: f.invitationId, email: f.invitationEmail, status: 'pending' }),
      ]);
    },
  },
  {
    name: 'invitations.revoke (by id)',
    call: (s, actor, f) => s.invitations.revoke(actor, { id: f.invitationId }),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await invitationOf(f, f.invitationId))?.status).toBe('revoked');
    },
  },
  {
    name: 'invitations.revoke (by email)',
    call: (s, actor, f) => s.invitations.revoke(actor, { email: f.invitationEmail }),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await invitationOf(f, f.invitationId))?.status).toBe('revoked');
    },
  },
  {
    name: 'approvals.request',
    call: (s, actor, f) => s.approvals.request(actor, { member: { id: f.inactive }, role: 'admin' }),
    expected: managersOnly('not_found'),
    async check(request: RoleChangeView, { f }) {
      expect(await requestOf(f, request.id)).toMatchObject({
        memberId: f.inactive,
        fromRole: 'user',
        toRole: 'admin',
        status: 'pending',
      });
      // Asking changes no role yet.
      expect((await memberOf(f, f.inactive)).role).toBe('user');
    },
  },
  {
    name: 'approvals.approve',
    call: (s, actor, f) => s.approvals.approve(actor, f.requestId),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await requestOf(f, f.requestId)).status).toBe('approved');
      expect((await memberOf(f, f.target)).role).toBe('admin');
    },
  },
  {
    name: 'approvals.deny',
    call: (s, actor, f) => s.approvals.deny(actor, f.requestId),
    expected: managersOnly('not_found'),
    async check(_result, { f }) {
      expect((await requestOf(f, f.requestId)).status).toBe('denied');
      expect((await memberOf(f, f.target)).role).toBe('user');
    },
  },
  {
    name: 'approvals.approve (ownership)',
    call: (s, actor, f) => s.approvals.approve(actor, f.ownershipRequestId),
    expected: { owner: 'allowed', admin: 'forbidden', user: 'forbidden', outsider: 'not_found' },
    async check(_result, { f }) {
      // The heir becomes owner; the old owner stays on as an admin.
      expect((await requestOf(f, f.ownershipRequestId)).status).toBe('approved');
      expect((await memberOf(f, f.heir)).role).toBe('owner');
      expect((await memberOf(f, f.a.owner.id)).role).toBe('admin');
    },
  },
  {
    name: 'approvals.deny (ownership)',
    call: (s, actor, f) => s.approvals.deny(actor, f.ownershipRequestId),
    expected: { owner: 'allowed', admin: 'forbidden', user: 'forbidden', outsider: 'not_found' },
    async check(_result, { f }) {
      expect((await requestOf(f, f.ownershipRequestId)).status).toBe('denied');
      expect((await memberOf(f, f.heir)).role).toBe('user');
      expect((await memberOf(f, f.a.owner.id)).role).toBe('owner');
    },
  },
  {
    name: 'approvals.get (about another member)',
    readOnly: true,
    call: (s, actor, f) => s.approvals.get(actor, f.requestId),
    expected: managersOnly('not_found'),
    check(request: RoleChangeView, { f }) {
      expect(request).toMatchObject({
        id: f.requestId,
        memberId: f.target,
        toRole: 'admin',
        status: 'pending',
      });
    },
  },
  {
    name: 'approvals.approvers',
    readOnly: true,
    call: (s, actor, f) => s.approvals.approvers(actor, f.requestId),
    expected: managersOnly('not_found'),
    check(approvers: MemberView[], { f }) {
      // The owner first: whom to ask.
      expect(approvers[0]?.id).toBe(f.a.owner.id);
      for (const m of approvers) expect(['owner', 'admin']).toContain(m.role);
    },
  },
  {
    name: 'invitations.resend',
    call: (s, actor, f) => s.invitations.resend(actor, { id: f.invitationId }),
    expected: managersOnly('not_found'),
    observe: async ({ f }) => (await invitationOf(f, f.invitationId))!.expiresAt,
    async check(_result, { f }, before) {
      // A new link with a fresh expiry, queued for delivery again; still pending.
      const invitation = await invitationOf(f, f.invitationId);
      expect(invitation).toMatchObject({ status: 'pending', deliveryStatus: 'queued', deliveryAttempts: 0 });
      expect(invitation!.expiresAt.getTime()).toBeGreaterThan((before as Date).getTime());
    },
  },
  {
    name: 'audit.list',
    readOnly: true,
    call: (s, actor, f) => s.audit.list(actor, { teamId: f.a.team.id }),
    expected: managersOnly('forbidden'),
    check(events: { action: string; subjectMemberId: number | null }[], { f }) {
      expect(events).toContainEqual(
        expect.objectContaining({ action: 'member.created', subjectMemberId: f.target }),
      );
    },
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
  it.each(CASES)(
    '$name as $role: $outcome',
    async ({ call, role, outcome, readOnly, repeatable, check, observe }) => {
      let f = shared;
      if (outcome === 'allowed' && repeatable) f = reused ??= freshFixture();
      else if (outcome === 'allowed' && !readOnly) f = freshFixture();
      const actor = actorFor(role, f);
      await expectOutcome(h.orm, {
        outcome,
        role,
        teamId: f.a.team.id,
        readOnly,
        context: { f, role, actor } satisfies Allowed,
        attempt: () => call(f.services, actor, f),
        observe,
        check,
      });
    },
  );

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
      'spendingLimits',
    ].flatMap((service) =>
      Object.getOwnPropertyNames(Object.getPrototypeOf(services[service]))
        .filter((method) => method !== 'constructor')
        .map((method) => `${service}.${method}`),
    );
    // Not called by a member: the token is the credential, or the caller is a transport or worker
    // (or the process stopping).
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
