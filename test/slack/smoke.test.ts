import { describe, expect, it } from 'vitest';
import { seedSlackTeam, shown, useSlackApp } from './harness.ts';

const h = useSlackApp();

describe('smoke', () => {
  it('answers /team balance', async () => {
    await seedSlackTeam(h);
    const res = await h.slack.command('U0OWNER', 'balance');
    expect(res.status).toBe(200);
    const reply = await h.fakeSlack.waitForResponse(res.responseId);
    expect(shown(reply)).toContain('€1,000.00');
  });
});
