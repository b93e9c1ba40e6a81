// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.
import { describe, expect, it } from 'vitest';
import type { RoleChangeView } from '../../src/approvals/approval.service.ts';
import type { MemberPage } from '../../src/members/member.service.ts';
import type { MemberView, TeamView } from '../../src/members/views.ts';
import { ForbiddenError } from '../../src/shared/errors.ts';
import { helpLines } from '../../src/slack/commands/index.ts';
import { setup } from '../../src/slack/commands/setup.ts';
import { ACTIONS } from '../../src/slack/ids.ts';
import { approvalBlocks, decisionNotice } from '../../src/slack/presenters/approvals.ts';
import { helpBlocks } from '../../src/slack/presenters/help.ts';
import { HOME_PAGE_SIZE, outsiderHomeView, teamHomeView } from '../../src/slack/presenters/home.ts';
import { memberCardBlocks, memberListBlocks } from '../../src/slack/presenters/members.ts';
import {
  autoRechargeModal,
  createMemberModal,
  inviteModal,
  logFiltersModal,
  menuModal,
  moneyModal,
} from '../../src/slack/presenters/modals.ts';
import { deleteConfirmationBlocks, errorText, moneyMovedText } from '../../src/slack/presenters/replies.ts';

const team: TeamView = {
  id: 1,
  name: 'Acme',
  currency: 'EUR',
  slackTeamId: 'T1',
  masterBalance: 1_234_500_000n,
  creditLimit: 0n,
  alertsChannel: null,
  lowBalanceLevel: 1_000_000n,
  digestChannel: null,
  digestFrequency: null,
  digestTime: null,
  digestTimezone: null,
  timezone: 'UTC',
  createdAt: new Date('2026-11-01T00:00:00Z'),
};

function member(id: number, overrides: Partial<MemberView> = {}): MemberView {
  return {
    id,
    teamId: 1,
    name: `Member ${id}`,
    email: `m${id}@example.com`,
    role: 'user',
    status: 'active',
    balance: 12_500_000n,
    creditLimit: 0n,
    apiKeyPrefix: `tok_abc${id}`.slice(0, 10),
    slackUserId: null,
    username: `member.${id}`,
    keyId: `0000000${id}`.slice(-8),
    sharesMasterBalance: false,
    createdAt: new Date('2026-11-02T00:00:00Z'),
    closedAt: null,
    ...overrides,
  };
}

function page(total: number, pageNo: number, limit: number): MemberPage {
  const first = (pageNo - 1) * limit + 1;
  const count = Math.max(0, Math.min(limit, total - first + 1));
  return { items: Array.from({ length: count }, (_, i) => member(first + i)), total, page: pageNo, limit };
}

const text = (value: unknown) => JSON.stringify(value);
const buttons = (blocks: unknown[]) =>
  blocks.flatMap((block: any) =>
    block.type === 'actions' ? block.elements : block.accessory ? [block.accessory] : [],
  );

describe('help', () => {
  it('shows a user only what a user may do, and managers the management commands', () => {
    const user = text(helpBlocks('user', 'Acme', helpLines('user')));
    expect(user).toContain('/team balance');
    expect(user).toContain('/team logs');
    expect(user).not.toContain('/team credit');
    expect(user).not.toContain('/team delete');
    const admin = text(helpBlocks('admin', 'Acme', helpLines('admin')));
    for (const usage of ['/team credit', '/team delete', '/team role', '/team invite', '/team digest'])
      expect(admin).toContain(usage);
    expect(admin).not.toContain('/team setup');
  });

  it('keeps every section within Slack limits', () => {
    for (const block of helpBlocks('owner', 'Acme', helpLines('owner')) as any[])
      if (block.type === 'section') expect(block.text.text.length).toBeLessThanOrEqual(3_000);
  });
});

describe('team page (App Home)', () => {
  it('shows the master balance and each member with name, email, masked key, balance and status', () => {
    const view = teamHomeView(team, member(1, { role: 'owner' }), page(3, 1, HOME_PAGE_SIZE));
    const shown = text(view);
    expect(shown).toContain('€1,234.50');
    expect(shown).toContain('Member 2');
    expect(shown).toContain('m2@example.com');
    expect(shown).toContain('tok_abc2••••••••');
    expect(shown).toContain('€12.50');
    expect(shown).toContain('active');
    expect(shown).not.toContain('Next');
  });

  it('pages a team of 1,000 members within the 100-block limit, with next and previous buttons', () => {
    const first = teamHomeView(team, member(1, { role: 'owner' }), page(1_000, 1, HOME_PAGE_SIZE));
    expect(first.blocks.length).toBeLessThanOrEqual(100);
    expect(buttons(first.blocks).map((b: any) => b.text?.text)).toContain('Next →');
    const middle = teamHomeView(team, member(1, { role: 'owner' }), page(1_000, 2, HOME_PAGE_SIZE));
    const pagerValues = buttons(middle.blocks)
      .filter((b: any) => b.action_id?.startsWith(ACTIONS.homePage))
      .map((b: any) => JSON.parse(b.value).page);
    expect(pagerValues).toEqual([1, 3]);
    expect(text(middle)).toContain('page 2 of 25');
  });

  it('offers no disable or delete for the owner, and enable for an inactive member', () => {
    const view = teamHomeView(team, member(1, { role: 'owner' }), {
      items: [member(1, { role: 'owner' }), member(2, { status: 'inactive' })],
      total: 2,
      page: 1,
      limit: HOME_PAGE_SIZE,
    });
    const owner = view.blocks.find((b: any) => b.block_id === 'member_1') as any;
    expect(owner.accessory).toBeUndefined();
    const inactive = view.blocks.find((b: any) => b.block_id === 'member_2') as any;
    expect(inactive.accessory.options.map((o: any) => o.value)).toEqual([
      'credit:2',
      'debit:2',
      'autorecharge:2',
      'enable:2',
      'delete:2',
    ]);
  });

  it('shows a user only their own sub-account and no management buttons', () => {
    const view = teamHomeView(team, member(5), page(1, 1, HOME_PAGE_SIZE));
    const shown = text(view);
    expect(shown).toContain('Your balance');
    expect(shown).not.toContain('Master balance');
    expect(shown).not.toContain('Create member');
  });

  it('tells an outsider how to join or set up, and nothing about the team', () => {
    expect(text(outsiderHomeView('Acme', setup.usage))).toMatch(/not a member of \*Acme\*/);
    expect(text(outsiderHomeView(null, setup.usage))).toContain('/team setup');
  });
});

describe('member list and card', () => {
  it('stays under the 50-block message limit and names the range shown', () => {
    const blocks = memberListBlocks(team, page(130, 2, 20), 'active');
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(text(blocks)).toContain('21–40 of 130 active members');
  });

  it('escapes names so they cannot become mentions or links', () => {
    const blocks = memberListBlocks(team, {
      items: [member(1, { name: '<!channel> & co' })],
      total: 1,
      page: 1,
      limit: 20,
    });
    expect(text(blocks)).toContain('&lt;!channel&gt; &amp; co');
  });

  it('shows the auto-recharge rule in the currency without float noise', () => {
    const card = memberCardBlocks(
      {
        ...member(3, { balance: 100_000n }),
        autoRecharge: { threshold: 10_000_000n, amount: 50_000_000n, dailyCap: null },
        spendingLimit: null,
      },
      { ...team, currency: 'USD' },
    );
    const shown = text(card);
    expect(shown).toContain('$0.10');
    expect(shown).toContain('below $10.00 add $50.00');
  });

  it('shows the username and key id (Textmagic and Vonage logins), and who pays for a shared member', () => {
    const card = memberCardBlocks(
      {
        ...member(4, { username: 'uma', keyId: '0a1b2c3d', sharesMasterBalance: true }),
        autoRecharge: null,
        spendingLimit: null,
      },
      team,
    );
    const shown = text(card);
    expect(shown).toContain('`uma` · `0a1b2c3d`');
    expect(shown).toContain('sends from the master balance');
  });

  it('shows a credit limit as the lowest the balance may reach, and no such line without one', () => {
    const lent = text(
      memberCardBlocks(
        {
          ...member(5, { balance: -2_000_000n, creditLimit: 5_000_000n }),
          autoRecharge: null,
          spendingLimit: null,
        },
        team,
      ),
    );
    expect(lent).toContain('-€2.00');
    expect(lent).toContain('may go to -€5.00');
    expect(
      text(memberCardBlocks({ ...member(6), autoRecharge: null, spendingLimit: null }, team)),
    ).not.toContain('Credit limit');
  });
});

describe('approval message', () => {
  const pending: RoleChangeView = {
    id: 7,
    teamId: 1,
    memberId: 4,
    memberName: 'Dana',
    memberSlackUserId: 'U0DANA',
    fromRole: 'user',
    toRole: 'admin',
    status: 'pending',
    requestedById: 2,
    requestedByName: 'Alex',
    requestedBySlackUserId: 'U0ALEX',
    decidedById: null,
    decidedByName: null,
    decidedAt: null,
    slackChannel: null,
    slackTs: null,
    createdAt: new Date(),
  };

  it('asks the approvers with Approve and Deny while pending', () => {
    const blocks = approvalBlocks(pending, ['U0OWNER']);
    const actionIds = buttons(blocks).map((b: any) => [b.action_id, b.value]);
    expect(actionIds).toEqual([
      [ACTIONS.approveRole, '7'],
      [ACTIONS.denyRole, '7'],
    ]);
    expect(text(blocks)).toContain('<@U0OWNER>');
  });

  it('shows the outcome and no buttons once decided', () => {
    const decided = approvalBlocks({
      ...pending,
      status: 'approved',
      decidedById: 1,
      decidedByName: 'Olivia',
      decidedAt: new Date('2026-11-20T10:00:00Z'),
    });
    expect(buttons(decided)).toEqual([]);
    expect(text(decided)).toContain('*approved* by Olivia');
  });

  it('tells the member their new role', () => {
    expect(decisionNotice({ ...pending, status: 'approved', decidedByName: 'Olivia' }, 'member')).toContain(
      'You are now an *admin*',
    );
  });
});

describe('modals', () => {
  const owner = member(1, { role: 'owner' });
  const modals = [
    menuModal(team, owner),
    createMemberModal(),
    inviteModal(),
    moneyModal('credit', team),
    moneyModal('debit', team, member(2)),
    autoRechargeModal(team),
    logFiltersModal(),
  ];

  it('have titles Slack accepts and a submit button whenever they take input', () => {
    for (const view of modals) {
      expect(view.title.text.length).toBeLessThanOrEqual(24);
      if (view.blocks.some((b) => b.type === 'input')) expect(view.submit).toBeDefined();
    }
  });

  it('name every input with the same block and action id so submissions can be read and errors placed', () => {
    for (const view of modals)
      for (const block of view.blocks as any[])
        if (block.type === 'input') expect(block.element.action_id).toBe(block.block_id);
  });

  it('carry the preset member in private metadata, not in a field', () => {
    const view = moneyModal('debit', team, member(2));
    expect(JSON.parse(view.private_metadata!)).toEqual({ kind: 'debit', memberId: 2 });
    expect(view.blocks.some((b: any) => b.block_id === 'member')).toBe(false);
  });

  it('offer a user only the message log in the menu', () => {
    const labels = buttons(menuModal(team, member(3)).blocks).map((b: any) => b.text.text);
    expect(labels).toEqual(['Message log']);
  });
});

describe('replies', () => {
  it('word money movements in the team currency with exact amounts', () => {
    const reply = moneyMovedText(
      {
        transferId: '1',
        kind: 'credit',
        amount: 100_000n,
        memberId: 2,
        createdAt: new Date(),
        masterBalance: 999_900_000n,
        memberBalance: 300_000n,
        replayed: false,
        memberName: 'Member 2',
        member: member(2),
        currency: 'EUR',
      },
      team,
    );
    expect(reply).toBe(
      'Credited €0.10 to *Member 2* (#2). Member 2 now has *€0.30*; master balance *€999.90*.',
    );
  });

  it('show domain refusals as they are and hide internal errors', () => {
    expect(errorText(new ForbiddenError('Only the owner and admins can move money'))).toBe(
      ':no_entry: Only the owner and admins can move money.',
    );
    expect(errorText(new Error('connection refused at 10.0.0.3'))).not.toContain('10.0.0.3');
  });

  it('ask before deleting, with a Delete button carrying the member id', () => {
    const blocks = deleteConfirmationBlocks(member(9, { balance: 5_000_000n }), 'EUR');
    expect(text(blocks)).toContain('€5.00');
    expect(buttons(blocks).map((b: any) => [b.action_id, b.value, b.style])).toEqual([
      [ACTIONS.confirmDelete, '9', 'danger'],
      [ACTIONS.cancelDelete, '9', undefined],
    ]);
  });
});
