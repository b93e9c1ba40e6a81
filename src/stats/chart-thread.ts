import { serveOnThread } from '../platform/worker-thread.ts';
import { renderStatsChart } from './charts.ts';

/** The chart drawing thread's module (ChartService starts it): a chart's input in, its PNG out. */
serveOnThread(renderStatsChart);
