import type { App, ViewSubmitAction } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { VIEWS } from '../../ids.ts';
import { submitAutoRecharge } from './auto-recharge.ts';
import { submitCreateMember } from './create-member.ts';
import { submitDeleteMember } from './delete-member.ts';
import { submitInvite } from './invite-member.ts';
import { submitLogFilters } from './log-filters.ts';
import { submitMoneyMove } from './move-money.ts';

export function register(app: App<TeamopsContext>): void {
  app.view<ViewSubmitAction>(VIEWS.create, submitCreateMember);
  app.view<ViewSubmitAction>(VIEWS.invite, submitInvite);
  app.view<ViewSubmitAction>(VIEWS.money, submitMoneyMove);
  app.view<ViewSubmitAction>(VIEWS.autoRecharge, submitAutoRecharge);
  app.view<ViewSubmitAction>(VIEWS.logFilters, submitLogFilters);
  app.view<ViewSubmitAction>(VIEWS.deleteMember, submitDeleteMember);
}
