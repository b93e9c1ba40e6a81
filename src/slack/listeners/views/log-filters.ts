import { LOG_PAGE_SIZE, messageLogBlocks } from '../../presenters/messaging.ts';
import { type MemberModalMetadata, resultModal } from '../../presenters/modals.ts';
import { handleSubmission, type SubmissionArgs } from '../../support/submission.ts';
import {
  errorsOnFields,
  memberFromModal,
  metadata,
  selectedDate,
  selectedValue,
  textValue,
} from '../../support/view-input.ts';

/** The log filters modal: the matching messages replace the filters in the same modal. */
export async function submitLogFilters(args: SubmissionArgs): Promise<void> {
  const { memberId } = metadata<MemberModalMetadata>(args.view.private_metadata);
  const preset = typeof memberId === 'number';
  await handleSubmission(
    args,
    async (caller, values) => {
      const page = await args.context.teamops.services.messaging.searchLog(caller.actor, {
        member: memberFromModal(values, memberId),
        status: selectedValue(values, 'status') ?? null,
        recipient: textValue(values, 'recipient') ?? null,
        from: selectedDate(values, 'from') ?? null,
        to: selectedDate(values, 'to') ?? null,
        limit: LOG_PAGE_SIZE,
      });
      return { view: resultModal('Message log', messageLogBlocks(page, 'Messages')), changedTeamPage: false };
    },
    (error) =>
      errorsOnFields(error, {
        fields: { member: 'member', to: 'to', from: 'from', status: 'status', recipient: 'recipient' },
        fallback: preset ? 'recipient' : 'member',
        ...(!preset && { notFound: 'member' }),
      }),
  );
}
