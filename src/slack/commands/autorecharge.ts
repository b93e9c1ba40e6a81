import { describeRef } from '../../members/lookups.ts';
import { callerTeamView } from '../context.ts';
import { parseAmountWord, parseMemberRef } from '../parse/references.ts';
import { autoRechargeOffText, autoRechargeText } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const autorecharge: SubcommandSpec<'autorecharge'> = {
  usage: '/team autorecharge <member> <threshold> <amount> [daily cap] | /team autorecharge <member> off',
  summary: 'top a member up from master when the balance runs low',
  shownTo: MANAGERS,
  parse(words) {
    const member = parseMemberRef(words.take('The member'));
    const first = words.take('The threshold (or "off")');
    if (first.toLowerCase() === 'off') {
      words.end();
      return { name: 'autorecharge', member, rule: 'off' };
    }
    const threshold = parseAmountWord(first, 'threshold', { allowZero: true });
    const amount = parseAmountWord(words.take('The recharge amount'), 'amount');
    const capWord = words.takeOptional();
    words.end();
    const dailyCap = capWord === undefined ? undefined : parseAmountWord(capWord, 'daily cap');
    return {
      name: 'autorecharge',
      member,
      rule: dailyCap === undefined ? { threshold, amount } : { threshold, amount, dailyCap },
    };
  },
  handle: async (command, { deps, caller }) => {
    const { autoRecharge, members } = deps.services;
    if (command.rule === 'off') {
      const { removed } = await autoRecharge.off(caller.actor, command.member);
      return { text: autoRechargeOffText(removed, describeRef(command.member)) };
    }
    const rule = await autoRecharge.set(caller.actor, {
      member: command.member,
      threshold: command.rule.threshold,
      amount: command.rule.amount,
      dailyCap: command.rule.dailyCap ?? null,
    });
    const [team, member] = await Promise.all([
      callerTeamView(deps, caller),
      members.show(caller.actor, { id: rule.memberId }),
    ]);
    return { text: autoRechargeText(rule, member, team.currency) };
  },
  changesTeamPage: true,
};
