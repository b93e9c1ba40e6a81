import { describeRef } from '../../../members/lookups.ts';
import { section } from '../../presenters/blocks.ts';
import { type MemberModalMetadata, resultModal } from '../../presenters/modals.ts';
import { autoRechargeOffText } from '../../presenters/replies.ts';
import { handleSubmission, type SubmissionArgs } from '../../support/submission.ts';
import { errorsOnFields, isChecked, memberFromModal, metadata, textValue } from '../../support/view-input.ts';

export async function submitAutoRecharge(args: SubmissionArgs): Promise<void> {
  const { memberId } = metadata<MemberModalMetadata>(args.view.private_metadata);
  await handleSubmission(
    args,
    async (caller, values) => {
      const { autoRecharge } = args.context.teamops.services;
      const member = memberFromModal(values, memberId);
      if (isChecked(values, 'off', 'off')) {
        const { removed } = await autoRecharge.off(caller.actor, member);
        return {
          view: resultModal('Auto-recharge', [section(autoRechargeOffText(removed, describeRef(member)))]),
          changedTeamPage: true,
        };
      }
      await autoRecharge.set(caller.actor, {
        member,
        threshold: textValue(values, 'threshold') ?? '',
        amount: textValue(values, 'amount') ?? '',
        dailyCap: textValue(values, 'daily_cap') ?? null,
      });
      return { changedTeamPage: true };
    },
    (error) =>
      errorsOnFields(error, {
        fields: { member: 'member', threshold: 'threshold', amount: 'amount', 'daily cap': 'daily_cap' },
        fallback: 'threshold',
        ...(typeof memberId !== 'number' && { notFound: 'member' }),
      }),
  );
}
