import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUBCOMMANDS } from '../../src/slack/commands/index.ts';
import { type SlackTeam, seedSlackTeam, useSlackApp } from './harness.ts';

const h = useSlackApp('T0FUZZ');
let acme: SlackTeam;

beforeAll(async () => {
  acme = await seedSlackTeam(h);
});

describe('/team on arbitrary input, end to end', () => {
  // 150 commands end to end, one after another: seconds on a quiet machine, far more on a loaded
  // one, hence a budget of its own.
  it('always acks with 200 and answers with a usage line or a refusal, never an internal error', {
    timeout: 120_000,
  }, async ({ signal }) => {
    const word = fc.oneof(
      fc.constantFrom(
        ...SUBCOMMANDS,
        'off',
        'admin',
        'owner',
        'user',
        'daily',
        '7d',
        'active',
        'failed',
        '09:00',
      ),
      fc.constantFrom('<@U0USER|uma>', '<@U0ADMIN>', '<@U0NOBODY>', '<#C0X|x>', 'uma@acme.test', 'x@y.z'),
      fc.constantFrom(
        '0',
        '1',
        '2147483648',
        '99999999999999',
        '-1',
        '1.5',
        '0.0000001',
        '1e9',
        '2026-02-29',
      ),
      fc.constantFrom(String(1), String(2), String(3)),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
    );
    const commandText = fc
      .tuple(fc.constantFrom(...SUBCOMMANDS), fc.array(word, { maxLength: 5 }))
      .map(([name, args]) => [name, ...args].join(' '));
    const caller = fc.constantFrom('U0OWNER', 'U0ADMIN', 'U0USER', 'U0NOBODY');

    await fc.assert(
      fc.asyncProperty(caller, commandText, async (user, text) => {
        // A test that timed out keeps running unseen: it must send nothing more, or its commands
        // run on into the file's teardown and hold it up (the afterAll timeouts this once caused).
        if (signal.aborted) return;
        const res = await h.slack.command(user, text);
        expect(res.status, text).toBe(200);
        if (res.json) {
          expect(res.json.text, text).toMatch(/Usage|not a \/team command/);
          return;
        }
        const reply = await h.fakeSlack.waitForResponse(res.responseId);
        expect(String(reply.args.text), `${user}: ${text}`).not.toContain(':boom:');
      }),
      { numRuns: 150 },
    );
    signal.throwIfAborted();
    // The money is all still there: whatever the commands did, they moved it, never made or lost it.
    const owner = { kind: 'member' as const, memberId: acme.owner.id, via: 'slack' as const };
    const team = await h.services.teams.get(owner);
    const members = await h.services.members.list(owner, { limit: 100 });
    const total = members.items.reduce((sum, member) => sum + member.balance, team.masterBalance);
    expect(total).toBe(1_000_000_000n);
  });
});
