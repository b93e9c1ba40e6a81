import type { App } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { appHomeOpened } from './app-home-opened.ts';

export function register(app: App<TeamopsContext>): void {
  app.event('app_home_opened', appHomeOpened);
}
