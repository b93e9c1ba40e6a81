import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  applyPostings,
  POSTING_RECORD_WRITES,
  type Posting,
  type PostingOutcome,
  SQL_GUARDS,
} from '../ledger/postings.ts';
import { chargeWithinSpendingLimit } from '../ledger/spending-limits.ts';
import type { Role } from '../members/member.entity.ts';
import { enqueueJob, enqueueJobsFrom, withRequestId } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { postings as postingsCounter, smsCharges } from '../platform/metrics.ts';
import { type PreparedStatement, runPrepared } from '../platform/prepared.ts';
import { queryAll, queryOne } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import type { Channel } from '../shared/actor.ts';
import { ConflictError, ForbiddenError, UnauthenticatedError } from '../shared/errors.ts';
import type { Micros } from '../shared/money.ts';
import type { Settled } from '../shared/write-combiner.ts';
import { rollupUpsertSql, TEAM_DAY_SQL } from '../stats/rollups.ts';
import type { MessageStatus } from './message.entity.ts';
import { e164Digits } from './phone.ts';
import { type PriceEntry, PriceList, priceForSql } from './pricing.ts';
import type { SendRequest } from './send-request.ts';
import type { SendResult, SentMessage } from './views.ts';

/** One member's send request, validated, waiting to be charged together with others. */
export interface ChargeRequest extends SendRequest {
  memberId: number;
  via: Channel;
}

export interface ChargeSettings {
  provider: string;
  /** Price per part when the team's price list has no match and no default. */
  productDefaultPrice: Micros;
}

interface Sender {
  team_id: number;
  status: string;
  role: Role;
  shares_master_balance: boolean;
  prices: { prefix: string; price: string }[];
}

interface Priced {
  request: ChargeRequest;
  recipients: { to: string; unitPrice: Micros; cost: Micros }[];
  total: Micros;
}

interface StoredMessage {
  id: string;
  charge_transfer_id: string;
  request_index: number;
  recipient: string;
  body: string;
  parts: number;
  cost: string;
  status: MessageStatus;
}

/**
 * Charges a batch of send requests of one member in one transaction: the charge postings (see
 * chargeRequests) through the ledger's batched posting path, which locks the member row, refuses
 * what the balance cannot pay for and asks for the balance-low job when a charge crosses the
 * member's level; then the message rows of the charged requests with the statistics rollup (one
 * statement), and one dispatch job. A refused request writes nothing and leaves the others alone.
 * A request whose idempotency key was used before gets the messages its first charge paid for.
 *
 * The whole batch commits or none of it does, so a process dying mid-batch leaves no charge
 * without its messages and no message without its charge; callers that got no answer retry
 * with their idempotency key and are charged at most once.
 */
export async function chargeBatch(
  em: EntityManager,
  memberId: number,
  batch: readonly ChargeRequest[],
  settings: ChargeSettings,
): Promise<Settled<SendResult>[]> {
  return transact(em, async (tx) => {
    // Read without a lock, for a clear refusal and the prices; the posting locks the member.
    const sender = await queryOne<Sender>(
      tx,
      `select m.team_id, m.status, m.role, m.shares_master_balance,
              (select coalesce(jsonb_agg(jsonb_build_object('prefix', p.prefix, 'price', p.price::text)), '[]')
                 from message_prices p where p.team_id = m.team_id) as prices
         from members m where m.id = ?`,
      [memberId],
    );
    if (!sender) return batch.map(() => refused(new UnauthenticatedError('This sub-account does not exist')));
    if (sender.status !== 'active') {
      const error = new ForbiddenError(`This sub-account is ${sender.status}: it cannot send messages`);
      return batch.map(() => refused(error));
    }
    const teamId = sender.team_id;
    const prices = new PriceList(
      sender.prices.map((p): PriceEntry => ({ prefix: p.prefix, price: BigInt(p.price) })),
      settings.productDefaultPrice,
    );
    const priced: Priced[] = batch.map((request) => {
      const parts = BigInt(request.segmentation.parts);
      const recipients = request.recipients.map((to) => {
        const unitPrice = prices.priceFor(to).price;
        return { to, unitPrice, cost: unitPrice * parts };
      });
      return { request, recipients, total: recipients.reduce((sum, r) => sum + r.cost, 0n) };
    });

    const master = masterPays(sender);
    const charges = await chargeWithinSpendingLimit(
      tx,
      { teamId, memberId, masterPays: master !== null },
      priced.map((p) => p.total),
      (indices) =>
        chargeRequests(
          tx,
          teamId,
          memberId,
          master,
          indices.map((i) => priced[i]!),
        ),
      (indices) => sentBefore(tx, memberId, indices, priced),
    );
    const charged = charges.flatMap((c, index) =>
      c.ok && !c.replayed ? [{ index, transferId: c.transferId }] : [],
    );
    const fresh = await writeMessages(tx, teamId, memberId, priced, charged, settings);
    const replayedKeys = charges.flatMap((c, i) =>
      c.ok && c.replayed ? [priced[i]!.request.idempotencyKey!] : [],
    );
    const earlier = await loadReplayedMessages(tx, memberId, replayedKeys);

    const payer = sender.role === 'owner' ? 'owner' : 'member';
    for (const charge of charges) {
      smsCharges.inc({
        kind: payer,
        outcome: !charge.ok ? 'refused' : charge.replayed ? 'replayed' : 'charged',
      });
    }
    return charges.map((charge, i): Settled<SendResult> => {
      if (!charge.ok) return refused(charge.error);
      const { request } = priced[i]!;
      const result = {
        balance: charge.balance,
        currency: charge.currency,
        encoding: request.segmentation.encoding,
      };
      if (!charge.replayed)
        return { ok: true, value: { ...result, messages: fresh.get(i)!, replayed: false } };
      const stored = earlier.get(charge.transferId) ?? [];
      if (!sameRequest(stored, request)) {
        return refused(
          new ConflictError(
            `Idempotency-Key "${request.idempotencyKey}" was already used for a different message; use a new key for a new message`,
          ),
        );
      }
      return { ok: true, value: { ...result, messages: stored.map(toSent), replayed: true } };
    });
  });
}

/**
 * Who pays: the owner's money is the master balance, and a member sharing the master balance
 * (Vonage's use_primary_account_balance) sends from it too. Either way the charge is a
 * master_message_charge naming the sender, so its refund, statistics and audit follow.
 */
function masterPays(sender: Sender): { roles: readonly Role[] } | null {
  if (sender.role === 'owner') return { roles: ['owner'] };
  return sender.shares_master_balance ? { roles: ['admin', 'user'] } : null;
}

type Charge =
  | { ok: true; transferId: string; balance: Micros; currency: string; replayed: boolean }
  | { ok: false; error: unknown };

/**
 * The charge postings of a batch, one answer per request. The owner's messages are paid from
 * the master balance (its money), everyone else's from their own balance; the posting checks the
 * role again on the locked row, so a handover in between is refused rather than charged twice
 * or to the wrong balance. Requests with an idempotency key get a
 * posting each, keyed by it, so the ledger recognises a retry. Requests without one share a single
 * posting — one transfer and one audit event instead of one per request, which is most of what
 * a charge costs — and only if the balance cannot pay for all of them together are they posted
 * one by one, so that exactly those the balance covers, in order, are charged.
 */
async function chargeRequests(
  tx: EntityManager,
  teamId: number,
  memberId: number,
  master: { roles: readonly Role[] } | null,
  priced: readonly Priced[],
): Promise<Charge[]> {
  const ownerPays = master !== null;
  const posting = (amount: Micros, key: string | null, count: number, via: Channel): Posting => ({
    teamId,
    kind: ownerPays ? 'master_message_charge' : 'message_charge',
    memberRoles: master?.roles ?? ['admin', 'user'],
    memberId,
    amount,
    idempotencyKey: chargeKey(memberId, key),
    reason: `${count} SMS`,
    actor: { kind: 'member', memberId, via },
    memberStatuses: ['active'],
  });
  const alone = (i: number) => {
    const { request, recipients, total } = priced[i]!;
    return posting(total, request.idempotencyKey, recipients.length, request.via);
  };
  const keyless = priced.flatMap((p, i) => (p.request.idempotencyKey === null ? [i] : []));
  const keyed = priced.flatMap((p, i) => (p.request.idempotencyKey === null ? [] : [i]));
  const groups = [...(keyless.length > 1 ? [keyless] : keyless.map((i) => [i])), ...keyed.map((i) => [i])];
  const shared = (group: number[]) =>
    posting(
      group.reduce((sum, i) => sum + priced[i]!.total, 0n),
      null,
      group.reduce((n, i) => n + priced[i]!.recipients.length, 0),
      priced[group[0]!]!.request.via,
    );

  const charges: Charge[] = [];
  const settle = (group: number[], outcome: PostingOutcome): number[] => {
    if (!outcome.ok) {
      if (group.length > 1) return group;
      charges[group[0]!] = { ok: false, error: outcome.error };
      return [];
    }
    // The balance after each request, as if they had been charged one after the other.
    const after = ownerPays ? outcome.value.masterBalance! : outcome.value.memberBalance!;
    let balance = after + (outcome.value.replayed ? 0n : outcome.value.amount);
    for (const i of group) {
      if (!outcome.value.replayed) balance -= priced[i]!.total;
      charges[i] = {
        ok: true,
        transferId: outcome.value.transferId,
        balance,
        currency: outcome.value.currency,
        replayed: outcome.value.replayed,
      };
    }
    return [];
  };
  const outcomes = await applyPostings(
    tx,
    groups.map((group) => (group.length > 1 ? shared(group) : alone(group[0]!))),
  );
  const oneByOne = groups.flatMap((group, g) => settle(group, outcomes[g]!));
  if (oneByOne.length > 0) {
    const again = await applyPostings(tx, oneByOne.map(alone));
    oneByOne.forEach((i, k) => {
      settle([i], again[k]!);
    });
  }
  return charges;
}

/**
 * The charge transfer's idempotency key: derived from the sender's key, so a retry finds the
 * first charge; a request without a key gets a key of its own and is never a replay.
 */
function chargeKey(memberId: number, requestKey: string | null): string {
  if (requestKey === null) return `sms-${randomUUID()}`;
  return `sms-${memberId}-${createHash('sha256').update(requestKey).digest('hex')}`;
}

/** The message rows of the charged requests with their rollup, and the dispatch job; the rows by request. */
async function writeMessages(
  tx: EntityManager,
  teamId: number,
  memberId: number,
  priced: readonly Priced[],
  charged: readonly { index: number; transferId: string }[],
  settings: ChargeSettings,
): Promise<Map<number, SentMessage[]>> {
  const byRequest = new Map<number, SentMessage[]>();
  if (charged.length === 0) return byRequest;
  const requests = charged.map(({ index, transferId }, req) => {
    const { request } = priced[index]!;
    return {
      req,
      body: request.text,
      sender_id: request.senderId,
      encoding: request.segmentation.encoding,
      parts: request.segmentation.parts,
      request_key: request.idempotencyKey,
      charge_transfer_id: transferId,
    };
  });
  const rows = charged.flatMap(({ index }, req) =>
    priced[index]!.recipients.map((r, recipient) => ({
      req,
      recipient: r.to,
      request_index: recipient,
      unit_price: r.unitPrice.toString(),
      cost: r.cost.toString(),
    })),
  );
  const inserted = await queryAll<{ req: number; request_index: number; id: string }>(
    tx,
    `with input as materialized (
       select nextval('messages_id_seq') as id, r.req, r.recipient, r.request_index, r.unit_price, r.cost
         from jsonb_to_recordset(?::jsonb) as r(req int, recipient text, request_index int, unit_price bigint, cost bigint)
     ),
     requests as (
       select * from jsonb_to_recordset(?::jsonb) as q(req int, body text, sender_id text, encoding text, parts int,
                                                        request_key text, charge_transfer_id bigint)
     ),
     written as (
       insert into messages (id, team_id, member_id, recipient, body, sender_id, encoding, parts, unit_price, cost,
                             status, provider, request_key, request_index, charge_transfer_id, created_at)
       select i.id, ?, ?, i.recipient, q.body, q.sender_id, q.encoding, q.parts, i.unit_price, i.cost,
              'queued', ?, q.request_key, i.request_index, q.charge_transfer_id, now()
         from input i join requests q using (req)
        order by i.id
     ),
     rollup as (
       ${rollupUpsertSql(
         `select ?::int, ${TEAM_DAY_SQL('now()', '?::int')}, ?::int, count(*), sum(q.parts), sum(i.cost), 0, 0, 0
            from input i join requests q using (req)`,
       )}
     )
     select req, request_index, id::text as id from input order by id`,
    [
      JSON.stringify(rows),
      JSON.stringify(requests),
      teamId,
      memberId,
      settings.provider,
      memberId,
      teamId,
      teamId,
    ],
  );

  for (const m of inserted) {
    const index = charged[m.req]!.index;
    const { request, recipients } = priced[index]!;
    const list = byRequest.get(index) ?? [];
    list[m.request_index] = {
      id: m.id,
      to: recipients[m.request_index]!.to,
      parts: request.segmentation.parts,
      cost: recipients[m.request_index]!.cost,
      status: 'queued',
    };
    byRequest.set(index, list);
  }
  const messageIds = inserted.map((m) => m.id);
  await enqueueJob(tx, 'message.dispatch', { messageIds }, { dedupKey: `message-dispatch-${messageIds[0]}` });
  return byRequest;
}

/**
 * The messages of the requests the ledger replayed, by their charge transfer. A replay always
 * carries an idempotency key, so they are found by key (also ones written earlier in this
 * transaction).
 */
async function loadReplayedMessages(
  tx: EntityManager,
  memberId: number,
  requestKeys: readonly string[],
): Promise<Map<string, StoredMessage[]>> {
  const found = new Map<string, StoredMessage[]>();
  if (requestKeys.length === 0) return found;
  const rows = await queryAll<StoredMessage>(
    tx,
    `select id::text as id, charge_transfer_id::text as charge_transfer_id, request_index, recipient, body, parts,
            cost, status
       from messages
      where member_id = ? and request_key = any(array(select jsonb_array_elements_text(?::jsonb)))
      order by charge_transfer_id, request_index`,
    [memberId, JSON.stringify([...new Set(requestKeys)])],
  );
  for (const row of rows) {
    const list = found.get(row.charge_transfer_id) ?? [];
    list.push(row);
    found.set(row.charge_transfer_id, list);
  }
  return found;
}

/** Which of these requests carry an idempotency key this member already sent with (a retry). */
async function sentBefore(
  tx: EntityManager,
  memberId: number,
  indices: readonly number[],
  priced: readonly Priced[],
): Promise<Set<number>> {
  const keyed = indices.filter((i) => priced[i]!.request.idempotencyKey !== null);
  if (keyed.length === 0) return new Set();
  const used = await queryAll<{ request_key: string }>(
    tx,
    `select distinct request_key from messages
      where member_id = ? and request_key = any(array(select jsonb_array_elements_text(?::jsonb)))`,
    [memberId, JSON.stringify(keyed.map((i) => priced[i]!.request.idempotencyKey))],
  );
  const keys = new Set(used.map((row) => row.request_key));
  return new Set(keyed.filter((i) => keys.has(priced[i]!.request.idempotencyKey!)));
}

function sameRequest(stored: readonly StoredMessage[], request: ChargeRequest): boolean {
  return (
    stored.length === request.recipients.length &&
    stored.every(
      (row, i) =>
        row.request_index === i && row.recipient === request.recipients[i] && row.body === request.text,
    )
  );
}

function toSent(row: StoredMessage): SentMessage {
  return { id: row.id, to: row.recipient, parts: row.parts, cost: BigInt(row.cost), status: row.status };
}

function refused(error: unknown): Settled<SendResult> {
  return { ok: false, error };
}

/**
 * Send requests of one member paying from its own balance, charged in ONE statement that is its
 * own transaction — one round trip, like a hand-written charge: it prices the recipients
 * (`priceForSql`), then takes the member's balance in a guarded UPDATE, and writes one posting
 * for all of them (the transfer, audit event and balance-low job of `POSTING_RECORD_WRITES`),
 * their messages, the statistics rollup and one dispatch job — or nothing. The same rows, in the
 * same lock order (member, statistics, then inserts), as `chargeBatch` writes for a request alone
 * or for requests without keys sharing a posting. The request hash is `hashPosting`'s, written in
 * SQL because the amount is priced there.
 *
 * The UPDATE is the member row's only lock in the statement, and its guards are re-checked on
 * the newest row version when it had to wait. A separate `for update` read of the same row in
 * the same statement would not do: the UPDATE would then lock the version the statement's
 * snapshot saw again, queueing behind transactions that wait for this one (the deadlock the
 * mixed-load bank test caught).
 */
const CHARGE_TOGETHER: PreparedStatement = {
  name: 'messaging.charge-together',
  // $1 member, $2 recipients, $3 their digits, $4 the request of each (0-based), $5 product
  // default price, $6 transfer key, $7 reason, $8 via; per request: $9 text, $10 sender id,
  // $11 encoding, $12 parts, $13 request key; $14 provider, $15 what the dispatch job's payload
  // carries besides the message ids.
  text: `with
     sender as materialized (
       select m.id, m.team_id, m.name, t.currency,
              coalesce((select r.threshold from auto_recharge_rules r where r.member_id = m.id), t.low_balance_level)
                as level
         from members m join teams t on t.id = m.team_id
        where m.id = $1
     ),
     requests as (
       select q.n - 1 as req, q.body, q.sender_id, q.encoding, q.parts, q.request_key
         from unnest($9::text[], $10::text[], $11::text[], $12::int[], $13::text[])
                with ordinality as q(body, sender_id, encoding, parts, request_key, n)
     ),
     priced as materialized (
       select nextval('messages_id_seq') as id, x.*, x.unit_price * x.parts as cost
         from (select r.ord, r.recipient, r.req, q.parts,
                      (row_number() over (partition by r.req order by r.ord) - 1)::int as request_index,
                      coalesce(${priceForSql('m.team_id', 'r.digits')}, $5::bigint) as unit_price
                 from sender m, unnest($2::text[], $3::text[], $4::int[]) with ordinality as r(recipient, digits, req, ord)
                 join requests q on q.req = r.req) x
        order by x.ord
     ),
     total as (select sum(cost) as amount from priced),
     charged as (
       update members m set balance = m.balance - total.amount, updated_at = now()
         from total
        where m.id = $1 and m.status = 'active' and m.role <> 'owner' and not m.shares_master_balance
          -- A monthly spending limit is guarded by chargeBatch (src/ledger/spending-limits.ts). On
          -- the row, so a limit set while this waited for it is seen (member.entity.ts).
          and not m.spending_limited
          and ${SQL_GUARDS.memberCanPay('total.amount')}
          and not exists (select 1 from transfers x where x.team_id = m.team_id and x.idempotency_key = $6::text)
       returning m.balance + total.amount as member_before, m.balance as member_after
     ),
     ok as materialized (
       select s.team_id, s.id as member_id, 'message_charge'::text as kind, total.amount,
              $6::text as idempotency_key,
              encode(sha256(convert_to(format('[%s,"message_charge",%s,"%s"]', s.team_id, s.id, total.amount), 'UTF8')),
                     'hex') as request_hash,
              $7::text as reason, 'member'::text as actor_kind, s.id as actor_member_id, $8::text as via,
              s.id as from_member_id, null::int as to_member_id,
              null::bigint as master_before, null::bigint as master_after,
              c.member_before, c.member_after, s.level, s.name as member_name, s.currency
         from sender s, total, charged c
     ),
     ${POSTING_RECORD_WRITES},
     written as (
       insert into messages (id, team_id, member_id, recipient, body, sender_id, encoding, parts, unit_price, cost,
                             status, provider, request_key, request_index, charge_transfer_id, created_at)
       select p.id, ok.team_id, ok.member_id, p.recipient, q.body, q.sender_id, q.encoding, p.parts, p.unit_price,
              p.cost, 'queued', $14::text, q.request_key, p.request_index, transfer.id, now()
         from ok, transfer, priced p join requests q on q.req = p.req
        order by p.id
       returning id
     ),
     rollup as (
       ${rollupUpsertSql(
         `select ok.member_id, ${TEAM_DAY_SQL('now()', 'ok.team_id')}, ok.team_id, count(*), sum(p.parts), sum(p.cost), 0, 0, 0
            from ok, priced p group by ok.member_id, ok.team_id`,
       )}
     ),
     dispatch as (
       ${
         enqueueJobsFrom('message.dispatch', {
           payload: "jsonb_build_object('messageIds', jsonb_agg(id::text order by id)) || $15::jsonb",
           dedupKey: "'message-dispatch-' || min(id)",
           from: 'written having count(*) > 0',
           jobLiteral: true,
         }).sql
       }
     )
     select transfer.id::text as transfer_id, ok.member_after::text as balance, ok.currency,
            (select jsonb_agg(jsonb_build_object('id', p.id::text, 'req', p.req, 'index', p.request_index,
                                                 'cost', p.cost::text) order by p.ord)
               from priced p) as messages
       from ok, transfer`,
};

/**
 * Charges a request alone, or requests without idempotency keys together, with CHARGE_TOGETHER.
 * Null when it charged nothing — the sender is the owner or shares the master balance, is not
 * active, the balance does not cover them all, or the key was used before: `chargeBatch` then
 * charges, replays or refuses each, and says why. Requests with keys each need a posting of
 * their own (a retry finds it by its key), so they are left to `chargeBatch` when not alone.
 */
export async function chargeTogether(
  orm: Orm,
  batch: readonly ChargeRequest[],
  settings: ChargeSettings,
): Promise<Settled<SendResult>[] | null> {
  if (batch.length > 1 && batch.some((r) => r.idempotencyKey !== null)) return null;
  const recipients = batch.flatMap((r) => r.recipients);
  const first = batch[0]!;
  const [row] = await runPrepared<{
    transfer_id: string;
    balance: string;
    currency: string;
    messages: { id: string; req: number; index: number; cost: string }[];
  }>(orm, CHARGE_TOGETHER, [
    first.memberId,
    recipients,
    recipients.map(e164Digits),
    batch.flatMap((r, req) => r.recipients.map(() => req)),
    settings.productDefaultPrice.toString(),
    chargeKey(first.memberId, batch.length === 1 ? first.idempotencyKey : null),
    `${recipients.length} SMS`,
    first.via,
    batch.map((r) => r.text),
    batch.map((r) => r.senderId),
    batch.map((r) => r.segmentation.encoding),
    batch.map((r) => r.segmentation.parts),
    batch.map((r) => r.idempotencyKey),
    settings.provider,
    JSON.stringify(withRequestId({})),
  ]);
  if (!row) return null;
  smsCharges.inc({ kind: 'member', outcome: 'charged' }, batch.length);
  postingsCounter.inc({ kind: 'message_charge', outcome: 'applied' });
  const sent: SentMessage[][] = batch.map(() => []);
  const costs: Micros[] = batch.map(() => 0n);
  for (const m of row.messages) {
    const cost = BigInt(m.cost);
    costs[m.req]! += cost;
    sent[m.req]![m.index] = {
      id: m.id,
      to: batch[m.req]!.recipients[m.index]!,
      parts: batch[m.req]!.segmentation.parts,
      cost,
      status: 'queued',
    };
  }
  // The balance after each request, as if they had been charged one after the other.
  let balance = BigInt(row.balance) + costs.reduce((sum, c) => sum + c, 0n);
  return batch.map((request, req) => {
    balance -= costs[req]!;
    return {
      ok: true,
      value: {
        balance,
        currency: row.currency,
        encoding: request.segmentation.encoding,
        replayed: false,
        messages: sent[req]!,
      },
    };
  });
}
