import { describe, expect, it } from 'vitest';
import { parseRange } from '../../src/messaging/message-log.ts';
import { startOfLocalDay } from '../../src/shared/zoned-time.ts';

describe('a local day as an instant', () => {
  it('begins at local midnight, east and west of Greenwich and across the date line', () => {
    expect(startOfLocalDay('2026-12-01', 'UTC').toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(startOfLocalDay('2026-12-01', 'Europe/Berlin').toISOString()).toBe('2026-11-30T23:00:00.000Z');
    expect(startOfLocalDay('2026-07-01', 'Europe/Berlin').toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(startOfLocalDay('2026-12-01', 'America/New_York').toISOString()).toBe('2026-12-01T05:00:00.000Z');
    expect(startOfLocalDay('2026-12-01', 'Asia/Kathmandu').toISOString()).toBe('2026-11-30T18:15:00.000Z');
    expect(startOfLocalDay('2026-12-01', 'Pacific/Kiritimati').toISOString()).toBe(
      '2026-11-30T10:00:00.000Z',
    );
  });

  it('honours a daylight-saving change on the day itself, and a zone that skips midnight', () => {
    // New York springs forward at 02:00 on 2026-03-08: midnight is still EST (UTC-5).
    expect(startOfLocalDay('2026-03-08', 'America/New_York').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    // ...and the next day begins in EDT (UTC-4).
    expect(startOfLocalDay('2026-03-09', 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
    // Havana moves its clocks at midnight: 2026-03-08 00:00 does not exist there, the day starts at 01:00 CDT.
    expect(startOfLocalDay('2026-03-08', 'America/Havana').toISOString()).toBe('2026-03-08T05:00:00.000Z');
  });
});

describe('a date filter in the team time zone', () => {
  it('covers the whole local day, both ends included', () => {
    const range = parseRange('2026-12-01', '2026-12-01', 'Asia/Tokyo');
    expect(range.from?.toISOString()).toBe('2026-11-30T15:00:00.000Z');
    expect(range.to?.toISOString()).toBe('2026-12-01T15:00:00.000Z');
  });

  it('takes a timestamp as it is, whatever the zone', () => {
    const range = parseRange('2026-12-01T10:00:00Z', null, 'Asia/Tokyo');
    expect(range.from?.toISOString()).toBe('2026-12-01T10:00:00.000Z');
  });

  it('refuses a day that does not exist, naming the field', () => {
    expect(() => parseRange('2026-02-30', null, 'Europe/Berlin')).toThrow(/from must be a date/);
  });
});
