import type { App, BlockAction, ButtonAction, OverflowAction } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { ACTIONS } from '../../ids.ts';
import { INVITATION_DM_ACTIONS } from '../../presenters/invitation-dm.ts';
import { cancelDeleteMember } from './cancel-delete.ts';
import { decideCreditRequest } from './credit-decision.ts';
import { confirmDeleteMember } from './delete-member.ts';
import { showHomePage } from './home-page.ts';
import { answerInvitation } from './invitation-answer.ts';
import { memberListPage } from './member-list-page.ts';
import { memberMenu } from './member-menu.ts';
import { openModal } from './open-modal.ts';
import { decideRoleChange } from './role-decision.ts';
import { topUpFromAlert } from './top-up.ts';

/** Buttons whose id carries a suffix (`open_modal_credit`, `home_page_next`): one listener per prefix. */
const startsWith = (prefix: string) => new RegExp(`^${prefix}(_|$)`);

export function register(app: App<TeamopsContext>): void {
  app.action<BlockAction<ButtonAction>>(ACTIONS.approveRole, decideRoleChange);
  app.action<BlockAction<ButtonAction>>(ACTIONS.denyRole, decideRoleChange);
  app.action<BlockAction<ButtonAction>>(ACTIONS.approveCredit, decideCreditRequest);
  app.action<BlockAction<ButtonAction>>(ACTIONS.denyCredit, decideCreditRequest);
  app.action<BlockAction<ButtonAction>>(ACTIONS.confirmDelete, confirmDeleteMember);
  app.action<BlockAction<ButtonAction>>(ACTIONS.cancelDelete, cancelDeleteMember);
  app.action<BlockAction<ButtonAction>>(startsWith(ACTIONS.listPage), memberListPage);
  app.action<BlockAction<ButtonAction>>(startsWith(ACTIONS.homePage), showHomePage);
  app.action<BlockAction<ButtonAction>>(ACTIONS.homeRefresh, showHomePage);
  app.action<BlockAction<OverflowAction>>(ACTIONS.memberMenu, memberMenu);
  app.action<BlockAction<ButtonAction>>(startsWith(ACTIONS.openModal), openModal);
  app.action<BlockAction<ButtonAction>>(ACTIONS.topUp, topUpFromAlert);
  app.action<BlockAction<ButtonAction>>(INVITATION_DM_ACTIONS.accept, answerInvitation);
  app.action<BlockAction<ButtonAction>>(INVITATION_DM_ACTIONS.decline, answerInvitation);
}
