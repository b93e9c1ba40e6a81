import { ErrorCode, type WebAPICallError, WebClient } from '@slack/web-api';
import type { Config } from '../../config.ts';
import { jobs, type SlackMessage } from '../../jobs/jobs.ts';
import { claimJobReceipt, hasJobReceipt } from '../../jobs/receipts.ts';
import type { Logger } from '../../logger.ts';
import type { Orm } from '../../platform/database.ts';
import { permanentFailure, type Queues, rateLimitedError } from '../../platform/queue.ts';

/**
 * The one way workers talk to Slack. Every post runs as a job on the `slack` queue; the
 * WebClient neither retries nor waits on its own, so a 429 holds back the whole queue for the
 * Retry-After Slack asked for, and the job runs again afterwards without using up an attempt.
 */

export interface SlackPoster {
  /** Posts (or updates, with `ts`); undefined when the product runs without Slack. */
  post(message: SlackMessage): Promise<{ channel: string; ts: string } | undefined>;
}

/** Errors no retry can fix: the message, the channel or the token are wrong. */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'no_text',
  'invalid_blocks',
  'invalid_blocks_format',
  'user_not_found',
  'cannot_dm_bot',
  'message_not_found',
  'cant_update_message',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'not_authed',
  'missing_scope',
]);

export function createSlackPoster(
  config: Pick<Config, 'slack'>,
  queues: Pick<Queues, 'rateLimit'>,
  logger: Logger,
): SlackPoster {
  const log = logger.child({ component: 'slack-outbound' });
  if (!config.slack) {
    return {
      async post(message) {
        log.info(
          { channel: message.channel, text: message.text },
          'Slack is not configured: message not posted',
        );
        return undefined;
      },
    };
  }
  const client = new WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
  });
  return {
    async post(message) {
      try {
        const result = message.ts
          ? await client.chat.update({
              channel: message.channel,
              ts: message.ts,
              text: message.text,
              blocks: message.blocks as never,
            })
          : await client.chat.postMessage({
              channel: message.channel,
              text: message.text,
              blocks: message.blocks as never,
              unfurl_links: false,
            });
        return { channel: String(result.channel ?? message.channel), ts: String(result.ts ?? message.ts) };
      } catch (error) {
        const slackError = error as WebAPICallError;
        if (slackError.code === ErrorCode.RateLimitedError) {
          const retryAfterMs = Math.max(1, slackError.retryAfter) * 1000;
          log.warn(
            { retryAfterMs, channel: message.channel },
            'Slack rate limit: holding back the Slack queue',
          );
          await queues.rateLimit(jobs['slack.post'].queue, retryAfterMs);
          throw rateLimitedError();
        }
        if (slackError.code === ErrorCode.PlatformError && PERMANENT_ERRORS.has(slackError.data.error)) {
          throw permanentFailure(
            `Slack refused the message for ${message.channel}: ${slackError.data.error}`,
          );
        }
        throw error;
      }
    },
  };
}

/**
 * The `slack.post` job. Slack cannot deduplicate a post, so a receipt keyed by the job id
 * stops a retried or redelivered job from posting again once the first post was recorded.
 */
export async function postOnce(
  orm: Orm,
  slack: SlackPoster,
  message: SlackMessage,
  jobId: string,
): Promise<'posted' | 'already posted'> {
  const em = orm.em.fork();
  const key = `slack.post:${jobId}`;
  if (await hasJobReceipt(em, key)) return 'already posted';
  await slack.post(message);
  await claimJobReceipt(em, key);
  return 'posted';
}
