import { section } from '../../presenters/blocks.ts';
import { apiKeyOnceBlocks } from '../../presenters/members.ts';
import { resultModal } from '../../presenters/modals.ts';
import { handleSubmission, type SubmissionArgs } from '../../support/submission.ts';
import { errorsOnFields, textValue } from '../../support/view-input.ts';

export async function submitCreateMember(args: SubmissionArgs): Promise<void> {
  await handleSubmission(
    args,
    async (caller, values) => {
      const { member, apiKey } = await args.context.teamops.services.members.create(caller.actor, {
        name: textValue(values, 'name') ?? '',
        email: textValue(values, 'email') ?? null,
      });
      return {
        view: resultModal('Member created', [
          ...apiKeyOnceBlocks(member, apiKey, 'Created'),
          section('Closing this window hides the key for good.'),
        ]),
        changedTeamPage: true,
      };
    },
    (error) => errorsOnFields(error, { fields: { name: 'name', email: 'email' }, fallback: 'name' }),
  );
}
