import type { App } from '@slack/bolt';
import type { TeamopsContext } from '../context.ts';
import * as actions from './actions/index.ts';
import * as commands from './commands/index.ts';
import * as events from './events/index.ts';
import * as views from './views/index.ts';

export function registerListeners(app: App<TeamopsContext>): void {
  commands.register(app);
  actions.register(app);
  views.register(app);
  events.register(app);
}
