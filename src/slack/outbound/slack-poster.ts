import { ErrorCode, type WebAPICallError, WebClient } from '@slack/web-api';
import type { Config } from '../../config.ts';
import type { JobPayload, SlackMessage } from '../../jobs/jobs.ts';
import { claimJobReceipt, hasJobReceipt } from '../../jobs/receipts.ts';
import type { Logger } from '../../logger.ts';
import type { Orm } from '../../platform/database.ts';
import { PostponedError, permanentFailure } from '../../platform/queue.ts';
import type { WorkspaceRateLimits } from '../workspace-rate-limits.ts';
import type { WorkspaceTokens } from '../workspace-tokens.ts';
import { type SlackFileUpload, type UploadedFile, uploadFile } from './file-upload.ts';

/**
 * The one way workers talk to Slack. Every post (and file upload) runs as a job on the `slack` queue and names
 * the team it is for; the post uses that team's workspace token. The WebClient neither retries
 * nor waits on its own: a 429 holds back that workspace's posts for the Retry-After Slack asked
 * for (other workspaces carry on), and the job runs again afterwards without using up an attempt.
 */

export type PostOutcome =
  | { posted: true; channel: string; ts: string }
  /** Nothing was sent and nothing will be: no Slack, or the app is not installed in the team's workspace. */
  | { posted: false; reason: string };

export type UploadOutcome =
  | ({ uploaded: true } & UploadedFile)
  /** Nothing was uploaded and nothing will be: no Slack, or the app is not installed in the team's workspace. */
  | { uploaded: false; reason: string };

export interface SlackPoster {
  /** Posts (or updates, with `ts`) in the team's workspace. */
  post(teamId: number, message: SlackMessage): Promise<PostOutcome>;
  /**
   * Uploads a file in the team's workspace (to a channel, a user's DM, or nowhere yet). Call it from
   * a job on the `slack` queue: a 429 postpones that job like a post's.
   */
  upload(teamId: number, file: SlackFileUpload): Promise<UploadOutcome>;
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
  // files.getUploadURLExternal / files.completeUploadExternal
  'invalid_channel',
  'file_not_found',
  'file_upload_size_restricted',
  'not_allowed_token_type',
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
      async upload(teamId, file) {
        log.info({ teamId, filename: file.filename }, 'Slack is not configured: file not uploaded');
        return { uploaded: false, reason: 'Slack is not configured' };
      },
    };
  }
  const teamTokens = tokens;
  // No token of its own: each call carries the token of the workspace it posts to.
  const client = new WebClient(undefined, {
    slackApiUrl: config.slack.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
  });
  /**
   * Runs one Slack call with the team's workspace token: undefined when the app is not installed
   * there. A 429 holds back the workspace and postpones the job; an error no retry can fix fails it.
   */
  async function inWorkspace<T>(
    teamId: number,
    what: { channel?: string | undefined; describe: string },
    call: (token: string) => Promise<T>,
  ): Promise<T | undefined> {
    const bot = await teamTokens.forTeam(teamId);
    if (!bot) {
      log.info(
        { teamId, channel: what.channel },
        `the Slack app is not installed for the team: ${what.describe} not sent`,
      );
      return undefined;
    }
    const slot = await rateLimits.claimSlot(bot.workspace);
    if (slot !== undefined) throw new PostponedError(slot, `Slack rate limit for ${bot.workspace}`);
    try {
      return await call(bot.token);
    } catch (error) {
      const slackError = error as WebAPICallError;
      if (slackError.code === ErrorCode.RateLimitedError) {
        const retryAfterMs = Math.max(1, slackError.retryAfter) * 1000;
        log.warn(
          { retryAfterMs, teamId, workspace: bot.workspace, channel: what.channel },
          "Slack rate limit: holding back this workspace's posts",
        );
        const until = Date.now() + retryAfterMs;
        await rateLimits.hold(bot.workspace, until);
        throw new PostponedError(until, `Slack rate limit for ${bot.workspace}`);
      }
      if (slackError.code === ErrorCode.PlatformError && PERMANENT_ERRORS.has(slackError.data.error)) {
        throw permanentFailure(
          `Slack refused the ${what.describe} for ${what.channel ?? 'the app'}: ${slackError.data.error}`,
        );
      }
      throw error;
    }
  }
  const notInstalled = 'the Slack app is not installed in the workspace';

  return {
    async post(teamId, message) {
      const result = await inWorkspace(
        teamId,
        { channel: message.channel, describe: 'message' },
        async (token): Promise<{ channel?: string; ts?: string }> => {
          if (message.ts)
            return client.chat.update({
              token,
              channel: message.channel,
              ts: message.ts,
              text: message.text,
              blocks: message.blocks as never,
            });
          return client.chat.postMessage({
            token,
            channel: message.channel,
            text: message.text,
            blocks: message.blocks as never,
            unfurl_links: false,
          });
        },
      );
      if (!result) return { posted: false, reason: notInstalled };
      return {
        posted: true,
        channel: String(result.channel ?? message.channel),
        ts: String(result.ts ?? message.ts),
      };
    },

    async upload(teamId, file) {
      const destination = file.to && ('user' in file.to ? file.to.user : file.to.channel);
      const uploaded = await inWorkspace(
        teamId,
        { channel: destination, describe: `file ${file.filename}` },
        (token) => uploadFile(client, token, file),
      );
      return uploaded ? { uploaded: true, ...uploaded } : { uploaded: false, reason: notInstalled };
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
