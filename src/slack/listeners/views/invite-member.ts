import { section } from '../../presenters/blocks.ts';
import { invitedText } from '../../presenters/invitations.ts';
import { resultModal } from '../../presenters/modals.ts';
import { handleSubmission, type SubmissionArgs } from '../../support/submission.ts';
import { errorsOnFields, selectedUser, selectedValue, textValue } from '../../support/view-input.ts';

export async function submitInvite(args: SubmissionArgs): Promise<void> {
  await handleSubmission(
    args,
    async (caller, values) => {
      const invitation = await args.context.teamops.services.invitations.invite(caller.actor, {
        email: textValue(values, 'email') ?? null,
        slackUserId: selectedUser(values, 'slack_user') ?? null,
        role: selectedValue(values, 'role') ?? 'user',
      });
      return {
        view: resultModal('Invitation sent', [section(invitedText(invitation))]),
        changedTeamPage: true,
      };
    },
    (error) =>
      errorsOnFields(error, {
        fields: { email: 'email', 'slack user': 'slack_user', role: 'role' },
        fallback: 'email',
      }),
  );
}
