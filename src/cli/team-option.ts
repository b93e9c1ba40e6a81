import { type Command, InvalidArgumentError } from 'commander';
import type { Services } from '../app.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';

/** The options by which every operator command names its team: a Slack workspace or a team id. */
export interface TeamOptions {
  slackTeam?: string;
  team?: number;
}

export function withTeamOptions(command: Command): Command {
  return command
    .option('--slack-team <id>', 'Slack workspace id (T…)')
    .option('--team <id>', 'team id', positiveInt);
}

export async function resolveTeamId(services: Services, options: TeamOptions): Promise<number> {
  if (options.team) return options.team;
  if (!options.slackTeam)
    throw new ValidationError('team', 'name the team with --slack-team T… or --team <id>');
  const team = await services.teams.getBySlackTeam(options.slackTeam);
  if (!team) throw new NotFoundError(`no team belongs to Slack workspace ${options.slackTeam}`);
  return team.id;
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}
