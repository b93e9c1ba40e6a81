/**
 * Local calendar days of a team's time zone as instants. Intl knows every IANA zone and its
 * daylight-saving rules; what it does not offer is the way back from a local time to an instant,
 * which is this file's one job.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The zone's wall clock at `instant`, read as if it were UTC (ms). */
function wallClockAt(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(instant))
      .map((part) => [part.type, Number(part.value)]),
  ) as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>;
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
}

/** How far the zone's wall clock is ahead of UTC at `instant` (ms; negative west of Greenwich). */
function offsetAt(instant: number, timeZone: string): number {
  return wallClockAt(instant, timeZone) - (instant - (((instant % 1000) + 1000) % 1000));
}

/**
 * The instant a local day (YYYY-MM-DD) begins in `timeZone`. The offset is taken at a first
 * guess and again at the corrected instant, so a daylight-saving change on that day is honoured;
 * of the two, the earliest whose wall clock is on that day wins — which, in a zone whose clocks
 * jump over midnight, is the first wall-clock time of the day that exists.
 */
export function startOfLocalDay(day: string, timeZone: string): Date {
  const midnightUtc = Date.parse(`${day}T00:00:00Z`);
  const guess = midnightUtc - offsetAt(midnightUtc, timeZone);
  const corrected = midnightUtc - offsetAt(guess, timeZone);
  const onTheDay = [corrected, guess]
    .filter((instant) => wallClockAt(instant, timeZone) >= midnightUtc)
    .sort((a, b) => a - b);
  return new Date(onTheDay[0] ?? corrected);
}
