import type { EntityManager } from '@mikro-orm/postgresql';
import { lockTeamAndMembers } from '../ledger/lock-order.ts';
import { applyPostings, type Posting } from '../ledger/postings.ts';
import { giveBackSpend } from '../ledger/spending-limits.ts';
import { queryAll, run } from '../platform/sql.ts';
import { systemParty } from '../shared/actor.ts';
import { applyRollupDeltas, type RollupDelta, TEAM_DAY_SQL } from '../stats/rollups.ts';
import type { MessageStatus } from './message.entity.ts';

export type FinalStatus = 'delivered' | 'failed';

export interface Outcome {
  messageId: string;
  status: FinalStatus;
  error?: string | null;
}

interface LockedMessage {
  id: string;
  team_id: number;
  member_id: number;
  status: MessageStatus;
  cost: string;
  day: string;
  /** Whether the master balance paid for it (the owner's messages). */
  master_paid: boolean;
}

/** Delivered and failed are final: a later or repeated report changes nothing. */
const OPEN: ReadonlySet<MessageStatus> = new Set(['queued', 'sent']);

/**
 * Records final outcomes inside the caller's transaction. The message rows are locked first (in
 * id order), so two reports about the same message are applied one after the other and the
 * second finds it already final: a failed message is refunded exactly once. The refund transfer's
 * idempotency key (one per message) backs that up in the ledger itself. Statistics of the day the
 * message was created move in the same transaction. Returns how many outcomes changed something.
 */
export async function recordOutcomes(em: EntityManager, outcomes: readonly Outcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  const locked = await queryAll<LockedMessage>(
    em,
    `select id::text as id, team_id, member_id, status, cost, ${TEAM_DAY_SQL('created_at', 'messages.team_id')}::text as day,
            exists (select 1 from transfers t
                     where t.id = messages.charge_transfer_id and t.kind = 'master_message_charge') as master_paid
       from messages
      where id = any(array(select jsonb_array_elements_text(?::jsonb)::bigint))
      order by id
        for update`,
    [JSON.stringify([...new Set(outcomes.map((o) => o.messageId))])],
  );
  const byId = new Map(locked.map((m) => [m.id, m]));
  const changes = new Map<string, { message: LockedMessage; outcome: Outcome }>();
  for (const outcome of outcomes) {
    const message = byId.get(outcome.messageId);
    if (!message || !OPEN.has(message.status) || changes.has(message.id)) continue;
    changes.set(message.id, { message, outcome });
  }
  if (changes.size === 0) return 0;

  // One refund posting per failed message, keyed by the message: the ledger refuses to pay it twice.
  const failures = [...changes.values()].filter((c) => c.outcome.status === 'failed');
  // The senders' teams and then the senders, in the ledger's lock order (docs/ledger.md), before
  // asking which are closed: a close that commits while this waits is then seen, and its refund
  // does not stay behind on a closed sub-account.
  const senders = new Map<number, number[]>();
  for (const { message } of failures)
    senders.set(message.team_id, [...(senders.get(message.team_id) ?? []), message.member_id]);
  for (const teamId of [...senders.keys()].sort((a, b) => a - b))
    await lockTeamAndMembers(em, teamId, senders.get(teamId)!);
  // A sender closed since it sent gets its refund, and the refund then follows the rest of its
  // money to the master balance.
  const closed = new Set(
    (
      await queryAll<{ id: number }>(
        em,
        `select id from members where status = 'closed'
            and id = any(array(select jsonb_array_elements_text(?::jsonb)::int))`,
        [JSON.stringify(failures.map(({ message }) => message.member_id))],
      )
    ).map((row) => row.id),
  );
  const system = systemParty('worker');
  const postings = failures.flatMap(({ message }): { messageId: string; posting: Posting }[] => {
    // Back where the money came from: the master balance for the owner's messages, whoever owns
    // the team by now and whatever became of the sender; otherwise the sender's balance.
    const refund: Posting = {
      teamId: message.team_id,
      kind: message.master_paid ? 'master_refund' : 'refund',
      memberId: message.member_id,
      amount: BigInt(message.cost),
      idempotencyKey: `message-refund-${message.id}`,
      reason: `SMS ${message.id} failed`,
      actor: system,
      memberStatuses: ['active', 'inactive', 'closed'],
    };
    if (message.master_paid || !closed.has(message.member_id))
      return [{ messageId: message.id, posting: refund }];
    return [
      { messageId: message.id, posting: refund },
      {
        messageId: message.id,
        posting: {
          ...refund,
          kind: 'close_out',
          idempotencyKey: `message-refund-close-out-${message.id}`,
          reason: `Refund of SMS ${message.id} to a closed sub-account, returned to the master balance`,
          memberStatuses: ['closed'],
        },
      },
    ];
  });
  const posted = await applyPostings(
    em,
    postings.map((entry) => entry.posting),
  );
  const refundTransfers = new Map<string, string>();
  const givenBack: { memberId: number; amount: bigint }[] = [];
  posted.forEach((outcome, i) => {
    if (!outcome.ok) throw outcome.error;
    const { messageId, posting } = postings[i]!;
    if (posting.kind === 'refund' || posting.kind === 'master_refund') {
      refundTransfers.set(messageId, outcome.value.transferId);
      if (!outcome.value.replayed) givenBack.push({ memberId: posting.memberId!, amount: posting.amount });
    }
  });
  // Room in the senders' monthly spending limits, while their rows are held (docs/ledger.md).
  await giveBackSpend(em, givenBack);

  await run(
    em,
    `update messages m
        set status = u.status, error = u.error, finished_at = now(),
            refund_transfer_id = u.refund_transfer_id,
            refunded_at = case when u.refund_transfer_id is null then null else now() end
       from jsonb_to_recordset(?::jsonb) as u(id bigint, status text, error text, refund_transfer_id bigint)
      where m.id = u.id`,
    [
      JSON.stringify(
        [...changes.values()].map(({ message, outcome }) => ({
          id: message.id,
          status: outcome.status,
          error: outcome.status === 'failed' ? (outcome.error ?? 'failed').slice(0, 500) : null,
          refund_transfer_id: refundTransfers.get(message.id) ?? null,
        })),
      ),
    ],
  );

  const deltas: RollupDelta[] = [...changes.values()].map(({ message, outcome }) =>
    outcome.status === 'delivered'
      ? { teamId: message.team_id, memberId: message.member_id, day: message.day, delivered: 1 }
      : {
          teamId: message.team_id,
          memberId: message.member_id,
          day: message.day,
          failed: 1,
          refunded: BigInt(message.cost),
        },
  );
  await applyRollupDeltas(em, deltas);
  return changes.size;
}
