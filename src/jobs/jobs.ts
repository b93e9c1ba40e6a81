import type { KnownBlock } from '@slack/types';
import { z } from 'zod';
import type { AddOptions, Queues } from '../platform/queue.ts';

/**
 * Every background job: its queue, its retry policy and the shape of its payload. Outbox rows
 * name a job from this table; the relay and the workers read their routing from here and
 * nowhere else.
 */

/** Queues separate work that must not hold each other up: a slow SMTP server never delays a recharge. */
export const QUEUES = ['balance', 'mail', 'slack', 'digests', 'messages'] as const;
export type QueueName = (typeof QUEUES)[number];

const id = z.number().int().positive();
const messageIds = z.array(z.string().regex(/^\d+$/)).min(1).max(1000);

/** A Slack message to post (or, with `ts`, to update in place). */
export const slackMessageSchema = z.object({
  channel: z.string().min(1),
  text: z.string(),
  blocks: z
    .array(z.custom<KnownBlock>((block) => typeof block === 'object' && block !== null && 'type' in block))
    .optional(),
  /** Update this message instead of posting a new one. */
  ts: z.string().optional(),
});
export type SlackMessage = z.infer<typeof slackMessageSchema>;

export const emailSchema = z.object({
  to: z.string().min(3),
  subject: z.string().min(1),
  text: z.string(),
  html: z.string().optional(),
});
export type Email = z.infer<typeof emailSchema>;

interface JobDefinition {
  queue: QueueName;
  payload: z.ZodType<Record<string, unknown>>;
  attempts: number;
  /** First retry delay; each later one doubles. */
  backoffMs: number;
}

export const jobs = {
  /** An invitation was created: email the link, or DM the Slack user with Accept / Decline. */
  'invitation.send': {
    queue: 'mail',
    // No token: the worker derives it from the server secret and this nonce (invitation-token.ts).
    payload: z.object({ invitationId: id, nonce: z.string().min(1).max(32) }),
    // About 40 minutes of retries before the invitation is marked failed.
    attempts: 10,
    backoffMs: 5_000,
  },
  'invitation.slack_dm': {
    queue: 'slack',
    payload: z.object({ invitationId: id, nonce: z.string().min(1).max(32) }),
    attempts: 10,
    backoffMs: 5_000,
  },
  'email.send': { queue: 'mail', payload: emailSchema, attempts: 10, backoffMs: 5_000 },
  /**
   * A posting took a member's balance below its auto-recharge threshold or alert level
   * (transferId: that posting; null when a new rule found the balance already low).
   */
  'member.balance_low': {
    queue: 'balance',
    payload: z.object({ teamId: id, memberId: id, transferId: z.string().nullable() }),
    attempts: 10,
    backoffMs: 1_000,
  },
  /** A message to post in the workspace of team `teamId`, with that workspace's token. */
  'slack.post': {
    queue: 'slack',
    payload: slackMessageSchema.extend({ teamId: id }),
    attempts: 12,
    backoffMs: 2_000,
  },
  /**
   * A credit request to show to one of those who decide it: `target` is the alerts channel or an
   * owner's or admin's Slack user. The copy is recorded, so the outcome can replace it.
   */
  'credit_request.post': {
    queue: 'slack',
    payload: z.object({ requestId: id, target: z.string().min(1).max(32) }),
    attempts: 12,
    backoffMs: 2_000,
  },
  /** Seven days after a credit request was made: it expires unless decided. */
  'credit_request.expire': {
    queue: 'balance',
    payload: z.object({ requestId: id }),
    attempts: 10,
    backoffMs: 5_000,
  },
  /**
   * `/team export`: the statement as a CSV file in the requester's DM with the app. `memberId` is
   * the requester, whose rights the statement is made with; `member` (a member ref) narrows it.
   */
  'statement.export': {
    queue: 'slack',
    payload: z.object({
      teamId: id,
      memberId: id,
      slackUserId: z.string().min(1),
      kind: z.enum(['transfers', 'messages']),
      member: z
        .union([
          z.object({ id }),
          z.object({ email: z.string() }),
          z.object({ slackUserId: z.string() }),
          z.object({ keyId: z.string() }),
        ])
        .nullable(),
      from: z.string().nullable(),
      to: z.string().nullable(),
    }),
    attempts: 8,
    backoffMs: 5_000,
  },
  /** The team's digest settings changed: bring its job scheduler in line with them. */
  'digest.schedule': { queue: 'digests', payload: z.object({ teamId: id }), attempts: 10, backoffMs: 2_000 },
  /** Built by the team's job scheduler at the configured time. */
  'digest.send': { queue: 'digests', payload: z.object({ teamId: id }), attempts: 5, backoffMs: 10_000 },
  /**
   * A statistics chart to draw and upload to a Slack channel: for `/team stats` (the member's
   * own figures when `memberId` is set) or a weekly digest. Team-wide ones become the App Home's.
   */
  'stats.chart': {
    queue: 'slack',
    payload: z.object({
      teamId: id,
      channel: z.string().min(1),
      memberId: id.nullable(),
      from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      reason: z.enum(['stats', 'digest']),
    }),
    attempts: 12,
    backoffMs: 2_000,
  },
  /** Charged messages to hand to the SMS provider (only those still queued are sent). */
  'message.dispatch': {
    queue: 'messages',
    payload: z.object({ messageIds: messageIds }),
    // About 10 minutes of retries while the provider is unreachable; then they fail and are refunded.
    attempts: 8,
    backoffMs: 5_000,
  },
  /** Ask the provider how far sent messages got; the service schedules the next check itself. */
  'message.check_status': {
    queue: 'messages',
    payload: z.object({ messageIds: messageIds, attempt: z.number().int().positive() }),
    attempts: 5,
    backoffMs: 10_000,
  },
} as const satisfies Record<string, JobDefinition>;

export type JobName = keyof typeof jobs;
export type JobPayload<J extends JobName> = z.infer<(typeof jobs)[J]['payload']>;

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobs, name);
}

/**
 * The queue's job id: the one place job ids are made. A dedup key makes every job with that key
 * one job; otherwise the outbox row is the identity, so the relay re-sending a row after a
 * crash is recognised as the same job. BullMQ refuses ":" and all-digit ids; escaping keeps
 * distinct keys distinct.
 */
export function jobIdFor(job: string, source: { outboxId: string; dedupKey: string | null }): string {
  return source.dedupKey === null ? `${job}.o${source.outboxId}` : `${job}.k${escapeKey(source.dedupKey)}`;
}

function escapeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_.@-]/g, (c) => `%${c.codePointAt(0)!.toString(16)}`);
}

/** Queue options for a job of the table: its queue, attempts and backoff. */
export function routeFor(job: JobName, opts: Pick<AddOptions, 'jobId' | 'delayMs'> = {}) {
  const definition: JobDefinition = jobs[job];
  return {
    queue: definition.queue,
    opts: {
      ...opts,
      attempts: definition.attempts,
      backoff: { type: 'exponential', delayMs: definition.backoffMs },
    } satisfies AddOptions,
  };
}

/**
 * Adds a job straight to its queue, for workers reacting to a job they run (the database
 * change is already committed or there is none). Anything caused by a request goes through
 * the outbox instead.
 */
export async function dispatchJob<J extends JobName>(
  queues: Queues,
  job: J,
  payload: JobPayload<J>,
  opts: { dedupKey: string; delayMs?: number },
): Promise<void> {
  const jobId = jobIdFor(job, { outboxId: '', dedupKey: opts.dedupKey });
  const route = routeFor(job, { jobId, delayMs: opts.delayMs });
  await queues.add(route.queue, job, payload, route.opts);
}
