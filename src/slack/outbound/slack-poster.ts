import { ErrorCode, type WebAPICallError, WebClient } from '@slack/web-api';
import type { Config } from '../../config.ts';
import type { JobPayload, SlackMessage } from '../../jobs/jobs.ts';
import { claimJobReceipt, hasJobReceipt } from '../../jobs/receipts.ts';
import type { Logger } from '../../logger.ts';
import type { Orm } from '../../platform/database.ts';
import { PostponedError, permanentFailure } from '../../platform/queue.ts';
import type { WorkspaceRateLimits } from '../workspace-rate-limits.ts';
import type { WorkspaceTokens } from '../workspace-tokens.ts';

/**
 * The one way workers talk to Slack. Every post runs as a job on the `slack` queue and names
 * the team it is for; the post uses that team's workspace token. The WebClient neither retries
 * nor waits on its own: a 429 holds back that workspace's posts for the Retry-After Slack asked
 * for (other workspaces carry on), and the job runs again afterwards without using up an attempt.
 */

export type PostOutcome =
  | { posted: true; channel: string; ts: string }
  /** Nothing was sent and nothing will be: no Slack, or the app is not installed in the team's workspace. */
  | { posted: false; reason: string };

export interface SlackPoster {
  /** Posts (or updates, with `ts`) in the team's workspace. */
  post(teamId: number, message: SlackMessage): Promise<PostOutcome>;
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
  tokens: WorkspaceTokens | undefined,
  rateLimits: WorkspaceRateLimits,
  logger: Logger,
): SlackPoster {
  const log = logger.child({ component: 'slack-outbound' });
  if (!config.slack || !tokens) {
    return {
      async post(teamId, message) {
        log.info(
          { teamId, channel: message.channel, text: message.text },
          'Slack is not configured: message not posted',
        );
        return { posted: false, reason: 'Slack is not configured' };
      },
    };
  }
  // No token of its own: each call carries the token of the workspace it posts to.
  const client = new WebClient(undefined, {
    slackApiUrl: config.slack.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
  });
  return {
    async post(teamId, message) {
      const bot = await tokens.forTeam(teamId);
      if (!bot) {
        log.info(
          { teamId, channel: message.channel },
          'the Slack app is not installed for the team: message not posted',
        );
        return { posted: false, reason: 'the Slack app is not installed in the workspace' };
      }
      const slot = await rateLimits.claimSlot(bot.workspace);
      if (slot !== undefined) throw new PostponedError(slot, `Slack rate limit for ${bot.workspace}`);
      try {
        const result = message.ts
          ? await client.chat.update({
              token: bot.token,
              channel: message.channel,
              ts: message.ts,
              text: message.text,
              blocks: message.blocks as never,
            })
          : await client.chat.postMessage({
              token: bot.token,
              channel: message.channel,
              text: message.text,
              blocks: message.blocks as never,
              unfurl_links: false,
            });
        return {
          posted: true,
          channel: String(result.channel ?? message.channel),
          ts: String(result.ts ?? message.ts),
        };
      } catch (error) {
        const slackError = error as WebAPICallError;
        if (slackError.code === ErrorCode.RateLimitedError) {
          const retryAfterMs = Math.max(1, slackError.retryAfter) * 1000;
          log.warn(
            { retryAfterMs, teamId, workspace: bot.workspace, channel: message.channel },
            "Slack rate limit: holding back this workspace's posts",
          );
          const until = Date.now() + retryAfterMs;
          await rateLimits.hold(bot.workspace, until);
          throw new PostponedError(until, `Slack rate limit for ${bot.workspace}`);
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
  payload: JobPayload<'slack.post'>,
  jobId: string,
): Promise<string> {
  const em = orm.em.fork();
  const key = `slack.post:${jobId}`;
  if (await hasJobReceipt(em, key)) return 'already posted';
  const { teamId, ...message } = payload;
  const outcome = await slack.post(teamId, message);
  // Not posted for good (the app was uninstalled): the job ends, its result says why.
  if (!outcome.posted) return `not posted: ${outcome.reason}`;
  await claimJobReceipt(em, key);
  return 'posted';
}
