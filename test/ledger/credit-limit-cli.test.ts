import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

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

describe('team:credit-limit', () => {
  it('gives the primary account a credit limit the master balance may spend into, shown by team:show', async () => {
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '10' });
    const id = String(team.id);
    expect(await cli('team:credit-limit', '--team', id, '--amount', '25')).toEqual([
      'credit limit €0.00 → €25.00',
    ]);
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '30' });
    await h.services.ledger.transferCreditLimit(owner.actor, {
      member: { id: user.id },
      direction: 'to_member',
      amount: '4.5',
    });
    const shown = await cli('team:show', '--team', id);
    expect(shown).toContain('master balance: -€20.00');
    expect(shown).toContain('credit limit: €20.50');
    expect(shown.find((line) => line.includes('Uma User'))).toContain('€30.00 (credit limit €4.50)');
    // The limit cannot drop below what the master balance already uses of it.
    await expect(cli('team:credit-limit', '--team', id, '--amount', '19.99')).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('cannot be less than €20.00'),
    });
    await expect(
      h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '0.51' }),
    ).rejects.toMatchObject({ code: 'insufficient_funds' });
    await expect(cli('team:credit-limit', '--team', id, '--amount', '-1')).rejects.toMatchObject({
      code: 'validation',
    });
    // Only the operator sets it.
    await expect(
      h.services.ledger.setCreditLimit(owner.actor, { teamId: team.id, creditLimit: '1000' }),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });
});
