import type { Services } from '../../app.ts';
import type { JobPayload } from '../../jobs/jobs.ts';
import { permanentFailure } from '../../platform/queue.ts';
import { DomainError } from '../../shared/errors.ts';
import { chartUploadTexts } from '../presenters/charts.ts';
import type { SlackPoster } from './slack-poster.ts';

export interface ChartUploadDeps {
  services: Pick<Services, 'charts'>;
  slack: SlackPoster;
}

/**
 * The `stats.chart` job: draw the chart and upload it to the channel, once. A receipt keyed by
 * the job id, written after the upload, stops a retried or redelivered job from uploading again.
 * Only a crash between Slack's answer and that write makes a retry upload a second copy: the same
 * picture twice in the channel, with the second one's id on the App Home — nothing else changes.
 */
export async function uploadChartOnce(
  deps: ChartUploadDeps,
  request: JobPayload<'stats.chart'>,
  jobId: string,
): Promise<string> {
  const charts = deps.services.charts;
  const receiptKey = `stats.chart:${jobId}`;
  if (await charts.wasUploaded(receiptKey)) return 'already uploaded';
  let chart: Awaited<ReturnType<typeof charts.render>>;
  try {
    chart = await charts.render(request);
  } catch (error) {
    // The team or member is gone, or the figures cannot be asked for any more: no retry helps.
    if (error instanceof DomainError) throw permanentFailure(`chart not drawn: ${error.message}`);
    throw error;
  }
  const { initialComment, altText } = chartUploadTexts(request, chart);
  const outcome = await deps.slack.upload(request.teamId, {
    filename: chart.filename,
    title: chart.title,
    content: chart.png,
    to: { channel: request.channel },
    initialComment,
    altText,
  });
  // Not uploaded for good (no Slack, or the app was uninstalled): the job ends, its result says why.
  if (!outcome.uploaded) return `not uploaded: ${outcome.reason}`;
  await charts.uploaded(request, chart, outcome.fileId, receiptKey);
  return `uploaded ${outcome.fileId}`;
}
