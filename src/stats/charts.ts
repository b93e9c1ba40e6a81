import { createRequire } from 'node:module';
import path from 'node:path';
import { type Canvas, createCanvas, GlobalFonts } from '@napi-rs/canvas';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Title,
} from 'chart.js';
import { type Micros, microsToNumber } from '../shared/money.ts';

/**
 * The statistics chart as a PNG: messages (bars) and cost (line) per day on the left, the top
 * members by messages on the right. Chart.js draws on a Skia canvas (@napi-rs/canvas, prebuilt for
 * each platform): no browser, no system library, no external service. Pure: facts in, bytes out.
 */

/** Every chart has this size, so Slack lays it out the same way each time. */
export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 600;

export interface ChartDay {
  /** YYYY-MM-DD */
  day: string;
  messages: number;
  cost: Micros;
}

export interface ChartMember {
  name: string;
  messages: number;
  cost: Micros;
}

export interface ChartInput {
  title: string;
  currency: string;
  /** First and last day shown (the team's local days), both included: days without messages are drawn as zero. */
  from: string;
  to: string;
  /** The team's timezone, whose days these are (IANA name). */
  timezone: string;
  days: readonly ChartDay[];
  /** Most messages first; the first TOP_MEMBERS are drawn. */
  members: readonly ChartMember[];
}

export const TOP_MEMBERS = 8;
/** The widest range drawn one bar per day; a longer one would have bars too thin to read. */
export const MAX_CHART_DAYS = 92;

const DAILY_WIDTH = 760;
const HEADER_HEIGHT = 64;
const NAME_LENGTH = 22;
export const CHART_COLOURS = {
  messages: '#4a90d9',
  cost: '#e8743b',
  members: '#36a58f',
  text: '#1d1c1d',
  muted: '#616061',
};

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Title,
);

/**
 * A font that ships with the code (the Latin, Greek and Cyrillic subsets of Inter from
 * @fontsource/inter): a server image without any system font still labels its charts, and names
 * in those scripts are drawn in the same face. Registered under one family, Skia picks the subset
 * that has each character, and falls back to system fonts for the rest.
 */
const FONT_FAMILY = 'TeamopsChart';
let fontsRegistered = false;
function registerFonts(): void {
  if (fontsRegistered) return;
  fontsRegistered = true;
  const files = path.join(
    path.dirname(createRequire(import.meta.url).resolve('@fontsource/inter/package.json')),
    'files',
  );
  for (const subset of ['latin', 'latin-ext', 'greek', 'greek-ext', 'cyrillic', 'cyrillic-ext'])
    for (const weight of [400, 700])
      GlobalFonts.registerFromPath(path.join(files, `inter-${subset}-${weight}-normal.woff2`), FONT_FAMILY);
  Chart.defaults.font.family = `${FONT_FAMILY}, sans-serif`;
  Chart.defaults.color = CHART_COLOURS.muted;
}

/** The chart of `input` as PNG bytes, CHART_WIDTH × CHART_HEIGHT. */
export async function renderStatsChart(input: ChartInput): Promise<Buffer> {
  registerFonts();
  const canvas = createCanvas(CHART_WIDTH, CHART_HEIGHT);
  const ctx = canvas.getContext('2d');
  // Opaque: a transparent PNG would show dark text on Slack's dark theme.
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, CHART_WIDTH, CHART_HEIGHT);
  ctx.fillStyle = CHART_COLOURS.text;
  ctx.font = `bold 26px ${FONT_FAMILY}`;
  ctx.textBaseline = 'middle';
  ctx.fillText(input.title, 24, 26, CHART_WIDTH - 48);
  ctx.fillStyle = CHART_COLOURS.muted;
  ctx.font = `16px ${FONT_FAMILY}`;
  const totalMessages = input.days.reduce((sum, day) => sum + day.messages, 0);
  ctx.fillText(`${input.from} – ${input.to} (${input.timezone} days)`, 24, 50);

  if (totalMessages === 0) {
    ctx.fillStyle = CHART_COLOURS.muted;
    ctx.font = `24px ${FONT_FAMILY}`;
    ctx.textAlign = 'center';
    ctx.fillText(
      'No messages in this period',
      CHART_WIDTH / 2,
      HEADER_HEIGHT + (CHART_HEIGHT - HEADER_HEIGHT) / 2,
    );
    return canvas.encode('png');
  }

  const panelHeight = CHART_HEIGHT - HEADER_HEIGHT;
  drawPanel(canvas, { x: 0, y: HEADER_HEIGHT, width: DAILY_WIDTH, height: panelHeight }, dailyChart(input));
  drawPanel(
    canvas,
    { x: DAILY_WIDTH, y: HEADER_HEIGHT, width: CHART_WIDTH - DAILY_WIDTH, height: panelHeight },
    membersChart(input),
  );
  return canvas.encode('png');
}

/** Draws one Chart.js chart into `area` of `target`. */
function drawPanel(
  target: Canvas,
  area: { x: number; y: number; width: number; height: number },
  config: ChartConfiguration,
): void {
  const canvas = createCanvas(area.width, area.height);
  // Without animation and resizing, Chart.js draws the whole chart in its constructor.
  const chart = new Chart(canvas as unknown as ConstructorParameters<typeof Chart>[0], {
    ...config,
    options: {
      ...config.options,
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      layout: { padding: 16 },
    },
  });
  target.getContext('2d').drawImage(canvas, area.x, area.y);
  // destroy() also clears the panel's canvas, so only once it has been copied.
  chart.destroy();
}

/** Every day from `from` to `to`, with the day's figures or zero. */
export function fillDays(from: string, to: string, days: readonly ChartDay[]): ChartDay[] {
  const byDay = new Map(days.map((day) => [day.day, day]));
  const filled: ChartDay[] = [];
  for (
    let at = Date.parse(`${from}T00:00:00Z`);
    at <= Date.parse(`${to}T00:00:00Z`) && filled.length < MAX_CHART_DAYS;
    at += 86_400_000
  ) {
    const day = new Date(at).toISOString().slice(0, 10);
    filled.push(byDay.get(day) ?? { day, messages: 0, cost: 0n });
  }
  return filled;
}

function dailyChart(input: ChartInput): ChartConfiguration {
  const days = fillDays(input.from, input.to, input.days);
  return {
    type: 'bar',
    data: {
      // MM-DD: the year is in the header.
      labels: days.map((day) => day.day.slice(5)),
      datasets: [
        {
          type: 'bar',
          label: 'Messages',
          data: days.map((day) => day.messages),
          backgroundColor: CHART_COLOURS.messages,
          yAxisID: 'messages',
          order: 2,
        },
        {
          type: 'line',
          label: `Cost (${input.currency})`,
          // A picture, not an amount anyone adds up: a float is precise enough to draw.
          data: days.map((day) => microsToNumber(day.cost)),
          borderColor: CHART_COLOURS.cost,
          backgroundColor: CHART_COLOURS.cost,
          borderWidth: 3,
          pointRadius: days.length > 40 ? 0 : 3,
          yAxisID: 'cost',
          order: 1,
        },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: 'Messages and cost per day', font: { size: 18 } },
        legend: { position: 'bottom' },
      },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        messages: {
          type: 'linear',
          position: 'left',
          beginAtZero: true,
          ticks: { precision: 0 },
          title: { display: true, text: 'messages' },
        },
        cost: {
          type: 'linear',
          position: 'right',
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: input.currency },
        },
      },
    },
  };
}

function membersChart(input: ChartInput): ChartConfiguration {
  const top = input.members.filter((member) => member.messages > 0).slice(0, TOP_MEMBERS);
  return {
    type: 'bar',
    data: {
      labels: top.map((member) =>
        member.name.length > NAME_LENGTH ? `${member.name.slice(0, NAME_LENGTH - 1)}…` : member.name,
      ),
      datasets: [
        {
          label: 'Messages',
          data: top.map((member) => member.messages),
          backgroundColor: CHART_COLOURS.members,
          maxBarThickness: 40,
        },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: {
        title: { display: true, text: 'Top members by messages', font: { size: 18 } },
        legend: { display: false },
      },
      scales: {
        x: { beginAtZero: true, ticks: { precision: 0 } },
        y: { grid: { display: false } },
      },
    },
  };
}
