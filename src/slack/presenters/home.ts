import type { HomeView, Overflow } from '@slack/types';
import type { MonthSpend } from '../../ledger/spending-limits.ts';
import { managesMembers } from '../../members/member.entity.ts';
import type { MemberPage } from '../../members/member.service.ts';
import type { MemberView, TeamView } from '../../members/views.ts';
import { formatMoney } from '../../shared/money.ts';
import type { LatestChart } from '../../stats/chart.service.ts';
import { ACTIONS, type MemberMenuChoice, type ModalOpener } from '../ids.ts';
import { actions, type Blocks, button, context, divider, header, option, section } from './blocks.ts';
import { latestChartBlock } from './charts.ts';
import { outsiderHelpBlocks } from './help.ts';
import { memberSummary, pageCount, pager, spendingLimitLine } from './members.ts';

/**
 * Members per App Home page. One block each plus at most eight around them stays far below the
 * 100-block limit of a Home tab, and leaves room should a row ever need a second block.
 */
export const HOME_PAGE_SIZE = 40;

const MENU_LABELS: Record<MemberMenuChoice, string> = {
  credit: 'Credit…',
  debit: 'Debit…',
  autorecharge: 'Auto-recharge…',
  enable: 'Enable',
  disable: 'Disable',
  delete: 'Delete…',
};

function memberChoices(member: MemberView): MemberMenuChoice[] {
  // The owner's money is the master balance, and the owner can be neither disabled nor deleted.
  if (member.role === 'owner' || member.status === 'closed') return [];
  if (member.status === 'invited') return ['delete'];
  return ['credit', 'debit', 'autorecharge', member.status === 'active' ? 'disable' : 'enable', 'delete'];
}

function memberMenu(member: MemberView): Overflow | undefined {
  const choices = memberChoices(member);
  if (choices.length === 0) return undefined;
  return {
    type: 'overflow',
    action_id: ACTIONS.memberMenu,
    options: choices.map((choice) => option(MENU_LABELS[choice], `${choice}:${member.id}`)),
  };
}

function opener(label: string, modal: ModalOpener, style?: 'primary') {
  return button(label, `${ACTIONS.openModal}_${modal}`, modal, style);
}

/**
 * The team page: master balance, the latest team-wide chart (managers), then every member with
 * name, email, masked key, balance and status, and its monthly spending limit where it has one
 * (`limits`, by member id).
 */
export function teamHomeView(
  team: TeamView,
  viewer: MemberView,
  page: MemberPage,
  chart: LatestChart | null = null,
  limits: ReadonlyMap<number, MonthSpend> = new Map(),
): HomeView {
  const manager = managesMembers(viewer.role);
  const summary = (member: MemberView) => {
    const limit = limits.get(member.id);
    return (
      memberSummary(member, team.currency) +
      (limit ? `\nSpending limit: ${spendingLimitLine(limit, team.currency)}` : '')
    );
  };
  const blocks: Blocks = manager
    ? [
        header(team.name),
        section(`Master balance: *${formatMoney(team.masterBalance, team.currency)}*`),
        actions('home_actions', [
          opener('Create member', 'create', 'primary'),
          opener('Invite', 'invite'),
          opener('Credit', 'credit'),
          opener('Debit', 'debit'),
          opener('Message log', 'logs'),
          button('Refresh', ACTIONS.homeRefresh, String(page.page)),
        ]),
        ...(chart ? [latestChartBlock(chart)] : []),
        divider(),
        context(
          page.total === 0
            ? 'No members yet.'
            : `${page.total} member${page.total === 1 ? '' : 's'} · page ${page.page} of ${pageCount(page)}`,
        ),
        ...page.items.map((member) => section(summary(member), memberMenu(member), `member_${member.id}`)),
        ...pager('home_pager', ACTIONS.homePage, page),
      ]
    : [
        header(team.name),
        section(`Your balance: *${formatMoney(viewer.balance, team.currency)}*`),
        section(summary(viewer)),
        actions('home_actions', [opener('Message log', 'logs'), button('Refresh', ACTIONS.homeRefresh, '1')]),
        context('`/team help` lists what you can do.'),
      ];
  return { type: 'home', blocks };
}

/** For someone with no member behind their Slack user: how to become one. */
export function outsiderHomeView(teamName: string | null, setupUsage: string): HomeView {
  return { type: 'home', blocks: [header('teamops'), ...outsiderHelpBlocks(teamName, setupUsage)] };
}
