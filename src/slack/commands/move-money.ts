import { parseAmountWord, parseMemberRef } from '../parse/references.ts';
import type { Words } from '../parse/words.ts';
import { moneyMovedText } from '../presenters/replies.ts';
import type { CommandOf, CommandRequest, Reply } from './spec.ts';

/** `/team credit` and `/team debit` are written alike and differ only in the direction of the money. */
export function parseMoneyMove<N extends 'credit' | 'debit'>(name: N) {
  return (words: Words): CommandOf<N> => {
    const member = parseMemberRef(words.take('The member'));
    const amount = parseAmountWord(words.take('The amount'), 'amount');
    const reason = words.rest().join(' ');
    return (reason === '' ? { name, member, amount } : { name, member, amount, reason }) as CommandOf<N>;
  };
}

export async function moveMoney(
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
