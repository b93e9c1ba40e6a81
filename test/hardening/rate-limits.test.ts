import { describe, expect, it } from 'vitest';
import { call, seedRuntimeTeam, useRuntime } from './runtime-harness.ts';

const LIMITS = {
  RATE_LIMIT_WINDOW_SECONDS: '60',
  RATE_LIMIT_API: '6',
  RATE_LIMIT_SLACK: '3',
  RATE_LIMIT_INVITATIONS: '4',
};

/** Limits are counted in the shared store: two web processes, one budget. */
for (const backend of ['redis', 'postgres'] as const) {
  describe(`rate limits shared by two web processes (${backend})`, () => {
    const h = useRuntime({ env: LIMITS, processes: 2, redis: backend === 'redis' });

    it('per API key, answered with 429 and Retry-After in each API’s own shape', async () => {
      const { apiKey, owner } = await seedRuntimeTeam(h);
      const bearer = { authorization: `Bearer ${apiKey}` };
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await call(h.bases[i % 2]!, 'GET', '/api/v1/team', { headers: bearer })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);

      const native = await call(h.bases[0]!, 'GET', '/api/v1/team', { headers: bearer });
      expect(native.status).toBe(429);
      expect(Number(native.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(native.json).toMatchObject({ error: { code: 'rate_limited' } });

      const smsto = await call(h.bases[1]!, 'GET', '/v1/team/users', { headers: bearer });
      expect(smsto.status).toBe(429);
      expect(smsto.json).toMatchObject({
        success: false,
        message: expect.stringMatching(/Too many requests/),
      });

      const basic = { authorization: `Basic ${Buffer.from(`${owner.email}:${apiKey}`).toString('base64')}` };
      const textmagic = await call(h.bases[0]!, 'GET', '/api/v2/subaccounts', { headers: basic });
      expect(textmagic.status).toBe(429);
      expect(textmagic.json).toMatchObject({
        code: 429,
        message: expect.stringMatching(/Too many requests/),
      });

      // Another key has its own budget.
      const other = await seedRuntimeTeam(h);
      expect(
        (
          await call(h.bases[1]!, 'GET', '/api/v1/team', {
            headers: { authorization: `Bearer ${other.apiKey}` },
          })
        ).status,
      ).toBe(200);
    });

    it('per address on the invitation pages, so guessing links is throttled', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        statuses.push(
          (await call(h.bases[i % 2]!, 'GET', `/invitations/guess-${i}-0123456789abcdef`)).status,
        );
      }
      expect(statuses).toEqual([404, 404, 404, 404, 429, 429]);
    });

    it('per Slack user on commands', async () => {
      const { owner } = await seedRuntimeTeam(h, 'T0LIMIT');
      const slack = [h.slackRequests(h.bases[0], 'T0LIMIT'), h.slackRequests(h.bases[1], 'T0LIMIT')];
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await slack[i % 2]!.command(owner.slackUserId!, 'balance')).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await slack[0]!.command(owner.slackUserId!, 'balance');
      expect(refused).toMatchObject({ status: 429, text: expect.stringMatching(/Too many requests/) });
    });
  });
}
