import type { CreditRequestService } from '../../credit-requests/credit-request.service.ts';
import type { JobPayload } from '../../jobs/jobs.ts';
import { creditRequestMessage } from '../presenters/credit-requests.ts';
import type { SlackPoster } from './slack-poster.ts';

/**
 * The `credit_request.post` job: shows a credit request to one of those who decide it, through
 * the rate-limited poster, and records where the copy went. A copy already recorded is not
 * posted again, so a retried job posts once. The message shows the request as it is when posted;
 * when a decision lands while it is on its way, the copy is brought up to date at once.
 */
export async function postCreditRequest(
  creditRequests: CreditRequestService,
  slack: SlackPoster,
  { requestId, target }: JobPayload<'credit_request.post'>,
): Promise<string> {
  const request = await creditRequests.find(requestId);
  if (!request) return 'no such request';
  const recorded = request.slackMessages.find((copy) => copy.target === target);
  if (recorded) {
    // A retry after the copy was recorded: bring it up to date once more in case the update
    // below did not get through (an update is the same update however often it is made).
    if (request.status === 'open') return 'already posted';
    await slack.post(request.teamId, {
      channel: recorded.channel,
      ts: recorded.ts,
      ...creditRequestMessage(request),
    });
    return `already posted, updated: ${request.status}`;
  }
  const outcome = await slack.post(request.teamId, { channel: target, ...creditRequestMessage(request) });
  if (!outcome.posted) return `not posted: ${outcome.reason}`;
  const now = await creditRequests.recordSlackMessage(requestId, {
    target,
    channel: outcome.channel,
    ts: outcome.ts,
  });
  if (now.status !== request.status) {
    await slack.post(request.teamId, {
      channel: outcome.channel,
      ts: outcome.ts,
      ...creditRequestMessage(now),
    });
    return `posted, then updated: ${now.status}`;
  }
  return 'posted';
}
