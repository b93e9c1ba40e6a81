import type { App } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { timedAck } from '../../support/observe.ts';
import { teamCommand } from './team.ts';

export function register(app: App<TeamopsContext>): void {
  app.command('/team', timedAck(teamCommand));
}
