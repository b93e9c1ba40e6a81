import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.ts';
import type { MemberStatus } from '../members/member.entity.ts';
import { queryOne } from '../platform/sql.ts';
import type { ActingParty } from '../shared/actor.ts';
import { ConflictError, InsufficientFundsError, NotFoundError } from '../shared/errors.ts';
import { formatMoney, type Micros } from '../shared/money.ts';
import { lockTeamAndMembers } from './lock-order.ts';

/** Which way credit limit moves: lent by the primary account to a member, or returned to it. */
export type CreditLimitDirection = 'to_member' | 'to_primary';

export interface CreditLimitTransfer {
  transferId: string;
  direction: CreditLimitDirection;
  amount: Micros;
  memberId: number;
  reference: string | null;
  currency: string;
  /** The primary account's own credit limit and the member's, after the transfer. */
  primaryCreditLimit: Micros;
  memberCreditLimit: Micros;
  createdAt: Date;
}

interface Locked {
  master_balance: string;
  team_credit_limit: string;
  currency: string;
  name: string;
  role: string;
  status: MemberStatus;
  balance: string;
  credit_limit: string;
  shares_master_balance: boolean;
}

/**
 * Credit limit a balance has not used: the part of its limit its balance is not below zero by.
 * Only that part may move, so no balance is ever left beyond its limit (withinCreditLimit).
 */
export function unusedCreditLimit(balance: bigint, creditLimit: bigint): bigint {
  return creditLimit + (balance < 0n ? balance : 0n);
}

/**
 * Moves credit limit between the primary account (the team's facility, `teams.credit_limit`) and
 * a member, in the caller's transaction: the team row and the member locked in the ledger's lock
 * order, the two limits updated, one immutable `credit_limit_transfer` row and its audit event.
 * No money moves, so the money books are untouched; the team's total credit limit (its own plus
 * its members') stays the same. Only an active member with a balance of its own takes part,
 * except when it is being closed or made the owner (`settling`), which returns its limit.
 */
export async function moveCreditLimit(
  tx: EntityManager,
  input: {
    teamId: number;
    memberId: number;
    direction: CreditLimitDirection;
    amount: Micros;
    reference: string | null;
    actor: ActingParty;
    /** The member is being closed or becomes the owner: its limit returns whatever its status. */
    settling?: boolean;
  },
): Promise<CreditLimitTransfer> {
  await lockTeamAndMembers(tx, input.teamId, [input.memberId]);
  const row = await queryOne<Locked>(
    tx,
    `select t.master_balance, t.credit_limit as team_credit_limit, t.currency,
            m.name, m.role, m.status, m.balance, m.credit_limit, m.shares_master_balance
       from teams t join members m on m.team_id = t.id
      where t.id = ? and m.id = ?`,
    [input.teamId, input.memberId],
  );
  if (!row) throw new NotFoundError(`There is no member #${input.memberId} in this team`);
  const money = (micros: bigint) => formatMoney(micros, row.currency);
  if (row.role === 'owner') {
    throw new ConflictError("The owner's credit limit is the primary account's; lend it to another member");
  }
  if (!input.settling && row.status !== 'active') {
    throw new ConflictError(
      `${row.name} is ${row.status}: credit limit moves only to and from active members`,
    );
  }
  if (row.shares_master_balance) {
    throw new ConflictError(`${row.name} sends from the master balance and has no credit limit of its own`);
  }
  const primaryBefore = BigInt(row.team_credit_limit);
  const memberBefore = BigInt(row.credit_limit);
  const toMember = input.direction === 'to_member';
  const available = toMember
    ? unusedCreditLimit(BigInt(row.master_balance), primaryBefore)
    : unusedCreditLimit(BigInt(row.balance), memberBefore);
  if (input.amount > available) {
    throw new InsufficientFundsError(
      toMember
        ? `The primary account has ${money(available)} of credit limit to lend, not enough for ${money(input.amount)}`
        : `${row.name} has ${money(available)} of unused credit limit, not enough to return ${money(input.amount)}`,
    );
  }
  const primaryAfter = toMember ? primaryBefore - input.amount : primaryBefore + input.amount;
  const memberAfter = toMember ? memberBefore + input.amount : memberBefore - input.amount;
  await tx.execute('update teams set credit_limit = ?, updated_at = now() where id = ?', [
    primaryAfter.toString(),
    input.teamId,
  ]);
  await tx.execute('update members set credit_limit = ?, updated_at = now() where id = ?', [
    memberAfter.toString(),
    input.memberId,
  ]);
  const key = `credit-limit-${randomUUID()}`;
  const inserted = await queryOne<{ id: string; created_at: string | Date }>(
    tx,
    `insert into transfers (team_id, kind, from_member_id, to_member_id, amount, idempotency_key, request_hash,
                            reason, actor_kind, actor_member_id, via, created_at)
     values (?, 'credit_limit_transfer', ?, ?, ?, ?, ?, ?, ?, ?, ?, now())
     returning id::text as id, created_at`,
    [
      input.teamId,
      toMember ? null : input.memberId,
      toMember ? input.memberId : null,
      input.amount.toString(),
      key,
      createHash('sha256').update(key).digest('hex'),
      input.reference,
      input.actor.kind,
      input.actor.memberId,
      input.actor.via,
    ],
  );
  await recordAudit(tx, {
    teamId: input.teamId,
    actor: input.actor,
    action: 'ledger.credit_limit_transfer',
    subjectMemberId: input.memberId,
    details: {
      transferId: inserted!.id,
      direction: input.direction,
      amount: input.amount,
      reason: input.reference ?? undefined,
      primaryCreditLimitBefore: primaryBefore,
      primaryCreditLimitAfter: primaryAfter,
      memberCreditLimitBefore: memberBefore,
      memberCreditLimitAfter: memberAfter,
    },
  });
  return {
    transferId: inserted!.id,
    direction: input.direction,
    amount: input.amount,
    memberId: input.memberId,
    reference: input.reference,
    currency: row.currency,
    primaryCreditLimit: primaryAfter,
    memberCreditLimit: memberAfter,
    createdAt: new Date(inserted!.created_at),
  };
}

/**
 * The primary account's own credit facility, as the operator sets it (what the provider extends
 * to the reseller). It cannot go below what the master balance already uses of it.
 */
export async function setPrimaryCreditLimit(
  tx: EntityManager,
  input: { teamId: number; creditLimit: Micros; actor: ActingParty },
): Promise<{ before: Micros; after: Micros; currency: string }> {
  await lockTeamAndMembers(tx, input.teamId, []);
  const team = await queryOne<{ master_balance: string; credit_limit: string; currency: string }>(
    tx,
    'select master_balance, credit_limit, currency from teams where id = ?',
    [input.teamId],
  );
  if (!team) throw new NotFoundError(`Team ${input.teamId} does not exist`);
  const balance = BigInt(team.master_balance);
  if (balance < -input.creditLimit) {
    throw new ConflictError(
      `The master balance is ${formatMoney(balance, team.currency)}: the credit limit cannot be less than ${formatMoney(-balance, team.currency)}`,
    );
  }
  const before = BigInt(team.credit_limit);
  await tx.execute('update teams set credit_limit = ?, updated_at = now() where id = ?', [
    input.creditLimit.toString(),
    input.teamId,
  ]);
  await recordAudit(tx, {
    teamId: input.teamId,
    actor: input.actor,
    action: 'team.credit_limit_set',
    details: { before, after: input.creditLimit },
  });
  return { before, after: input.creditLimit, currency: team.currency };
}
