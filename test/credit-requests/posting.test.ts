import { describe, expect, it } from 'vitest';
import type { SlackMessage } from '../../src/jobs/jobs.ts';
import { postCreditRequest } from '../../src/slack/outbound/credit-request-post.ts';
import type { PostOutcome, SlackPoster } from '../../src/slack/outbound/slack-poster.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

/** The Slack poster's contract, recording each post; a DM answers with its own channel id, as Slack does. */
function recordingPoster(during?: () => Promise<void>) {
  const posts: SlackMessage[] = [];
  let ts = 0;
  const poster: SlackPoster = {
    async post(_teamId, message): Promise<PostOutcome> {
      posts.push(message);
      if (!message.ts && during) await during();
      const channel = message.channel.startsWith('U') ? `D${message.channel}` : message.channel;
      return { posted: true, channel, ts: message.ts ?? `${++ts}.000` };
    },
    upload() {
      throw new Error('a credit request uploads no file');
    },
  };
  return { poster, posts };
}

describe('the credit_request.post job', () => {
  it('posts the request once and remembers the copy, however often the job runs', async () => {
    const a = await seedTeam(h.services);
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '7' });
    const { poster, posts } = recordingPoster();
    const job = { requestId: request.id, target: 'U0BOSS' };
    expect(await postCreditRequest(h.services.creditRequests, poster, job)).toBe('posted');
    expect(await postCreditRequest(h.services.creditRequests, poster, job)).toBe('already posted');
    expect(posts).toHaveLength(1);
    expect(JSON.stringify(posts[0]!.blocks)).toContain('credit_request_approve');
    expect((await h.services.creditRequests.find(request.id))?.slackMessages).toEqual([
      { target: 'U0BOSS', channel: 'DU0BOSS', ts: '1.000' },
    ]);
  });

  it('updates the copy at once when the request was decided while it was being posted', async () => {
    const a = await seedTeam(h.services);
    const request = await h.services.creditRequests.create(a.user.actor, { amount: '7' });
    const { poster, posts } = recordingPoster(async () => {
      await h.services.creditRequests.approve(a.owner.actor, request.id);
    });
    const outcome = await postCreditRequest(h.services.creditRequests, poster, {
      requestId: request.id,
      target: 'C0ALERTS',
    });
    expect(outcome).toBe('posted, then updated: approved');
    expect(posts.map((p) => p.ts ?? null)).toEqual([null, '1.000']);
    expect(JSON.stringify(posts[1]!.blocks)).toContain('*approved* by Olivia Owner');
    expect(JSON.stringify(posts[1]!.blocks)).not.toContain('credit_request_approve');
  });
});
