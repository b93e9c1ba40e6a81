import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTeamCommand, SUBCOMMANDS } from '../../src/slack/commands/index.ts';
import type { TeamCommand } from '../../src/slack/parse/command.ts';
import { parseMemberRef } from '../../src/slack/parse/references.ts';
import { tokenize } from '../../src/slack/parse/tokenize.ts';

function command(text: string): TeamCommand {
  const result = parseTeamCommand(text);
  if (!result.ok) throw new Error(`expected "${text}" to parse, got: ${result.message}`);
  return result.command;
}

function refusal(text: string) {
  const result = parseTeamCommand(text);
  if (result.ok) throw new Error(`expected "${text}" to be refused, got ${JSON.stringify(result.command)}`);
  return result;
}

describe('member references', () => {
  it('reads escaped mentions with and without a label', () => {
    expect(parseMemberRef('<@U012AB3CD|ann>')).toEqual({ slackUserId: 'U012AB3CD' });
    expect(parseMemberRef('<@U012AB3CD>')).toEqual({ slackUserId: 'U012AB3CD' });
    expect(parseMemberRef('<@W0ENTERPRISE|ann lee>')).toEqual({ slackUserId: 'W0ENTERPRISE' });
  });

  it('reads plain emails and the mailto links Slack makes of them, lower-cased', () => {
    expect(parseMemberRef('Ann@Example.com')).toEqual({ email: 'ann@example.com' });
    expect(parseMemberRef('<mailto:ann@example.com|ann@example.com>')).toEqual({ email: 'ann@example.com' });
  });

  it('reads member ids, with or without #', () => {
    expect(parseMemberRef('42')).toEqual({ id: 42 });
    expect(parseMemberRef('#42')).toEqual({ id: 42 });
  });

  it('refuses names, unlinked @text, channels and zero with a message saying what to use', () => {
    expect(() => parseMemberRef('ann')).toThrow(/mention .*email.*member id/);
    expect(() => parseMemberRef('@ann')).toThrow(/plain text, not a mention/);
    expect(() => parseMemberRef('<#C0123456|general>')).toThrow(/is a channel/);
    expect(() => parseMemberRef('0')).toThrow(/does not name a member/);
  });
});

describe('tokenize', () => {
  it('splits on any run of whitespace, including tabs, newlines and non-breaking spaces', () => {
    expect(tokenize('  credit\t<@U1ABC>\u00a0\u00a0 12.5\n lunch  ')).toEqual([
      'credit',
      '<@U1ABC>',
      '12.5',
      'lunch',
    ]);
  });

  it('keeps escaped references with spaces in their label and quoted phrases as one word', () => {
    expect(tokenize('show <@U1ABC|Ann Lee>')).toEqual(['show', '<@U1ABC|Ann Lee>']);
    expect(tokenize('setup "Acme  EU" EUR')).toEqual(['setup', 'Acme EU', 'EUR']);
    expect(tokenize('setup “Acme Corp” USD')).toEqual(['setup', 'Acme Corp', 'USD']);
  });

  it('ignores zero-width characters pasted from rich text', () => {
    expect(tokenize('list\u200b active')).toEqual(['list', 'active']);
  });
});

describe('parseTeamCommand', () => {
  it('opens the menu for empty or blank text', () => {
    expect(command('')).toEqual({ name: 'menu' });
    expect(command('   ')).toEqual({ name: 'menu' });
  });

  it('accepts subcommands in any letter case', () => {
    expect(command('HELP')).toEqual({ name: 'help' });
    expect(command('Balance')).toEqual({ name: 'balance' });
  });

  it('reads credit and debit with a member, an amount and an optional reason of several words', () => {
    expect(command('credit <@U1ABC|ann> 50')).toEqual({
      name: 'credit',
      member: { slackUserId: 'U1ABC' },
      amount: '50',
    });
    expect(command('debit   ann@example.com   12.5   monthly   fee ')).toEqual({
      name: 'debit',
      member: { email: 'ann@example.com' },
      amount: '12.5',
      reason: 'monthly fee',
    });
    expect(command('credit 7 .5')).toEqual({ name: 'credit', member: { id: 7 }, amount: '.5' });
    expect(command('credit 7 +3')).toEqual({ name: 'credit', member: { id: 7 }, amount: '3' });
  });

  it('refuses amounts that are not positive decimals with at most 6 places', () => {
    expect(refusal('credit 7 -5')).toMatchObject({
      subcommand: 'credit',
      message: expect.stringMatching(/greater than 0/),
    });
    expect(refusal('credit 7 0')).toMatchObject({ message: expect.stringMatching(/greater than 0/) });
    expect(refusal('credit 7 1.1234567')).toMatchObject({
      message: expect.stringMatching(/more than 6 decimals/),
    });
    expect(refusal('credit 7 ten')).toMatchObject({
      message: expect.stringMatching(/decimal number like 50/),
    });
    expect(refusal('credit 7 1e3')).toMatchObject({ subcommand: 'credit' });
    expect(refusal('credit 7')).toMatchObject({ message: 'The amount is missing.' });
  });

  it('reads setup with a multi-word name and an optional currency code in capitals', () => {
    expect(command('setup Acme Corp EUR')).toEqual({ name: 'setup', teamName: 'Acme Corp', currency: 'EUR' });
    expect(command('setup Big Red Dog')).toEqual({ name: 'setup', teamName: 'Big Red Dog' });
    expect(command('setup USD')).toEqual({ name: 'setup', teamName: 'USD' });
    expect(refusal('setup')).toMatchObject({ subcommand: 'setup' });
  });

  it('reads list filters and refuses unknown statuses', () => {
    expect(command('list')).toEqual({ name: 'list' });
    expect(command('list Invited')).toEqual({ name: 'list', status: 'invited' });
    expect(refusal('list everyone').message).toMatch(/active, inactive, invited, closed/);
  });

  it('reads create with an optional trailing email', () => {
    expect(command('create Sales Team sales@example.com')).toEqual({
      name: 'create',
      memberName: 'Sales Team',
      email: 'sales@example.com',
    });
    expect(command('create Marketing')).toEqual({ name: 'create', memberName: 'Marketing' });
    expect(refusal('create sales@example.com').message).toMatch(/name is missing/);
  });

  it('reads invitations by email or mention with user as the default role', () => {
    expect(command('invite bob@example.com')).toEqual({
      name: 'invite',
      invitee: { email: 'bob@example.com' },
      role: 'user',
    });
    expect(command('invite <@U2BOB> ADMIN')).toEqual({
      name: 'invite',
      invitee: { slackUserId: 'U2BOB' },
      role: 'admin',
    });
    expect(refusal('invite bob@example.com owner').message).toMatch(/admin, user/);
    expect(refusal('invite bob').message).toMatch(/not an email or a Slack mention/);
  });

  it('reads revoke by id or email', () => {
    expect(command('revoke 3')).toEqual({ name: 'revoke', invitation: { id: 3 } });
    expect(command('revoke bob@example.com')).toEqual({
      name: 'revoke',
      invitation: { email: 'bob@example.com' },
    });
    expect(refusal('revoke bob').subcommand).toBe('revoke');
  });

  it('reads auto-recharge rules, off, and a zero threshold', () => {
    expect(command('autorecharge 4 10 50 200')).toEqual({
      name: 'autorecharge',
      member: { id: 4 },
      rule: { threshold: '10', amount: '50', dailyCap: '200' },
    });
    expect(command('autorecharge 4 0 5')).toEqual({
      name: 'autorecharge',
      member: { id: 4 },
      rule: { threshold: '0', amount: '5' },
    });
    expect(command('autorecharge 4 OFF')).toEqual({ name: 'autorecharge', member: { id: 4 }, rule: 'off' });
    expect(refusal('autorecharge 4 10').message).toMatch(/recharge amount is missing/);
  });

  it('reads role, link, key, enable, disable and delete', () => {
    expect(command('role 4 Owner')).toEqual({ name: 'role', member: { id: 4 }, role: 'owner' });
    expect(refusal('role 4 boss').message).toMatch(/owner, admin, user/);
    expect(command('link ann@example.com <@U1ANN|ann>')).toEqual({
      name: 'link',
      member: { email: 'ann@example.com' },
      slackUserId: 'U1ANN',
    });
    expect(refusal('link ann@example.com ann').message).toMatch(/mention them with @/);
    for (const name of ['key', 'enable', 'disable', 'delete'] as const)
      expect(command(`${name} 9`)).toEqual({ name, member: { id: 9 } });
    expect(refusal('delete 9 10').message).toMatch(/"10" was not expected/);
  });

  it('reads stats with an optional member and period in that order', () => {
    expect(command('stats')).toEqual({ name: 'stats' });
    expect(command('stats 30D')).toEqual({ name: 'stats', period: '30d' });
    expect(command('stats 4 month')).toEqual({ name: 'stats', member: { id: 4 }, period: 'month' });
    expect(refusal('stats month 4').subcommand).toBe('stats');
  });

  it('reads logs with an optional status and a date range, and checks the dates', () => {
    expect(command('logs 4')).toEqual({ name: 'logs', member: { id: 4 } });
    expect(command('logs 4 failed 2026-11-01 2026-11-30')).toEqual({
      name: 'logs',
      member: { id: 4 },
      status: 'failed',
      from: '2026-11-01',
      to: '2026-11-30',
    });
    expect(command('logs 4 2026-11-01')).toEqual({ name: 'logs', member: { id: 4 }, from: '2026-11-01' });
    expect(refusal('logs 4 2026-02-30').message).toMatch(/YYYY-MM-DD/);
    expect(refusal('logs 4 2026-12-01 2026-11-01').message).toMatch(/after the second/);
    expect(refusal('logs 4 lost').message).toMatch(/queued, sent, delivered, failed/);
  });

  it('reads alerts with a channel link and an optional level', () => {
    expect(command('alerts <#C0ALERTS|alerts>')).toEqual({ name: 'alerts', channel: 'C0ALERTS' });
    expect(command('alerts <#C0ALERTS|alerts> 2.5')).toEqual({
      name: 'alerts',
      channel: 'C0ALERTS',
      level: '2.5',
    });
    expect(command('alerts <#C0ALERTS> 0')).toEqual({ name: 'alerts', channel: 'C0ALERTS', level: '0' });
    expect(refusal('alerts #alerts').message).toMatch(/pick the channel/);
    expect(refusal('alerts <#C0ALERTS> lots').message).toMatch(/level must be an amount/);
  });

  it('reads digest schedules, off, times and time zones', () => {
    expect(command('digest <#C0STATS|stats> daily 9:30 Europe/Athens')).toEqual({
      name: 'digest',
      channel: 'C0STATS',
      frequency: 'daily',
      time: '09:30',
      timezone: 'Europe/Athens',
    });
    expect(command('digest <#C0STATS> weekly')).toEqual({
      name: 'digest',
      channel: 'C0STATS',
      frequency: 'weekly',
    });
    expect(command('digest off')).toEqual({ name: 'digest', frequency: 'off' });
    expect(command('digest <#C0STATS> off')).toEqual({
      name: 'digest',
      channel: 'C0STATS',
      frequency: 'off',
    });
    expect(refusal('digest <#C0STATS> hourly').message).toMatch(/daily, weekly, off/);
    expect(refusal('digest <#C0STATS> daily 25:00').message).toMatch(/not a time/);
    expect(refusal('digest <#C0STATS> daily 09:00 Mars/Olympus').message).toMatch(/not a time zone/);
  });

  it('names an unknown subcommand and refuses arguments to commands that take none', () => {
    expect(refusal('transfer 5')).toEqual({
      ok: false,
      subcommand: undefined,
      message: '"transfer" is not a /team command.',
    });
    expect(refusal('balance now')).toMatchObject({ subcommand: 'balance' });
  });
});

describe('parseTeamCommand on any input', () => {
  const slackish = fc.oneof(
    fc.constantFrom(...SUBCOMMANDS, 'off', 'admin', 'owner', 'daily', '7d', '09:00', 'UTC', 'Europe/Athens'),
    fc.constantFrom(
      '<@U1ABC|ann>',
      '<#C0ABC|x>',
      '<mailto:a@b.co|a@b.co>',
      'a@b.co',
      '<@',
      '<#',
      '<',
      '>',
      '"',
      '“',
    ),
    fc.stringMatching(/^[+-]?\d{0,8}(\.\d{0,8})?$/),
    fc.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
  );
  const spacing = fc.constantFrom(' ', '  ', '\t', '\n', '\u00a0', '\u200b', '');

  it('never throws and always returns a command or a message', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(slackish, spacing), { maxLength: 8 }), (parts) => {
        const text = parts.map(([word, space]) => word + space).join('');
        const result = parseTeamCommand(text);
        if (result.ok) expect(result.command.name).toBeTypeOf('string');
        else expect(result.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 3_000 },
    );
  });

  it('never throws on arbitrary text after a known subcommand', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SUBCOMMANDS),
        fc.string({ unit: 'binary', maxLength: 60 }),
        (name, rest) => {
          const result = parseTeamCommand(`${name} ${rest}`);
          if (!result.ok) expect(result.subcommand).toBe(name);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('reads back every amount it accepts as the same number of micro-units', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 15n }), (micros) => {
        const whole = micros / 1_000_000n;
        const fraction = (micros % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
        const text = fraction ? `${whole}.${fraction}` : `${whole}`;
        const parsed = command(`credit 1 ${text}`);
        expect(parsed).toMatchObject({ name: 'credit', amount: text });
      }),
    );
  });
});
