import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { SlackDeps } from '../context.ts';

/** A direct message from the app; a person who cannot be reached is logged, not an error for the caller. */
export async function directMessage(
  deps: SlackDeps,
  client: WebClient,
  slackUserId: string,
  text: string,
  blocks?: KnownBlock[],
): Promise<{ channel: string; ts: string } | undefined> {
  try {
    const opened = await client.conversations.open({ users: slackUserId });
    const channel = opened.channel?.id;
    if (!channel) return undefined;
    const posted = await client.chat.postMessage({ channel, text, ...(blocks && { blocks }) });
    return posted.ts ? { channel, ts: posted.ts } : undefined;
  } catch (error) {
    deps.logger.warn({ err: error, slackUserId }, 'could not send a direct message');
    return undefined;
  }
}
