// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the app made to Slack: a Web API method, or a post to a `response_url` (method `response_url`). */
export interface SlackCall {
  method: string;
  args: Record<string, any>;
  /** The bearer token of a Web API call; response_url posts carry none. */
  token: string | undefined;
  /** For response_url posts: the id in the URL, to tell apart the replies to different commands. */
  responseId?: string;
  /** What the fake answered (a posted message's `ts`, an opened view's `id`). */
  response?: Record<string, unknown>;
  /** When the call arrived (ms since epoch). */
  at?: number;
}

/** A file uploaded through `files.getUploadURLExternal`, the upload URL and `files.completeUploadExternal`. */
export interface FakeSlackFile {
  id: string;
  filename: string;
  /** The length announced to files.getUploadURLExternal. */
  length: number;
  /** The bytes POSTed to the upload URL; undefined until they arrive. */
  content: Buffer | undefined;
  /** The `content-length` header of the upload. */
  contentLength: number | undefined;
  /** Set by files.completeUploadExternal. */
  title?: string;
  channel?: string;
  initialComment?: string;
  completed: boolean;
  /** The token that asked for the upload URL. */
  token: string | undefined;
}

export interface FakeSlackUser {
  name: string;
  email?: string;
}

type Answer = (args: Record<string, any>, token: string | undefined) => Record<string, unknown>;

/** A workspace that can install the app through the fake's OAuth (`/oauth/v2/authorize`, `oauth.v2.access`). */
export interface FakeWorkspace {
  teamId: string;
  teamName: string;
  /** Who clicks "Allow". */
  installerUserId: string;
  /** With token rotation: tokens expire this many seconds after they are issued. */
  expiresInS?: number;
}

interface IssuedToken {
  workspace: FakeWorkspace;
  botUserId: string;
  botId: string;
  expiresAt: number | undefined;
  revoked: boolean;
}

/**
 * An in-process Slack Web API: answers the methods teamops calls, records every call, and lets
 * a test make a method fail. The app reaches it through SLACK_API_URL (`apiUrl`) and the
 * `response_url`s the tests put in their requests (`responseUrl()`).
 */
export class FakeSlack {
  readonly calls: SlackCall[] = [];
  readonly users = new Map<string, FakeSlackUser>();
  readonly botUserId = 'UBOT0000001';
  /**
   * What `apps.connections.open` answers as the Socket Mode WebSocket URL (set by
   * FakeSocketMode); unset, the method fails as it does for an app without Socket Mode.
   */
  socketModeUrl: string | undefined;
  /** Files uploaded to the fake, by id. */
  readonly files = new Map<string, FakeSlackFile>();
  /** The bot tokens the fake's OAuth issued, by token. */
  readonly tokens = new Map<string, IssuedToken>();
  /** Who approves the next visit to `/oauth/v2/authorize` (`approveInstall`). */
  private readonly approvals: FakeWorkspace[] = [];
  private readonly codes = new Map<string, { workspace: FakeWorkspace; redirectUri: string | undefined }>();
  private readonly refreshTokens = new Map<string, FakeWorkspace>();
  /** Tokens whose chat.* and files.* calls answer HTTP 429 until the time given (ms). */
  private readonly throttled = new Map<string, { untilMs: number; retryAfterS: number }>();
  private readonly failures = new Map<string, string[]>();
  private readonly waiters = new Set<() => void>();
  /** response_url posts by id, so waiting for one reply stays cheap when thousands were recorded (bench). */
  private readonly replies = new Map<string, SlackCall>();
  private readonly replyWaiters = new Map<string, (call: SlackCall) => void>();
  private server: Server | undefined;
  private port = 0;
  private sequence = 0;

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** A response_url for one command or click; the replies posted to it are recorded under `id`. */
  responseUrl(id = `r${++this.sequence}`): string {
    return `http://127.0.0.1:${this.port}/respond/${id}`;
  }

  setUser(id: string, user: FakeSlackUser): void {
    this.users.set(id, user);
  }

  /** The next visit to Slack's authorize page is approved by `workspace`'s installer. */
  approveInstall(workspace: FakeWorkspace): void {
    this.approvals.push(workspace);
  }

  /** A bot token for `workspace`, as an install through OAuth would issue (bench: no browser). */
  issueBotToken(workspace: FakeWorkspace): string {
    return String(this.issueToken(workspace).access_token);
  }

  /** The workspace's bot tokens stop working (what an uninstall does in Slack). */
  revokeTokens(teamId: string): void {
    for (const issued of this.tokens.values()) if (issued.workspace.teamId === teamId) issued.revoked = true;
  }

  /** chat.* and files.* calls with `token` answer HTTP 429 (Retry-After) until `untilMs`. */
  throttle(token: string, untilMs: number, retryAfterS = 1): void {
    this.throttled.set(token, { untilMs, retryAfterS });
  }

  /** The next call to `method` answers `{ok: false, error}`. */
  failNext(method: string, error: string): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** The completed uploads shared in `channel` (a DM's id is `D` + the user's id), oldest first. */
  filesIn(channel: string): FakeSlackFile[] {
    return [...this.files.values()].filter((file) => file.completed && file.channel === channel);
  }

  /** Replies posted to one response_url, in order. */
  responses(id: string): SlackCall[] {
    return this.calls.filter((call) => call.method === 'response_url' && call.responseId === id);
  }

  clear(): void {
    this.calls.length = 0;
    this.replies.clear();
  }

  /** Resolves with the first recorded call (past or future) that matches; the app's work after the ack is asynchronous. */
  async waitFor(
    method: string,
    predicate: (call: SlackCall) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<SlackCall> {
    const find = () => this.calls.find((call) => call.method === method && predicate(call));
    const found = find();
    if (found) return found;
    return new Promise((resolve, reject) => {
      const check = () => {
        const call = find();
        if (!call) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(call);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.calls.map((call) => call.method).join(', ') || 'none';
        reject(new Error(`no ${method} call matched within ${timeoutMs} ms (calls seen: ${seen})`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Resolves with the first reply to a response_url; most commands answer through it after the ack. */
  waitForResponse(id: string, timeoutMs = 20_000): Promise<SlackCall> {
    const found = this.replies.get(id);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replyWaiters.delete(id);
        reject(new Error(`no reply to response_url ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.replyWaiters.set(id, (call) => {
        clearTimeout(timer);
        resolve(call);
      });
    });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const uploadMatch = /^\/upload\/(F\w+)$/.exec(url.pathname);
    if (uploadMatch) {
      this.receiveUpload(uploadMatch[1]!, Buffer.concat(chunks), req, res);
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const args = parseBody(raw, req.headers['content-type'] ?? '');

    const respondMatch = /^\/respond\/(.+)$/.exec(url.pathname);
    if (respondMatch) {
      this.record({ method: 'response_url', args, token: undefined, responseId: respondMatch[1]! });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (url.pathname === '/oauth/v2/authorize') {
      this.authorizePage(url, res);
      return;
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? args.token;
    const throttle = token && /^(chat|files)\./.test(method) ? this.throttled.get(token) : undefined;
    if (throttle && throttle.untilMs > Date.now()) {
      const body = { ok: false, error: 'ratelimited' };
      this.record({ method, args, token, response: body });
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(throttle.retryAfterS) })
        .end(JSON.stringify(body));
      return;
    }
    const failures = this.failures.get(method);
    const failure = failures?.shift();
    const body = failure
      ? { ok: false, error: failure }
      : (this.refuseToken(method, token) ?? this.answer(method, args, token));
    this.record({ method, args, token, response: body });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** Slack's upload URL: takes the bytes (raw, as teamops sends them) for a file it handed out. */
  private receiveUpload(id: string, bytes: Buffer, req: IncomingMessage, res: ServerResponse): void {
    const file = this.files.get(id);
    this.record({ method: 'upload', args: { file_id: id, length: bytes.length }, token: undefined });
    if (!file || file.content !== undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such upload');
      return;
    }
    file.content = bytes;
    const declared = req.headers['content-length'];
    file.contentLength = declared === undefined ? undefined : Number(declared);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
  }

  private uploadUrl(args: Record<string, any>, token: string | undefined): Record<string, unknown> {
    const length = Number(args.length);
    if (!args.filename) return { ok: false, error: 'invalid_arguments' };
    if (!Number.isInteger(length) || length <= 0) return { ok: false, error: 'invalid_arguments' };
    const id = `F${String(++this.sequence).padStart(9, '0')}`;
    this.files.set(id, {
      id,
      filename: String(args.filename),
      length,
      content: undefined,
      contentLength: undefined,
      completed: false,
      token,
    });
    return { ok: true, upload_url: `http://127.0.0.1:${this.port}/upload/${id}`, file_id: id };
  }

  /** Like Slack: every file must have its bytes, of the announced length, before it is shared. */
  private completeUpload(args: Record<string, any>): Record<string, unknown> {
    const entries = Array.isArray(args.files) ? (args.files as { id: string; title?: string }[]) : [];
    if (entries.length === 0) return { ok: false, error: 'invalid_arguments' };
    const files = entries.map((entry) => this.files.get(entry.id));
    if (files.some((file) => !file || file.content === undefined || file.completed))
      return { ok: false, error: 'file_not_found' };
    if (files.some((file) => file!.content!.length !== file!.length))
      return { ok: false, error: 'file_upload_size_mismatch' };
    entries.forEach((entry, i) => {
      const file = files[i]!;
      file.completed = true;
      file.title = entry.title ?? file.filename;
      if (args.channel_id) file.channel = String(args.channel_id);
      if (args.initial_comment) file.initialComment = String(args.initial_comment);
    });
    return {
      ok: true,
      files: files.map((file) => ({ id: file!.id, title: file!.title, name: file!.filename })),
    };
  }

  /** Slack's authorize page, once the installer clicked "Allow": back to the app with a code. */
  private authorizePage(url: URL, res: ServerResponse): void {
    const workspace = this.approvals.shift();
    const redirectUri = url.searchParams.get('redirect_uri') ?? undefined;
    this.record({
      method: 'oauth/v2/authorize',
      args: Object.fromEntries(url.searchParams),
      token: undefined,
    });
    if (!workspace || !redirectUri) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('no installer is waiting');
      return;
    }
    const code = `code-${workspace.teamId}-${++this.sequence}`;
    this.codes.set(code, { workspace, redirectUri });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', url.searchParams.get('state') ?? '');
    res.writeHead(302, { location: back.toString() }).end();
  }

  /** Tokens the fake issued and then revoked, or that expired, are refused like Slack refuses them. */
  private refuseToken(method: string, token: string | undefined): Record<string, unknown> | undefined {
    if (method === 'oauth.v2.access' || !token) return undefined;
    const issued = this.tokens.get(token);
    if (issued?.revoked) return { ok: false, error: 'token_revoked' };
    if (issued?.expiresAt !== undefined && issued.expiresAt <= Date.now())
      return { ok: false, error: 'token_expired' };
    return undefined;
  }

  private issueToken(workspace: FakeWorkspace): Record<string, unknown> {
    const access = `xoxb-${workspace.teamId}-${++this.sequence}-${Math.random().toString(36).slice(2)}`;
    const expiresAt =
      workspace.expiresInS === undefined ? undefined : Date.now() + workspace.expiresInS * 1000;
    this.tokens.set(access, {
      workspace,
      botUserId: `UBOT${workspace.teamId}`,
      botId: `B${workspace.teamId}`,
      expiresAt,
      revoked: false,
    });
    const rotation: Record<string, unknown> = {};
    if (workspace.expiresInS !== undefined) {
      const refresh = `xoxe-1-${workspace.teamId}-${++this.sequence}`;
      this.refreshTokens.set(refresh, workspace);
      rotation.refresh_token = refresh;
      rotation.expires_in = workspace.expiresInS;
    }
    return { access_token: access, ...rotation };
  }

  private oauthAccess(args: Record<string, any>): Record<string, unknown> {
    if (args.grant_type === 'refresh_token') {
      const workspace = this.refreshTokens.get(args.refresh_token);
      if (!workspace) return { ok: false, error: 'invalid_refresh_token' };
      // Slack's refresh tokens are single-use too.
      this.refreshTokens.delete(args.refresh_token);
      return { ok: true, token_type: 'bot', ...this.issueToken(workspace) };
    }
    const grant = this.codes.get(args.code);
    if (!grant) return { ok: false, error: 'invalid_code' };
    this.codes.delete(args.code);
    if (grant.redirectUri !== args.redirect_uri) return { ok: false, error: 'bad_redirect_uri' };
    const { workspace } = grant;
    return {
      ok: true,
      app_id: 'A0TEAMOPS',
      authed_user: { id: workspace.installerUserId },
      scope: 'commands,chat:write,chat:write.public,users:read,users:read.email,im:write,files:write',
      token_type: 'bot',
      bot_user_id: `UBOT${workspace.teamId}`,
      team: { id: workspace.teamId, name: workspace.teamName },
      enterprise: null,
      is_enterprise_install: false,
      ...this.issueToken(workspace),
    };
  }

  private record(call: SlackCall): void {
    call.at = Date.now();
    this.calls.push(call);
    if (call.responseId !== undefined && !this.replies.has(call.responseId)) {
      this.replies.set(call.responseId, call);
      const waiter = this.replyWaiters.get(call.responseId);
      this.replyWaiters.delete(call.responseId);
      waiter?.(call);
    }
    for (const waiter of [...this.waiters]) waiter();
  }

  private nextTs(): string {
    this.sequence += 1;
    return `1700000000.${String(this.sequence).padStart(6, '0')}`;
  }

  private answer(
    method: string,
    args: Record<string, any>,
    token: string | undefined,
  ): Record<string, unknown> {
    const answers: Record<string, Answer> = {
      'apps.connections.open': () =>
        this.socketModeUrl ? { ok: true, url: this.socketModeUrl } : { ok: false, error: 'invalid_auth' },
      'oauth.v2.access': (a) => this.oauthAccess(a),
      'auth.test': (_a, t) => {
        const issued = t ? this.tokens.get(t) : undefined;
        return issued
          ? {
              ok: true,
              url: `https://${issued.workspace.teamId.toLowerCase()}.slack.com/`,
              team: issued.workspace.teamName,
              user: 'teamops',
              team_id: issued.workspace.teamId,
              user_id: issued.botUserId,
              bot_id: issued.botId,
            }
          : {
              ok: true,
              url: 'https://fake.slack.com/',
              team: 'Fake',
              user: 'teamops',
              team_id: 'T0FAKE',
              user_id: this.botUserId,
              bot_id: 'B0FAKE',
            };
      },
      'chat.postMessage': (a) => ({
        ok: true,
        channel: a.channel,
        ts: this.nextTs(),
        message: { text: a.text },
      }),
      'chat.update': (a) => ({ ok: true, channel: a.channel, ts: a.ts, text: a.text }),
      'chat.postEphemeral': () => ({ ok: true, message_ts: this.nextTs() }),
      'views.open': (a) => ({ ok: true, view: { id: `V${++this.sequence}`, ...a.view } }),
      'views.push': (a) => ({ ok: true, view: { id: `V${++this.sequence}`, ...a.view } }),
      'views.update': (a) => ({ ok: true, view: { id: a.view_id ?? `V${++this.sequence}`, ...a.view } }),
      'views.publish': (a) => ({ ok: true, view: { id: `V${++this.sequence}`, ...a.view } }),
      'files.getUploadURLExternal': (a, t) => this.uploadUrl(a, t),
      'files.completeUploadExternal': (a) => this.completeUpload(a),
      'conversations.open': (a) => ({ ok: true, channel: { id: `D${String(a.users).split(',')[0]}` } }),
      'users.info': (a) => {
        const user = this.users.get(a.user);
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id: a.user,
            name: user.name,
            real_name: user.name,
            profile: {
              real_name: user.name,
              display_name: user.name,
              ...(user.email && { email: user.email }),
            },
          },
        };
      },
    };
    return answers[method]?.(args, token) ?? { ok: false, error: 'unknown_method' };
  }
}

export async function startFakeSlack(): Promise<FakeSlack> {
  return new FakeSlack().start();
}

/** The WebClient sends form fields, JSON-encoding objects and arrays; response_url posts are JSON. */
function parseBody(raw: string, contentType: string): Record<string, any> {
  if (raw === '') return {};
  if (contentType.includes('application/json')) return JSON.parse(raw) as Record<string, any>;
  const args: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    args[key] = /^[[{]/.test(value) ? tryJson(value) : value;
  }
  return args;
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
