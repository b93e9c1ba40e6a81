// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.
import { createHmac, randomBytes } from 'node:crypto';
import type { FakeSlack } from './fake-slack.ts';

export interface SlackUrls {
  responseUrl: FakeSlack['responseUrl'];
  botUserId: string;
}

export interface SlackHttpResult {
  status: number;
  /** The HTTP response body: empty for a plain ack, JSON for `response_action` or an ack with a message. */
  text: string;
  json: any;
  /** Replies posted later to this request's response_url are recorded under this id in the fake Slack. */
  responseId: string;
}

export interface SignOverrides {
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Replaces the computed `v0=…` signature. */
  signature?: string;
}

/** Slack's request signature: HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret. */
export function signSlackRequest(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Values a test types into a modal, by block id (= action id): text, or a selected option's value. */
export type ModalInput = Record<
  string,
  string | { option: string } | { options: string[] } | { user: string } | { date: string }
>;

/** The button clicked, or (with `selectedOption`) the overflow menu choice made. */
export interface ClickAction {
  actionId: string;
  value?: string;
  blockId?: string;
  selectedOption?: string;
}

/** Where the click happened: in a message, or in a view such as App Home or a modal. */
export type ClickWhere =
  | { message: { channel: string; ts: string; blocks?: unknown[] } }
  | { view: { id?: string; type: 'home' | 'modal'; callbackId?: string; privateMetadata?: string } };

/**
 * Sends what Slack sends: signed slash commands, button clicks, modal submissions and events to
 * the app's real `/slack/events` endpoint, with response_urls that point at the fake Slack. The
 * `…Payload` methods build the same payloads without sending them, for Socket Mode envelopes.
 */
export class SlackRequests {
  readonly endpoint: string;
  readonly signingSecret: string;
  readonly teamId: string;
  /** Where the response_urls point: the fake Slack, or (bench) anything that builds the same URLs. */
  readonly fakeSlack: SlackUrls;
  private sequence = 0;

  constructor(options: { endpoint: string; signingSecret: string; teamId: string; fakeSlack: SlackUrls }) {
    this.endpoint = options.endpoint;
    this.signingSecret = options.signingSecret;
    this.teamId = options.teamId;
    this.fakeSlack = options.fakeSlack;
  }

  /** `/team <text>` typed by `userId` in `channelId`. */
  command(userId: string, text: string, options: { channelId?: string; sign?: SignOverrides } = {}) {
    const { fields, responseId } = this.commandPayload(userId, text, options);
    const body = new URLSearchParams(fields).toString();
    return this.post(body, 'application/x-www-form-urlencoded', responseId, options.sign);
  }

  /** The fields of a slash command, as Slack posts them (form-encoded) or sends them over Socket Mode. */
  commandPayload(
    userId: string,
    text: string,
    options: { channelId?: string } = {},
  ): { fields: Record<string, string>; responseId: string } {
    const responseId = this.nextId('cmd');
    const fields = {
      token: 'legacy-verification-token',
      team_id: this.teamId,
      team_domain: 'acme',
      channel_id: options.channelId ?? 'C0GENERAL',
      channel_name: 'general',
      user_id: userId,
      user_name: userId.toLowerCase(),
      command: '/team',
      text,
      api_app_id: 'A0TEAMOPS',
      is_enterprise_install: 'false',
      response_url: this.fakeSlack.responseUrl(responseId),
      trigger_id: this.triggerId(),
    };
    return { fields, responseId };
  }

  /**
   * A click on a button (or, with `selectedOption`, a choice in an overflow menu) in a message
   * (`message`) or in a view such as App Home or a modal (`view`).
   */
  click(userId: string, action: ClickAction, where: ClickWhere) {
    const { payload, responseId } = this.clickPayload(userId, action, where);
    return this.post(this.interaction(payload), 'application/x-www-form-urlencoded', responseId);
  }

  /** The `block_actions` payload of a click (see `click`). */
  clickPayload(
    userId: string,
    action: ClickAction,
    where: ClickWhere,
  ): { payload: Record<string, unknown>; responseId: string } {
    const responseId = this.nextId('act');
    const inMessage = 'message' in where;
    const payload: Record<string, unknown> = {
      type: 'block_actions',
      team: { id: this.teamId, domain: 'acme' },
      user: { id: userId, username: userId.toLowerCase(), team_id: this.teamId },
      api_app_id: 'A0TEAMOPS',
      token: 'legacy-verification-token',
      trigger_id: this.triggerId(),
      actions: [
        action.selectedOption === undefined
          ? {
              type: 'button',
              action_id: action.actionId,
              block_id: action.blockId ?? 'actions',
              value: action.value,
              action_ts: `${Date.now() / 1000}`,
            }
          : {
              type: 'overflow',
              action_id: action.actionId,
              block_id: action.blockId ?? 'actions',
              selected_option: {
                text: { type: 'plain_text', text: action.selectedOption },
                value: action.selectedOption,
              },
              action_ts: `${Date.now() / 1000}`,
            },
      ],
    };
    if (inMessage) {
      payload.container = {
        type: 'message',
        message_ts: where.message.ts,
        channel_id: where.message.channel,
        is_ephemeral: false,
      };
      payload.channel = { id: where.message.channel, name: 'channel' };
      payload.message = {
        type: 'message',
        ts: where.message.ts,
        text: '',
        blocks: where.message.blocks ?? [],
      };
      payload.response_url = this.fakeSlack.responseUrl(responseId);
    } else {
      payload.container = { type: 'view', view_id: where.view.id ?? 'V0VIEW' };
      payload.view = {
        id: where.view.id ?? 'V0VIEW',
        type: where.view.type,
        callback_id: where.view.callbackId ?? '',
        private_metadata: where.view.privateMetadata ?? '',
        hash: 'hash',
        state: { values: {} },
        blocks: [],
      };
    }
    return { payload, responseId };
  }

  /** Submitting a modal: the view's callback id and metadata as the app opened it, and what the user entered. */
  submitView(
    userId: string,
    view: { callbackId: string; privateMetadata?: string; id?: string },
    input: ModalInput,
  ) {
    const responseId = this.nextId('view');
    const payload = {
      type: 'view_submission',
      team: { id: this.teamId, domain: 'acme' },
      user: { id: userId, username: userId.toLowerCase(), team_id: this.teamId },
      api_app_id: 'A0TEAMOPS',
      token: 'legacy-verification-token',
      trigger_id: this.triggerId(),
      view: {
        id: view.id ?? 'V0MODAL',
        type: 'modal',
        callback_id: view.callbackId,
        private_metadata: view.privateMetadata ?? '',
        hash: 'hash',
        team_id: this.teamId,
        blocks: [],
        state: { values: stateValues(input) },
      },
      response_urls: [],
    };
    return this.post(this.interaction(payload), 'application/x-www-form-urlencoded', responseId);
  }

  /** An Events API callback such as `app_home_opened`. */
  event(event: Record<string, unknown>, sign?: SignOverrides) {
    const body = JSON.stringify(this.eventPayload(event));
    return this.post(body, 'application/json', this.nextId('evt'), sign);
  }

  /** The `event_callback` body that carries `event`. */
  eventPayload(event: Record<string, unknown>): Record<string, unknown> {
    return {
      token: 'legacy-verification-token',
      team_id: this.teamId,
      api_app_id: 'A0TEAMOPS',
      event: { event_ts: `${Date.now() / 1000}`, ...event },
      type: 'event_callback',
      event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: this.teamId, user_id: this.fakeSlack.botUserId, is_bot: true }],
    };
  }

  async post(
    body: string,
    contentType: string,
    responseId: string,
    sign: SignOverrides = {},
  ): Promise<SlackHttpResult> {
    const timestamp = sign.timestamp ?? Math.floor(Date.now() / 1000);
    const response = await fetch(this.endpoint, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': sign.signature ?? signSlackRequest(this.signingSecret, timestamp, body),
      },
      body,
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json, responseId };
  }

  private interaction(payload: unknown): string {
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  private nextId(prefix: string): string {
    this.sequence += 1;
    return `${prefix}${this.sequence}`;
  }

  private triggerId(): string {
    return `${Date.now()}.${randomBytes(4).toString('hex')}`;
  }
}

function stateValues(input: ModalInput): Record<string, Record<string, unknown>> {
  const values: Record<string, Record<string, unknown>> = {};
  for (const [blockId, value] of Object.entries(input)) {
    let state: unknown;
    if (typeof value === 'string') state = { type: 'plain_text_input', value };
    else if ('option' in value)
      state = {
        type: 'static_select',
        selected_option: { value: value.option, text: { type: 'plain_text', text: value.option } },
      };
    else if ('date' in value) state = { type: 'datepicker', selected_date: value.date };
    else if ('options' in value)
      state = {
        type: 'checkboxes',
        selected_options: value.options.map((v) => ({ value: v, text: { type: 'plain_text', text: v } })),
      };
    else state = { type: 'users_select', selected_user: value.user };
    values[blockId] = { [blockId]: state };
  }
  return values;
}
