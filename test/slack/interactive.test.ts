// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.

import { beforeAll, describe, expect, it } from 'vitest';
import { memberActor } from '../../src/shared/actor.ts';
import { ACTIONS, VIEWS } from '../../src/slack/ids.ts';
import { INVITATION_DM_ACTIONS } from '../../src/slack/presenters/invitation-dm.ts';
import type { SlackCall } from '../helpers/fake-slack.ts';
import { invitationLinkToken } from '../helpers/invitation-link.ts';
import { memberOfKey } from '../helpers/services.ts';
import { type SlackTeam, seedSlackTeam, shown, useSlackApp } from './harness.ts';

const h = useSlackApp('T0INTERACT');
let acme: SlackTeam;

beforeAll(async () => {
  acme = await seedSlackTeam(h);
});

const ownerActor = () => memberActor(acme.owner.id, 'slack');
const show = (id: number) => h.services.members.show(ownerActor(), { id });

async function newMember(name: string, balance?: string) {
  const { member } = await h.services.members.create(ownerActor(), { name });
  if (balance) await h.services.ledger.credit(ownerActor(), { member: { id: member.id }, amount: balance });
  return member;
}

function buttons(blocks: any[]): any[] {
  return blocks.flatMap((b) => (b.type === 'actions' ? b.elements : b.accessory ? [b.accessory] : []));
}

describe('/team delete', () => {
  it('only asks at first; Cancel leaves the member alone', async () => {
    const member = await newMember('Doomed', '5');
    const res = await h.slack.command('U0ADMIN', `delete ${member.id}`);
    const question = await h.fakeSlack.waitForResponse(res.responseId);
    expect(shown(question)).toContain('balance of *€5.00* returns to the master balance');
    expect((await show(member.id)).status).toBe('active');

    const cancel = buttons(question.args.blocks).find((b) => b.action_id === ACTIONS.cancelDelete);
    const click = await h.slack.click(
      'U0ADMIN',
      { actionId: cancel.action_id, value: cancel.value },
      { message: { channel: 'C0GENERAL', ts: '1.2' } },
    );
    const answer = await h.fakeSlack.waitForResponse(click.responseId);
    expect(answer.args).toMatchObject({ replace_original: true, text: 'Nothing was deleted.' });
    expect((await show(member.id)).status).toBe('active');
  });

  it("closes the member on Delete, returning the balance to master; a plain user's click does nothing", async () => {
    const member = await newMember('Gone', '5');
    const before = (await h.services.teams.get(ownerActor())).masterBalance;
    const res = await h.slack.command('U0ADMIN', `delete ${member.id}`);
    const question = await h.fakeSlack.waitForResponse(res.responseId);
    const del = buttons(question.args.blocks).find((b) => b.action_id === ACTIONS.confirmDelete);
    expect(del.style).toBe('danger');

    const byUser = await h.slack.click(
      'U0USER',
      { actionId: del.action_id, value: del.value },
      { message: { channel: 'C0GENERAL', ts: '1.3' } },
    );
    expect((await h.fakeSlack.waitForResponse(byUser.responseId)).args.text).toBe(
      ':no_entry: Only the owner and admins can delete members.',
    );
    expect((await show(member.id)).status).toBe('active');

    const byAdmin = await h.slack.click(
      'U0ADMIN',
      { actionId: del.action_id, value: del.value },
      { message: { channel: 'C0GENERAL', ts: '1.3' } },
    );
    const done = await h.fakeSlack.waitForResponse(byAdmin.responseId);
    expect(done.args).toMatchObject({
      replace_original: true,
      text: `Deleted *Gone* (#${member.id}); €5.00 returned to the master balance.`,
    });
    expect((await show(member.id)).status).toBe('closed');
    expect((await h.services.teams.get(ownerActor())).masterBalance).toBe(before + 5_000_000n);
  });

  it('from the team page, deletes only through the confirmation modal', async () => {
    const member = await newMember('Home Delete');
    const res = await h.slack.click(
      'U0ADMIN',
      { actionId: ACTIONS.memberMenu, selectedOption: `delete:${member.id}` },
      { view: { type: 'home' } },
    );
    expect(res.status).toBe(200);
    const opened = await h.fakeSlack.waitFor(
      'views.open',
      (c) => c.args.view.callback_id === VIEWS.deleteMember,
    );
    expect(opened.args.trigger_id).toMatch(/^\d+\.[0-9a-f]+$/);
    expect((await show(member.id)).status).toBe('active');

    const submit = await h.slack.submitView(
      'U0ADMIN',
      { callbackId: VIEWS.deleteMember, privateMetadata: opened.args.view.private_metadata },
      {},
    );
    expect(submit.json.response_action).toBe('update');
    expect(JSON.stringify(submit.json.view)).toContain(`Deleted *Home Delete* (#${member.id})`);
    expect((await show(member.id)).status).toBe('closed');
  });
});

describe('modals', () => {
  async function openFromMenu(opener: string): Promise<SlackCall> {
    await h.slack.click(
      'U0ADMIN',
      { actionId: `${ACTIONS.openModal}_${opener}`, value: opener },
      { view: { type: 'modal', callbackId: VIEWS.menu } },
    );
    return h.fakeSlack.waitFor('views.push');
  }

  it('open from the menu on top of it, and from App Home on their own', async () => {
    const pushed = await openFromMenu('create');
    expect(pushed.args.view.callback_id).toBe(VIEWS.create);
    await h.slack.click(
      'U0ADMIN',
      { actionId: `${ACTIONS.openModal}_invite`, value: 'invite' },
      { view: { type: 'home' } },
    );
    expect((await h.fakeSlack.waitFor('views.open')).args.view.callback_id).toBe(VIEWS.invite);
  });

  it('create: puts a bad email on the email field, then shows the new key once', async () => {
    const bad = await h.slack.submitView(
      'U0ADMIN',
      { callbackId: VIEWS.create },
      { name: 'Ops', email: 'ops@' },
    );
    expect(bad.json).toEqual({
      response_action: 'errors',
      errors: { email: 'Email "ops@" is not a valid email address.' },
    });
    const good = await h.slack.submitView(
      'U0ADMIN',
      { callbackId: VIEWS.create },
      { name: 'Ops', email: 'ops@acme.test' },
    );
    expect(good.json.response_action).toBe('update');
    const key = /```(tok_[\w-]+)```/.exec(JSON.stringify(good.json.view))?.[1];
    expect((await h.services.members.authenticateApiKey(key!)).email).toBe('ops@acme.test');
    await h.fakeSlack.waitFor('views.publish', (c) => c.args.user_id === 'U0ADMIN');
  });

  it('credit: errors land on the member or amount field, and a valid submission moves money once', async () => {
    const member = await newMember('Modal Credit');
    const view = {
      callbackId: VIEWS.money,
      privateMetadata: JSON.stringify({ kind: 'credit' }),
      id: 'V0CREDIT1',
    };
    const unknown = await h.slack.submitView('U0ADMIN', view, { member: 'nobody@acme.test', amount: '5' });
    expect(Object.keys(unknown.json.errors)).toEqual(['member']);
    const named = await h.slack.submitView('U0ADMIN', view, { member: 'Modal Credit', amount: '5' });
    expect(named.json.errors.member).toContain('names can be ambiguous');
    const amount = await h.slack.submitView('U0ADMIN', view, {
      member: String(member.id),
      amount: '5.1234567',
    });
    expect(amount.json.errors).toEqual({ amount: 'Amount has more than 6 decimals.' });
    const tooMuch = await h.slack.submitView('U0ADMIN', view, {
      member: String(member.id),
      amount: '1000000',
    });
    expect(Object.keys(tooMuch.json.errors)).toEqual(['amount']);
    expect((await show(member.id)).balance).toBe(0n);

    const ok = await h.slack.submitView('U0ADMIN', view, {
      member: String(member.id),
      amount: '7.5',
      reason: 'promo',
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    const again = await h.slack.submitView('U0ADMIN', view, {
      member: String(member.id),
      amount: '7.5',
      reason: 'promo',
    });
    expect(again.text).toBe('');
    expect((await show(member.id)).balance).toBe(7_500_000n);
  });

  it('debit opened for one member takes the member from the modal, not a field', async () => {
    const member = await newMember('Modal Debit', '10');
    const view = {
      callbackId: VIEWS.money,
      privateMetadata: JSON.stringify({ kind: 'debit', memberId: member.id }),
      id: 'V0DEBIT1',
    };
    const tooMuch = await h.slack.submitView('U0ADMIN', view, { amount: '11' });
    expect(Object.keys(tooMuch.json.errors)).toEqual(['amount']);
    const byUser = await h.slack.submitView('U0USER', view, { amount: '1' });
    expect(byUser.json.errors).toEqual({ amount: 'Only the owner and admins can move money.' });
    await h.slack.submitView('U0ADMIN', view, { amount: '4' });
    expect((await show(member.id)).balance).toBe(6_000_000n);
  });

  it('auto-recharge: a daily cap below the amount is an error on the cap; off turns it off', async () => {
    const member = await newMember('Modal Recharge');
    const view = { callbackId: VIEWS.autoRecharge, privateMetadata: JSON.stringify({ memberId: member.id }) };
    const bad = await h.slack.submitView('U0ADMIN', view, { threshold: '5', amount: '20', daily_cap: '10' });
    expect(bad.json.errors).toEqual({ daily_cap: 'Daily cap must be at least the recharge amount.' });
    const missing = await h.slack.submitView('U0ADMIN', view, { amount: '20' });
    expect(Object.keys(missing.json.errors)).toEqual(['threshold']);
    const ok = await h.slack.submitView('U0ADMIN', view, { threshold: '5', amount: '20' });
    expect(ok.text).toBe('');
    expect((await show(member.id)).autoRecharge).toEqual({
      threshold: 5_000_000n,
      amount: 20_000_000n,
      dailyCap: null,
    });
    const off = await h.slack.submitView('U0ADMIN', view, { off: { options: ['off'] } });
    expect(JSON.stringify(off.json.view)).toContain('Auto-recharge is off');
    expect((await show(member.id)).autoRecharge).toBeNull();
  });

  it('invite: asks for an email or a person, then confirms', async () => {
    const none = await h.slack.submitView(
      'U0ADMIN',
      { callbackId: VIEWS.invite },
      { role: { option: 'user' } },
    );
    expect(none.json.errors).toEqual({ email: 'Email is required.' });
    const ok = await h.slack.submitView(
      'U0ADMIN',
      { callbackId: VIEWS.invite },
      { email: 'dora@acme.test', role: { option: 'admin' } },
    );
    expect(JSON.stringify(ok.json.view)).toContain('Invited dora@acme.test as *admin*');
  });

  it('log filters: a range that ends before it starts is an error on "To"', async () => {
    const view = { callbackId: VIEWS.logFilters, privateMetadata: '{}' };
    const bad = await h.slack.submitView('U0ADMIN', view, {
      member: String(acme.user.id),
      from: { date: '2026-11-20' },
      to: { date: '2026-11-01' },
    });
    expect(Object.keys(bad.json.errors)).toEqual(['to']);
    const ok = await h.slack.submitView('U0ADMIN', view, {
      member: String(acme.user.id),
      status: { option: 'failed' },
    });
    expect(JSON.stringify(ok.json.view)).toContain('no messages match');
  });

  it('refuses a submission from someone who is not a member, on the form', async () => {
    const res = await h.slack.submitView('U0NOBODY', { callbackId: VIEWS.create }, { name: 'Intruder' });
    expect(res.json.errors.name).toContain('You are not a member of Acme');
  });
});

describe('invitation by mention', () => {
  async function invitationToken(invitee: string): Promise<string> {
    const res = await h.slack.command('U0ADMIN', `invite <@${invitee}> user`);
    await h.fakeSlack.waitForResponse(res.responseId);
    const [row] = await h.orm.em
      .fork()
      .getConnection()
      .execute<{ payload: { invitationId: number } }[]>(
        "select payload from outbox where job = 'invitation.slack_dm' order by id desc limit 1",
      );
    return invitationLinkToken(h.services, row!.payload.invitationId);
  }

  it('Accept in the direct message makes the person a member and shows their key once, to them only', async () => {
    const token = await invitationToken('U0DORA');
    h.fakeSlack.setUser('U0DORA', { name: 'Dora Explorer' });
    const res = await h.slack.click(
      'U0DORA',
      { actionId: INVITATION_DM_ACTIONS.accept, value: token },
      { message: { channel: 'DU0DORA', ts: '5.1' } },
    );
    const replaced = await h.fakeSlack.waitForResponse(res.responseId);
    expect(replaced.args).toMatchObject({ replace_original: true });
    expect(replaced.args.text).toContain('You joined Acme as Dora Explorer');
    await h.fakeSlack.waitFor(
      'response_url',
      (c) => c.responseId === res.responseId && c.args.response_type === 'ephemeral',
    );
    const keyReply = h.fakeSlack.responses(res.responseId).find((c) => c.args.response_type === 'ephemeral')!;
    const key = /```(tok_[\w-]+)```/.exec(shown(keyReply))?.[1];
    expect(await memberOfKey(h.services, key!)).toMatchObject({
      name: 'Dora Explorer',
      slackUserId: 'U0DORA',
    });
    const balance = await h.slack.command('U0DORA', 'balance');
    expect((await h.fakeSlack.waitForResponse(balance.responseId)).args.text).toBe(
      'Your balance is *€0.00*.',
    );
  });

  it('Decline ends the invitation, and a later Accept changes nothing', async () => {
    const token = await invitationToken('U0EDDY');
    const first = await h.slack.click(
      'U0EDDY',
      { actionId: INVITATION_DM_ACTIONS.decline, value: token },
      { message: { channel: 'DU0EDDY', ts: '5.2' } },
    );
    expect((await h.fakeSlack.waitForResponse(first.responseId)).args.text).toContain(
      'You declined the invitation',
    );
    const again = await h.slack.click(
      'U0EDDY',
      { actionId: INVITATION_DM_ACTIONS.accept, value: token },
      { message: { channel: 'DU0EDDY', ts: '5.2' } },
    );
    expect((await h.fakeSlack.waitForResponse(again.responseId)).args.text).not.toContain('You joined');
    const balance = await h.slack.command('U0EDDY', 'balance');
    expect((await h.fakeSlack.waitForResponse(balance.responseId)).args.text).toContain(
      'You are not a member of Acme',
    );
  });
});

describe('"Top up" on a low-balance alert', () => {
  it('opens the credit modal for that member, for a manager only', async () => {
    const member = await newMember('Running Low');
    await h.slack.click(
      'U0ADMIN',
      { actionId: ACTIONS.topUp, value: String(member.id) },
      { message: { channel: 'C0ALERTS', ts: '6.1' } },
    );
    const opened = await h.fakeSlack.waitFor('views.open');
    expect(opened.args.view.callback_id).toBe(VIEWS.money);
    expect(JSON.parse(opened.args.view.private_metadata)).toEqual({ kind: 'credit', memberId: member.id });
    h.fakeSlack.clear();
    const byUser = await h.slack.click(
      'U0USER',
      { actionId: ACTIONS.topUp, value: String(member.id) },
      { message: { channel: 'C0ALERTS', ts: '6.1' } },
    );
    expect((await h.fakeSlack.waitForResponse(byUser.responseId)).args.text).toContain(':no_entry:');
    expect(h.fakeSlack.callsTo('views.open')).toEqual([]);
  });
});

describe('App Home', () => {
  it('publishes the team page when a member opens the Home tab', async () => {
    await h.slack.event({ type: 'app_home_opened', user: 'U0OWNER', channel: 'D0OWNER', tab: 'home' });
    const home = await h.fakeSlack.waitFor('views.publish', (c) => c.args.user_id === 'U0OWNER');
    const page = shown(home);
    expect(home.args.view.type).toBe('home');
    expect(page).toContain('Master balance');
    expect(page).toContain('Uma User');
    expect(page).toContain('uma@acme.test');
    expect(page).toContain(`${acme.user.apiKeyPrefix}••••••••`);
  });

  it('shows a user only their own sub-account, and an outsider how to join', async () => {
    await h.slack.event({ type: 'app_home_opened', user: 'U0USER', channel: 'D0USER', tab: 'home' });
    const mine = shown(await h.fakeSlack.waitFor('views.publish', (c) => c.args.user_id === 'U0USER'));
    expect(mine).toContain('Your balance');
    expect(mine).not.toContain('Adam Admin');
    await h.slack.event({ type: 'app_home_opened', user: 'U0STRANGER', channel: 'D0S', tab: 'home' });
    const outsider = shown(
      await h.fakeSlack.waitFor('views.publish', (c) => c.args.user_id === 'U0STRANGER'),
    );
    expect(outsider).toContain('You are not a member of *Acme*');
    expect(outsider).not.toContain('Uma User');
  });

  it('does nothing when the Messages tab is opened', async () => {
    const res = await h.slack.event({
      type: 'app_home_opened',
      user: 'U0OWNER',
      channel: 'D0OWNER',
      tab: 'messages',
    });
    expect(res.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(h.fakeSlack.callsTo('views.publish')).toEqual([]);
  });

  it('pages a large team within 100 blocks and turns pages', async () => {
    for (let i = 0; i < 60; i += 1) await h.services.members.create(ownerActor(), { name: `Branch ${i}` });
    await h.slack.event({ type: 'app_home_opened', user: 'U0ADMIN', channel: 'D0ADMIN', tab: 'home' });
    const first = await h.fakeSlack.waitFor('views.publish', (c) => c.args.user_id === 'U0ADMIN');
    expect(first.args.view.blocks.length).toBeLessThanOrEqual(100);
    const next = buttons(first.args.view.blocks).find((b) => b.text?.text === 'Next →');
    h.fakeSlack.clear();
    await h.slack.click(
      'U0ADMIN',
      { actionId: next.action_id, value: next.value },
      { view: { type: 'home' } },
    );
    const second = await h.fakeSlack.waitFor('views.publish', (c) => c.args.user_id === 'U0ADMIN');
    expect(shown(second)).toContain('page 2 of');
    expect(second.args.view.blocks.length).toBeLessThanOrEqual(100);
  });

  it('disables a member from the member menu and shows it at once', async () => {
    const member = await newMember('Menu Toggle');
    const res = await h.slack.click(
      'U0ADMIN',
      { actionId: ACTIONS.memberMenu, selectedOption: `disable:${member.id}` },
      { view: { type: 'home' } },
    );
    expect(res.status).toBe(200);
    await h.fakeSlack.waitFor('views.publish', (c) => c.args.user_id === 'U0ADMIN');
    expect((await show(member.id)).status).toBe('inactive');
  });
});
