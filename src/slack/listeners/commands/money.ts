import { describeRef } from '../../../members/lookups.ts';
import { callerTeamView } from '../../context.ts';
import {
  autoRechargeOffText,
  autoRechargeText,
  balanceText,
  moneyMovedText,
} from '../../presenters/replies.ts';
import type { CommandOf, CommandRequest, Reply, SubcommandHandler } from './subcommand.ts';

async function move(
  command: CommandOf<'credit' | 'debit'>,
  { deps, caller, body }: CommandRequest,
): Promise<Reply> {
  const result = await deps.services.ledger[command.name](caller.actor, {
    member: command.member,
    amount: command.amount,
    reason: command.reason ?? null,
    // One slash command is one movement, even if its handling were ever repeated.
    idempotencyKey: `slack-${body.trigger_id}`,
  });
  return { text: moneyMovedText(result, result) };
}

export const creditMember: SubcommandHandler<'credit'> = move;
export const debitMember: SubcommandHandler<'debit'> = move;

export const showBalance: SubcommandHandler<'balance'> = async (_command, { deps, caller }) => {
  const team = await callerTeamView(deps, caller);
  return { text: balanceText(team, caller.member) };
};

export const setAutoRecharge: SubcommandHandler<'autorecharge'> = async (command, { deps, caller }) => {
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
};
