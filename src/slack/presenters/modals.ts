import type { ModalView } from '@slack/types';
import type { Role } from '../../members/member.entity.ts';
import { managesMembers } from '../../members/member.entity.ts';
import type { MemberDetails } from '../../members/member.service.ts';
import type { MemberView, TeamView } from '../../members/views.ts';
import { MESSAGE_STATUSES } from '../../messaging/message.entity.ts';
import { formatMoney, microsToDecimal } from '../../shared/money.ts';
import { ACTIONS, type ModalOpener, VIEWS } from '../ids.ts';
import {
  actions,
  type Blocks,
  button,
  context,
  escapeText,
  input,
  option,
  plain,
  section,
  textInput,
} from './blocks.ts';
import { memberName } from './members.ts';

function modal(
  callbackId: string,
  title: string,
  blocks: Blocks,
  options: { submit?: string; metadata?: unknown } = {},
): ModalView {
  return {
    type: 'modal',
    callback_id: callbackId,
    title: plain(title, 24),
    close: plain(options.submit ? 'Cancel' : 'Close', 24),
    ...(options.submit && { submit: plain(options.submit, 24) }),
    ...(options.metadata !== undefined && { private_metadata: JSON.stringify(options.metadata) }),
    blocks,
  };
}

const MEMBER_FIELD_HINT = 'An email or a member id (as shown in /team list).';

function memberField(label: string): Blocks {
  return [textInput('member', label, { placeholder: 'ann@example.com or 12', hint: MEMBER_FIELD_HINT })];
}

function presetMember(member: Pick<MemberView, 'id' | 'name' | 'balance'>, currency: string): Blocks {
  return [section(`${memberName(member)} · balance ${formatMoney(member.balance, currency)}`)];
}

const MANAGER_OPENERS: [string, ModalOpener][] = [
  ['Create member', 'create'],
  ['Invite', 'invite'],
  ['Credit', 'credit'],
  ['Debit', 'debit'],
  ['Auto-recharge', 'autorecharge'],
  ['Message log', 'logs'],
];

/** `/team` alone: what the caller can do, one button per modal. */
export function menuModal(team: TeamView, viewer: MemberView): ModalView {
  const manager = managesMembers(viewer.role);
  const openers: [string, ModalOpener][] = manager ? MANAGER_OPENERS : [['Message log', 'logs']];
  return modal(VIEWS.menu, 'teamops', [
    section(
      manager
        ? `*${escapeText(team.name)}* · master balance *${formatMoney(team.masterBalance, team.currency)}*`
        : `*${escapeText(team.name)}* · your balance *${formatMoney(viewer.balance, team.currency)}*`,
    ),
    actions(
      'menu_actions',
      openers.map(([label, opener]) => button(label, `${ACTIONS.openModal}_${opener}`, opener)),
    ),
    context('Everything here is also a command: `/team help` lists them. The team page is on the Home tab.'),
  ]);
}

export function createMemberModal(): ModalView {
  return modal(
    VIEWS.create,
    'Create member',
    [
      textInput('name', 'Name', { placeholder: 'Sales department' }),
      textInput('email', 'Email', { optional: true, placeholder: 'sales@example.com' }),
      context('The sub-account gets its own API key, shown once after you create it.'),
    ],
    { submit: 'Create' },
  );
}

const INVITE_ROLES: [string, Exclude<Role, 'owner'>][] = [
  ['User: uses its own sub-account', 'user'],
  ['Admin: manages members and money', 'admin'],
];

export function inviteModal(): ModalView {
  return modal(
    VIEWS.invite,
    'Invite',
    [
      textInput('email', 'Email', { optional: true, placeholder: 'bob@example.com' }),
      input('slack_user', 'Or a person in this workspace', { type: 'users_select' }, { optional: true }),
      input(
        'role',
        'Role',
        {
          type: 'static_select',
          options: INVITE_ROLES.map(([label, role]) => option(label, role)),
          initial_option: option(INVITE_ROLES[0]![0], INVITE_ROLES[0]![1]),
        },
        {},
      ),
    ],
    { submit: 'Invite' },
  );
}

export type MoneyKind = 'credit' | 'debit';
export interface MoneyModalMetadata {
  kind: MoneyKind;
  memberId?: number;
}

export function moneyModal(
  kind: MoneyKind,
  team: TeamView,
  member?: Pick<MemberView, 'id' | 'name' | 'balance'>,
): ModalView {
  const metadata: MoneyModalMetadata = { kind, ...(member && { memberId: member.id }) };
  return modal(
    VIEWS.money,
    kind === 'credit' ? 'Credit member' : 'Debit member',
    [
      ...(member ? presetMember(member, team.currency) : memberField('Member')),
      textInput('amount', `Amount (${team.currency})`, { placeholder: '50 or 12.5' }),
      textInput('reason', 'Reason', { optional: true }),
      context(
        kind === 'credit'
          ? `Moves the amount from the master balance (${formatMoney(team.masterBalance, team.currency)}) to the member.`
          : "Moves the amount from the member's balance back to the master balance.",
      ),
    ],
    { submit: kind === 'credit' ? 'Credit' : 'Debit', metadata },
  );
}

export interface MemberModalMetadata {
  memberId?: number;
}

export function autoRechargeModal(team: TeamView, member?: MemberDetails): ModalView {
  const rule = member?.autoRecharge ?? null;
  const metadata: MemberModalMetadata = member ? { memberId: member.id } : {};
  return modal(
    VIEWS.autoRecharge,
    'Auto-recharge',
    [
      ...(member ? presetMember(member, team.currency) : memberField('Member')),
      textInput('threshold', `When the balance falls below (${team.currency})`, {
        optional: true,
        placeholder: '10',
        ...(rule && { initial: microsToDecimal(rule.threshold, 0) }),
      }),
      textInput('amount', `Add this amount (${team.currency})`, {
        optional: true,
        placeholder: '50',
        ...(rule && { initial: microsToDecimal(rule.amount, 0) }),
      }),
      textInput('daily_cap', `At most this much a day (${team.currency})`, {
        optional: true,
        ...(rule?.dailyCap != null && { initial: microsToDecimal(rule.dailyCap, 0) }),
      }),
      input(
        'off',
        'Turn off',
        { type: 'checkboxes', options: [option('Turn auto-recharge off for this member', 'off')] },
        { optional: true },
      ),
      context('The money comes from the master balance.'),
    ],
    { submit: 'Save', metadata },
  );
}

export function logFiltersModal(
  member?: Pick<MemberView, 'id' | 'name' | 'balance'>,
  currency?: string,
): ModalView {
  const metadata: MemberModalMetadata = member ? { memberId: member.id } : {};
  return modal(
    VIEWS.logFilters,
    'Message log',
    [
      ...(member && currency ? presetMember(member, currency) : memberField('Member')),
      input(
        'status',
        'Status',
        { type: 'static_select', options: MESSAGE_STATUSES.map((status) => option(status, status)) },
        { optional: true },
      ),
      textInput('recipient', 'Recipient', { optional: true, placeholder: '+306912345678' }),
      input('from', 'From', { type: 'datepicker' }, { optional: true }),
      input('to', 'To', { type: 'datepicker' }, { optional: true }),
    ],
    { submit: 'Show', metadata },
  );
}

/** Deleting from App Home: the modal is the confirmation; its submit button is the only way to delete. */
export function deleteMemberModal(member: MemberView, currency: string): ModalView {
  const metadata: MemberModalMetadata = { memberId: member.id };
  return modal(VIEWS.deleteMember, 'Delete member', deleteQuestion(member, currency), {
    submit: 'Delete',
    metadata,
  });
}

export function deleteQuestion(member: MemberView, currency: string): Blocks {
  return [
    section(
      `Delete ${memberName(member)}? Its API key stops working at once and its balance of ` +
        `*${formatMoney(member.balance, currency)}* returns to the master balance. Its history is kept.`,
    ),
  ];
}

/** What replaces a modal after it was submitted: an outcome to read, nothing more to submit. */
export function resultModal(title: string, blocks: Blocks): ModalView {
  return modal(VIEWS.result, title, blocks);
}
