import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.ts';
import { ValidationError } from '../../src/shared/errors.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { fund } from './helpers.ts';

const h = useServices();

async function cli(...args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const program = buildProgram({
    print: (line) => lines.push(line),
    withServices: (work) => work(h.services, h.orm),
  });
  await program.parseAsync(args, { from: 'user' });
  return lines;
}

describe('price:set and price:list', () => {
  it('sets prices by prefix and default, lists them longest prefix first, and sends are charged by them', async () => {
    const { team, owner, user } = await seedTeam(h.services);
    const slackTeam = team.slackTeamId!;
    expect(await cli('price:set', '--slack-team', slackTeam, '--prefix', '49', '--price', '0.075')).toEqual([
      'price for +49…: €0.075 per part',
    ]);
    expect(await cli('price:set', '--slack-team', slackTeam, '--prefix', '49', '--price', '0.08')).toEqual([
      'price for +49…: €0.08 per part (was €0.075)',
    ]);
    await cli('price:set', '--team', String(team.id), '--prefix', '+4917', '--price', '0.09');
    expect(await cli('price:list', '--slack-team', slackTeam)).toEqual([
      '+4917            €0.09',
      '+49              €0.08',
      'default          €0.05 (product default)',
    ]);
    await cli('price:set', '--slack-team', slackTeam, '--prefix', 'default', '--price', '0.06');
    expect((await cli('price:list', '--slack-team', slackTeam)).at(-1)).toBe('default          €0.06');

    await fund(h.services, owner.actor, user.id, '1');
    const sent = await h.services.messaging.send(user.actor, {
      to: ['+4917012345678', '+4915112345678', '+12025550123'],
      message: 'priced',
    });
    expect(sent.messages.map((m) => m.cost)).toEqual([90_000n, 80_000n, 60_000n]);
  });

  it('refuses a malformed prefix or price, naming it', async () => {
    const { team } = await seedTeam(h.services);
    await expect(
      cli('price:set', '--team', String(team.id), '--prefix', '49x', '--price', '1'),
    ).rejects.toThrow(ValidationError);
    const error = await cli('price:set', '--team', String(team.id), '--prefix', '49', '--price', '-1').catch(
      (e: unknown) => e,
    );
    expect((error as ValidationError).field).toBe('price');
  });
});
