import { section } from '../../presenters/blocks.ts';
import { type MemberModalMetadata, resultModal } from '../../presenters/modals.ts';
import { closedText, errorText } from '../../presenters/replies.ts';
import { handleSubmission, type SubmissionArgs } from '../../support/submission.ts';
import { metadata } from '../../support/view-input.ts';

/** The Delete button of the confirmation modal opened from the team page. */
export async function submitDeleteMember(args: SubmissionArgs): Promise<void> {
  const { memberId } = metadata<MemberModalMetadata>(args.view.private_metadata);
  await handleSubmission(
    args,
    async (caller) => {
      const { members, teams } = args.context.teamops.services;
      const { member, returned } = await members.close(caller.actor, { id: Number(memberId) });
      const team = await teams.get(caller.actor);
      return {
        view: resultModal('Member deleted', [section(closedText(member, returned, team.currency))]),
        changedTeamPage: true,
      };
    },
    // The confirmation has no input to put an error on: the modal says why instead.
    (error) => resultModal('Not deleted', [section(errorText(error))]),
  );
}
