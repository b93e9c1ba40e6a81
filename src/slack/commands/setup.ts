import { memberActor } from '../../shared/actor.ts';
import { slackProfile } from '../context.ts';
import { UsageError } from '../parse/references.ts';
import { setupBlocks, setupText } from '../presenters/replies.ts';
import type { SubcommandSpec } from './spec.ts';

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

/** The first caller in a workspace without a team becomes its owner, named after their Slack profile. */
export const setup: SubcommandSpec<'setup'> = {
  usage: '/team setup <team name> [currency]',
  summary: 'create the team for this workspace; you become its owner',
  shownTo: [],
  parse(words) {
    if (words.remaining === 0) throw new UsageError('The team name is missing.');
    const last = words.last()!;
    // The currency is optional, so a last word is only taken as one when it is an ISO code in capitals.
    const currency =
      words.remaining > 1 && /^[A-Z]{3}$/.test(last) && CURRENCIES.has(last) ? words.popLast() : undefined;
    const teamName = words.rest().join(' ');
    return currency ? { name: 'setup', teamName, currency } : { name: 'setup', teamName };
  },
  handle: async (command, { deps, client, body }) => {
    const profile = await slackProfile(client, body.user_id, deps);
    const { team, owner, apiKey } = await deps.services.teams.setup({
      slackTeamId: body.team_id,
      name: command.teamName,
      currency: command.currency ?? null,
      owner: {
        name: profile.name ?? body.user_name,
        email: profile.email ?? null,
        slackUserId: body.user_id,
      },
      via: 'slack',
    });
    return {
      text: setupText(team),
      blocks: setupBlocks(team, owner, apiKey),
      owner: {
        member: owner,
        actor: memberActor(owner.id, 'slack'),
        slackTeamId: body.team_id,
        slackUserId: body.user_id,
      },
    };
  },
  changesTeamPage: true,
};
