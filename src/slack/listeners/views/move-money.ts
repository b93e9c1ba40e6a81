import { InsufficientFundsError } from '../../../shared/errors.ts';
import type { MoneyModalMetadata } from '../../presenters/modals.ts';
import { handleSubmission, type SubmissionArgs } from '../../support/submission.ts';
import { errorsOnFields, memberFromModal, metadata, textValue } from '../../support/view-input.ts';

/** The credit / debit modal; the modal closes when the money has moved and the team page shows it. */
export async function submitMoneyMove(args: SubmissionArgs): Promise<void> {
  const { kind, memberId } = metadata<MoneyModalMetadata>(args.view.private_metadata);
  const preset = typeof memberId === 'number';
  await handleSubmission(
    args,
    async (caller, values) => {
      await args.context.teamops.services.ledger[kind === 'debit' ? 'debit' : 'credit'](caller.actor, {
        member: memberFromModal(values, memberId),
        amount: textValue(values, 'amount') ?? '',
        reason: textValue(values, 'reason') ?? null,
        // A modal is submitted once; a resubmission after a lost answer must not move the money twice.
        idempotencyKey: `slack-view-${args.view.id}`,
      });
      return { changedTeamPage: true };
    },
    (error) =>
      error instanceof InsufficientFundsError
        ? { amount: errorsOnFields(error, { fields: {}, fallback: 'amount' }).amount! }
        : errorsOnFields(error, {
            fields: { member: 'member', amount: 'amount', reason: 'reason' },
            fallback: 'amount',
            ...(!preset && { notFound: 'member' }),
          }),
  );
}
