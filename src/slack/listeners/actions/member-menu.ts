import type { AllMiddlewareArgs, BlockAction, OverflowAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { MEMBER_MENU_CHOICES } from '../../ids.ts';
import { autoRechargeModal, deleteMemberModal, moneyModal } from '../../presenters/modals.ts';
import { refreshHome } from '../../support/app-home.ts';
import { clickCaller, explainClickFailure, openFromClick } from '../../support/interaction.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<OverflowAction>>;

/** The menu next to a member on the team page; its option values are `<choice>:<member id>`. */
export async function memberMenu({ ack, body, action, client, respond, context }: Args): Promise<void> {
  await ack();
  const deps = context.teamops;
  const [choiceText, idText] = (action.selected_option?.value ?? '').split(':');
  const choice = MEMBER_MENU_CHOICES.find((name) => name === choiceText);
  const ref = { id: Number(idText) };
  if (!choice || !(ref.id > 0)) return;
  try {
    const caller = await clickCaller(deps, client, body);
    const { members, teams } = deps.services;
    if (choice === 'enable' || choice === 'disable') {
      await members[choice](caller.actor, ref);
      refreshHome(deps, client, caller);
      return;
    }
    const [team, member] = await Promise.all([teams.get(caller.actor), members.show(caller.actor, ref)]);
    const view =
      choice === 'delete'
        ? deleteMemberModal(member, team.currency)
        : choice === 'autorecharge'
          ? autoRechargeModal(team, member)
          : moneyModal(choice, team, member);
    await openFromClick(client, body, view);
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}
