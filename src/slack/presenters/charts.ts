import type { ImageBlock } from '@slack/types';
import type { ChartRequest, LatestChart, RenderedChart } from '../../stats/chart.service.ts';
import { escapeText, plain } from './blocks.ts';

/** The message that introduces an uploaded chart, and what a screen reader says of the image. */
export function chartUploadTexts(
  request: Pick<ChartRequest, 'reason'>,
  chart: RenderedChart,
): { initialComment: string; altText: string } {
  const period = `${chart.from} – ${chart.to}`;
  const who = chart.subject.kind === 'team' ? chart.subject.name : `${chart.subject.name} (own messages)`;
  return {
    initialComment:
      request.reason === 'digest'
        ? `Chart for the weekly digest of ${escapeText(chart.subject.name)}: messages and cost per day, top members (${period}, UTC).`
        : `Statistics of ${escapeText(who)}, ${period} (UTC): messages and cost per day, top members.`,
    altText:
      chart.messages === 0
        ? `Chart of ${who}: no messages ${period}.`
        : `Chart of ${who}: ${chart.messages} message${chart.messages === 1 ? '' : 's'} ${period}, per day with their cost, and the members who sent most.`,
  };
}

/** The latest team-wide chart on the App Home, shown from Slack's copy of the file. */
export function latestChartBlock(chart: LatestChart): ImageBlock {
  return {
    type: 'image',
    block_id: 'latest_chart',
    slack_file: { id: chart.slackFileId },
    alt_text: `${chart.title}, ${chart.from} – ${chart.to} (UTC)`,
    title: plain(`${chart.title}, ${chart.from} – ${chart.to}`),
  };
}
