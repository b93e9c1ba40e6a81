import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.ts';
import { AutoRechargeRule } from '../ledger/auto-recharge-rule.entity.ts';
import { moveCreditLimit } from '../ledger/credit-limit-transfers.ts';
import { lockTeamAndMembers } from '../ledger/lock-order.ts';
import { applyPosting } from '../ledger/postings.ts';
import { type MonthSpend, monthSpendOf } from '../ledger/spending-limits.ts';
import type { Orm } from '../platform/database.ts';
import { type PreparedStatement, runPrepared } from '../platform/prepared.ts';
import { queryAll, queryOne } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import { type Actor, systemParty } from '../shared/actor.ts';
import { ConflictError, ForbiddenError, UnauthenticatedError, ValidationError } from '../shared/errors.ts';
import { formatMoney } from '../shared/money.ts';
import { requireValidText } from '../shared/text.ts';
import { optionalEmail, pagingNumber, requireName } from '../shared/validation.ts';
import { loadTeam } from '../teams/team.service.ts';
import {
  type Caller,
  callerTeam,
  isManager,
  loadCaller,
  requireManager,
  requireSelfOrManager,
} from './access.ts';
import { ApiKeyCache, type KeyHolder } from './api-key-cache.ts';
import { chosenApiKey, hashSecret, issueApiKey } from './api-keys.ts';
import { findMember, MEMBER_COLUMNS, type MemberRef } from './lookups.ts';
import { type IMember, MEMBER_STATUSES, Member, type MemberStatus } from './member.entity.ts';
import { freeUsername, requireUsername } from './usernames.ts';
import { type MemberRow, type MemberView, memberViewFromRow, toMemberView } from './views.ts';

export interface MemberDetails extends MemberView {
  autoRecharge: { threshold: bigint; amount: bigint; dailyCap: bigint | null } | null;
  /** The monthly spending limit with this month's spend (team's timezone), or null without one. */
  spendingLimit: MonthSpend | null;
}

export interface MemberPage {
  items: MemberView[];
  total: number;
  page: number;
  limit: number;
}

const KEY_HOLDER_BY_KEY: PreparedStatement = {
  name: 'members.key-holder-by-api-key',
  text: `select m.id, m.team_id as "teamId", m.role, m.status, m.username, m.email, m.key_id as "keyId"
           from members m where m.api_key_hash = $1`,
};

export class MemberService {
  readonly #orm: Orm;
  readonly #keys: ApiKeyCache;
  constructor(orm: Orm) {
    this.#orm = orm;
    this.#keys = new ApiKeyCache(orm);
  }

  /**
   * The member behind a Slack user. A user not linked yet is linked automatically when their
   * Slack profile email is the email of an active member who has no Slack user yet.
   */
  async identifySlackUser(input: {
    slackTeamId: string;
    slackUserId: string;
    email?: string | null;
  }): Promise<MemberView> {
    requireValidText(input.slackTeamId, 'slack team');
    requireValidText(input.slackUserId, 'slack user');
    if (input.email) requireValidText(input.email, 'email');
    const em = this.#orm.em.fork();
    // Every Slack request starts here: one plain query for the usual case, a linked user.
    const linked = await queryOne<Partial<MemberRow> & { team_key: number; team_name: string }>(
      em,
      `select t.id as team_key, t.name as team_name, ${MEMBER_COLUMNS}
         from teams t left join members m on m.team_id = t.id and m.slack_user_id = ? and m.status <> 'closed'
        where t.slack_team_id = ?`,
      [input.slackUserId, input.slackTeamId],
    );
    if (!linked) {
      throw new UnauthenticatedError('No team is set up in this workspace yet: run /team setup <team name>');
    }
    if (linked.id !== null && linked.id !== undefined) return memberViewFromRow(linked as MemberRow);
    const team = { id: linked.team_key, name: linked.team_name };
    const email = input.email?.trim().toLowerCase();
    if (email) {
      const byEmail = await em.findOne(Member, {
        team: team.id,
        email,
        slackUserId: null,
        status: { $in: ['active', 'inactive'] },
      });
      if (byEmail) {
        byEmail.slackUserId = input.slackUserId;
        await transact(em, async (tx) => {
          await tx.flush();
          await recordAudit(tx, {
            teamId: team.id,
            actor: systemParty('slack'),
            action: 'member.linked',
            subjectMemberId: byEmail.id,
            details: { slackUserId: input.slackUserId, matchedEmail: email },
          });
        });
        return toMemberView(byEmail);
      }
    }
    throw new UnauthenticatedError(
      `You are not a member of ${team.name}. Ask its owner or an admin to add you with /team link`,
    );
  }

  /** The member an API key belongs to; only active members may use their key. */
  async authenticateApiKey(key: string): Promise<KeyHolder> {
    const trimmed = key.trim();
    if (!trimmed) throw new UnauthenticatedError('An API key is required');
    // Every API request starts here: from memory when no key changed since (ApiKeyCache), else
    // one prepared statement, planned once per connection.
    const keyHash = hashSecret(trimmed);
    const holder = await this.#keys.holderOf(keyHash, async () => {
      const [row] = await runPrepared<KeyHolder>(this.#orm, KEY_HOLDER_BY_KEY, [keyHash]);
      return row ?? null;
    });
    if (!holder) throw new UnauthenticatedError('The API key is not valid');
    if (holder.status !== 'active') throw new ForbiddenError(`This sub-account is ${holder.status}`);
    return holder;
  }

  async list(
    actor: Actor,
    input: {
      status?: string | null;
      /** Only these statuses (the compatible APIs leave out what their providers have no word for). */
      statuses?: readonly MemberStatus[];
      /** Leave out the owner: providers list the sub-accounts of a primary account, not the account itself. */
      subaccountsOnly?: boolean;
      page?: number;
      limit?: number;
      teamId?: number;
    } = {},
  ): Promise<MemberPage> {
    const status = input.status ? requireStatus(input.status) : undefined;
    const page = pagingNumber(input.page, 'page', 1, 1, Number.MAX_SAFE_INTEGER);
    const limit = pagingNumber(input.limit, 'limit', 20, 1, 100);
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller, input.teamId);
    // A user sees only its own sub-account.
    const onlyId = isManager(caller) ? null : caller.member!.id;
    const filter = `m.team_id = ? and (?::text is null or m.status = ?) and (?::int is null or m.id = ?)
      and (?::jsonb is null or m.status::text in (select jsonb_array_elements_text(?::jsonb)))
      and (not ?::boolean or m.role <> 'owner')`;
    const statuses = input.statuses ? JSON.stringify(input.statuses) : null;
    const params = [
      teamId,
      status ?? null,
      status ?? null,
      onlyId,
      onlyId,
      statuses,
      statuses,
      input.subaccountsOnly ?? false,
    ];
    const rows = await queryAll<MemberRow & { total: string }>(
      em,
      `select ${MEMBER_COLUMNS}, count(*) over () as total from members m
        where ${filter} order by m.id limit ? offset ?`,
      [...params, limit, (page - 1) * limit],
    );
    const total = rows[0]
      ? Number(rows[0].total)
      : Number(
          (await queryOne<{ n: string }>(em, `select count(*) as n from members m where ${filter}`, params))!
            .n,
        );
    return { items: rows.map(memberViewFromRow), total, page, limit };
  }

  async show(actor: Actor, ref: MemberRef): Promise<MemberDetails> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const member = await findMember(em, callerTeam(caller), ref);
    requireSelfOrManager(caller, member, "see other members' sub-accounts");
    const rule = await em.findOne(AutoRechargeRule, { member });
    const spends = await monthSpendOf(em, [member.id]);
    return {
      ...toMemberView(member),
      autoRecharge: rule
        ? { threshold: rule.threshold, amount: rule.amount, dailyCap: rule.dailyCap ?? null }
        : null,
      spendingLimit: spends.get(member.id) ?? null,
    };
  }

  /** An auto-generated sub-account, active at once; its API key is returned this once. */
  async create(
    actor: Actor,
    input: {
      name: string;
      email?: string | null;
      teamId?: number;
      /** A key the caller chose (Vonage lets a client set a sub-account's secret); generated when absent. */
      apiKey?: string | null;
      sharesMasterBalance?: boolean;
    },
  ): Promise<{ member: MemberView; apiKey: string }> {
    const name = requireName(input.name);
    const email = optionalEmail(input.email);
    const chosenKey = input.apiKey == null ? null : requireChosenKey(input.apiKey);
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'create members');
      const team = await loadTeam(tx, callerTeam(caller, input.teamId));
      const key = chosenKey ? chosenApiKey(chosenKey) : issueApiKey();
      const member = tx.create(Member, {
        team,
        name,
        email,
        role: 'user',
        status: 'active',
        username: await freeUsername(tx, name, email),
        sharesMasterBalance: input.sharesMasterBalance ?? false,
        apiKeyHash: key.hash,
        apiKeyPrefix: key.visiblePrefix,
      });
      await flushUnique(
        tx,
        email
          ? `${email} is already a member of this team`
          : chosenKey
            ? 'That secret is already in use; choose another'
            : 'That member already exists',
      );
      await recordAudit(tx, {
        teamId: team.id,
        actor: caller.party,
        action: 'member.created',
        subjectMemberId: member.id,
        details: { name, email, sharesMasterBalance: member.sharesMasterBalance },
      });
      return { member: toMemberView(member), apiKey: key.key };
    });
  }

  /**
   * Renames a member, changes its username, or switches how its sends are paid. A member may
   * change its own username; names and payment are for managers. Switching to the master balance
   * needs the member's own balance at zero (it would otherwise sit unused); switching back starts
   * from zero. The member row is locked, so a credit cannot slip in between check and switch.
   */
  async update(
    actor: Actor,
    ref: MemberRef,
    input: { name?: string | null; username?: string | null; sharesMasterBalance?: boolean | null },
  ): Promise<MemberView> {
    const name = input.name == null ? null : requireName(input.name);
    const username = input.username == null ? null : requireUsername(input.username);
    const shares = input.sharesMasterBalance ?? null;
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      const member = await findMember(tx, callerTeam(caller), ref);
      if (name !== null || shares !== null) requireManager(caller, 'change members');
      else requireSelfOrManager(caller, member, "change other members' usernames");
      if (member.status === 'closed') throw new ConflictError(`${member.name} is closed`);
      const before = {
        name: member.name,
        username: member.username,
        sharesMasterBalance: member.sharesMasterBalance,
      };
      if (shares !== null && shares !== member.sharesMasterBalance) {
        if (member.role === 'owner') {
          throw new ConflictError('The owner always sends from the master balance');
        }
        // The ledger's lock order (team row, then the member), so this cannot deadlock with a
        // transfer or charge (docs/ledger.md).
        await lockTeamAndMembers(tx, member.team.id, [member.id]);
        const locked = await queryOne<{ balance: string; credit_limit: string }>(
          tx,
          'select balance, credit_limit from members where id = ?',
          [member.id],
        );
        if (shares && BigInt(locked!.balance) !== 0n) {
          throw new ConflictError(
            `${member.name} still has a balance of its own; debit it to the master balance before it shares the master balance`,
          );
        }
        if (shares && BigInt(locked!.credit_limit) !== 0n) {
          throw new ConflictError(
            `${member.name} still has a credit limit of its own; transfer it back to the primary account before it shares the master balance`,
          );
        }
        member.sharesMasterBalance = shares;
      }
      if (name !== null) member.name = name;
      if (username !== null) member.username = username;
      await flushUnique(tx, `The username ${username} is taken; choose another`);
      const after = {
        name: member.name,
        username: member.username,
        sharesMasterBalance: member.sharesMasterBalance,
      };
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        await recordAudit(tx, {
          teamId: member.team.id,
          actor: caller.party,
          action: 'member.updated',
          subjectMemberId: member.id,
          details: { before, after },
        });
      }
      return toMemberView(member);
    });
  }

  enable(actor: Actor, ref: MemberRef): Promise<MemberView> {
    return this.#setActive(actor, ref, true);
  }

  disable(actor: Actor, ref: MemberRef): Promise<MemberView> {
    return this.#setActive(actor, ref, false);
  }

  async #setActive(actor: Actor, ref: MemberRef, active: boolean): Promise<MemberView> {
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, active ? 'enable members' : 'disable members');
      const member = await findMember(tx, callerTeam(caller), ref);
      requireNotOwner(member, active ? 'enabled' : 'disabled');
      if (member.status === 'closed' || member.status === 'invited') {
        throw new ConflictError(
          `${member.name} is ${member.status} and cannot be ${active ? 'enabled' : 'disabled'}`,
        );
      }
      const target: MemberStatus = active ? 'active' : 'inactive';
      if (member.status === target) return toMemberView(member);
      const before = member.status;
      member.status = target;
      await tx.flush();
      await recordAudit(tx, {
        teamId: member.team.id,
        actor: caller.party,
        action: active ? 'member.enabled' : 'member.disabled',
        subjectMemberId: member.id,
        details: { before, after: target },
      });
      return toMemberView(member);
    });
  }

  /**
   * Closes a sub-account: its remaining balance returns to the master in the same transaction, and
   * the credit limit it was lent to the primary account (a member below zero must be credited
   * first), its key stops working, its rule is removed, its history stays.
   */
  async close(actor: Actor, ref: MemberRef): Promise<{ member: MemberView; returned: bigint }> {
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'delete members');
      const teamId = callerTeam(caller);
      const found = await findMember(tx, teamId, ref);
      requireNotOwner(found, 'deleted');
      // Master row first, then the member: the ledger's lock order, so this cannot deadlock with
      // transfers or charges (docs/ledger.md).
      await lockTeamAndMembers(tx, teamId, [found.id]);
      const locked = await queryOne<{
        status: MemberStatus;
        balance: string;
        credit_limit: string;
        currency: string;
      }>(
        tx,
        `select m.status, m.balance, m.credit_limit, t.currency
           from members m join teams t on t.id = m.team_id where m.id = ?`,
        [found.id],
      );
      if (!locked || locked.status === 'closed') throw new ConflictError(`${found.name} is already closed`);
      const balance = BigInt(locked.balance);
      if (balance < 0n) {
        throw new ConflictError(
          `${found.name} owes ${formatMoney(-balance, locked.currency)} (its balance is below zero, within its credit limit): credit the member before closing it`,
        );
      }
      if (balance > 0n) {
        await applyPosting(tx, {
          teamId,
          kind: 'close_out',
          memberId: found.id,
          amount: balance,
          idempotencyKey: `close-out-${found.id}`,
          reason: 'Sub-account closed',
          actor: caller.party,
          memberStatuses: ['active', 'inactive'],
        });
      }
      // Credit the primary account lent returns to it: a closed member can spend nothing.
      const creditLimit = BigInt(locked.credit_limit);
      if (creditLimit > 0n) {
        await moveCreditLimit(tx, {
          teamId,
          memberId: found.id,
          direction: 'to_primary',
          amount: creditLimit,
          reference: 'Sub-account closed',
          actor: caller.party,
          settling: true,
        });
      }
      if (locked.status === 'invited') {
        await tx.execute(
          "update invitations set status = 'revoked', decided_at = now() where member_id = ? and status = 'pending'",
          [found.id],
        );
      }
      await tx.execute(
        `update members set status = 'closed', closed_at = now(), updated_at = now(), api_key_hash = null
          where id = ?`,
        [found.id],
      );
      await tx.execute('delete from auto_recharge_rules where member_id = ?', [found.id]);
      await recordAudit(tx, {
        teamId,
        actor: caller.party,
        action: 'member.closed',
        subjectMemberId: found.id,
        details: { before: locked.status, returned: balance, creditLimitReturned: creditLimit },
      });
      const closed = await tx.refreshOrFail(found);
      return { member: toMemberView(closed), returned: balance };
    });
  }

  /** A new API key for the member (the old one stops working at once); shown this once. */
  async rotateKey(actor: Actor, ref: MemberRef): Promise<{ member: MemberView; apiKey: string }> {
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      const member = await findMember(tx, callerTeam(caller), ref);
      requireSelfOrManager(caller, member, "rotate other members' keys");
      requireOwnerOverManagers(
        caller,
        member,
        `rotate ${member.role === 'owner' ? "the owner's" : "another admin's"} key`,
      );
      if (member.status === 'closed' || member.status === 'invited') {
        throw new ConflictError(`${member.name} is ${member.status} and has no key to rotate`);
      }
      const key = issueApiKey();
      const previousPrefix = member.apiKeyPrefix;
      member.apiKeyHash = key.hash;
      member.apiKeyPrefix = key.visiblePrefix;
      await tx.flush();
      await recordAudit(tx, {
        teamId: member.team.id,
        actor: caller.party,
        action: 'member.key_rotated',
        subjectMemberId: member.id,
        details: { before: previousPrefix, after: key.visiblePrefix },
      });
      return { member: toMemberView(member), apiKey: key.key };
    });
  }

  /** Maps a Slack user to a member, so that user's /team commands act as that member. */
  async link(actor: Actor, ref: MemberRef, slackUserId: string): Promise<MemberView> {
    if (!/^[UW][A-Z0-9]{2,30}$/.test(slackUserId)) {
      throw new ValidationError('slack user', 'slack user must be a Slack user mention like @alice');
    }
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'link Slack users');
      const member = await findMember(tx, callerTeam(caller), ref);
      requireOwnerOverManagers(
        caller,
        member,
        `link a Slack user to ${member.role === 'owner' ? 'the owner' : 'another admin'}`,
      );
      if (member.status === 'closed') throw new ConflictError(`${member.name} is closed`);
      const before = member.slackUserId ?? null;
      member.slackUserId = slackUserId;
      await flushUnique(tx, `<@${slackUserId}> is already linked to another member of this team`);
      await recordAudit(tx, {
        teamId: member.team.id,
        actor: caller.party,
        action: 'member.linked',
        subjectMemberId: member.id,
        details: { before, after: slackUserId },
      });
      return toMemberView(member);
    });
  }
}

/** Vonage's rule for a secret a client chooses: 8–25 characters with a lowercase letter, a capital and a digit. */
function requireChosenKey(value: unknown): string {
  const text = typeof value === 'string' ? value : '';
  if (text.length < 8 || text.length > 25 || !/[a-z]/.test(text) || !/[A-Z]/.test(text) || !/\d/.test(text)) {
    throw new ValidationError(
      'secret',
      'secret must be 8–25 characters with at least one lowercase letter, one capital letter and one digit',
    );
  }
  return text;
}

function requireStatus(value: string): MemberStatus {
  const status = value.trim().toLowerCase();
  if (!(MEMBER_STATUSES as readonly string[]).includes(status)) {
    throw new ValidationError('status', `status must be one of ${MEMBER_STATUSES.join(', ')}`);
  }
  return status as MemberStatus;
}

/**
 * A new key or a Slack link lets whoever holds it act as that member: an admin taking them over
 * for the owner or another admin could approve its own ownership handover or role changes.
 */
function requireOwnerOverManagers(caller: Caller, member: IMember, what: string): void {
  if (caller.kind !== 'member' || caller.member.id === member.id || member.role === 'user') return;
  if (caller.member.role !== 'owner') throw new ForbiddenError(`Only the owner can ${what}`);
}

function requireNotOwner(member: IMember, what: string): void {
  if (member.role === 'owner') {
    throw new ForbiddenError(
      `The owner cannot be ${what}; hand ownership to someone else first (/team role)`,
    );
  }
}

/** Flushes, turning a unique-index violation into a conflict a person understands. */
export async function flushUnique(em: EntityManager, message: string): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw new ConflictError(message);
    throw error;
  }
}

export type { Caller };
