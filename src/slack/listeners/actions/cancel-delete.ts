import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

export async function cancelDeleteMember({ ack, respond }: Args): Promise<void> {
  await ack();
  await respond({ replace_original: true, text: 'Nothing was deleted.' });
}
