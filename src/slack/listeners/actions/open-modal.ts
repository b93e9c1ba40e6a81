import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import { managesMembers } from '../../../members/member.entity.ts';
import type { MemberView, TeamView } from '../../../members/views.ts';
import type { TeamopsContext } from '../../context.ts';
import { MODAL_OPENERS, type ModalOpener } from '../../ids.ts';
import {
  autoRechargeModal,
  createMemberModal,
  inviteModal,
  logFiltersModal,
  moneyModal,
} from '../../presenters/modals.ts';
import { clickCaller, explainClickFailure, openFromClick } from '../../support/interaction.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

function modalFor(opener: ModalOpener, team: TeamView, viewer: MemberView): ModalView {
  switch (opener) {
    case 'create':
      return createMemberModal();
    case 'invite':
      return inviteModal();
    case 'credit':
    case 'debit':
      return moneyModal(opener, team);
    case 'autorecharge':
      return autoRechargeModal(team);
    case 'logs':
      // A user reads only their own log, so the member is not asked for.
      return managesMembers(viewer.role) ? logFiltersModal() : logFiltersModal(viewer, team.currency);
  }
}

/** A button on the menu modal or App Home that opens one of the modals (right away: trigger ids expire in 3 s). */
export async function openModal({ ack, body, action, client, respond, context }: Args): Promise<void> {
  await ack();
  const deps = context.teamops;
  const opener = MODAL_OPENERS.find((name) => name === action.value);
  if (!opener) return;
  try {
    const caller = await clickCaller(deps, client, body);
    const team = await deps.services.teams.get(caller.actor);
    await openFromClick(client, body, modalFor(opener, team, caller.member));
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}
