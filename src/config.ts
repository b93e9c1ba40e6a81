import { z } from 'zod';

/**
 * Every setting the product reads, validated once at start-up. Nothing else reads process.env:
 * modules receive the parsed Config, which also lets tests build one without touching the
 * environment.
 */
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .min(1)
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    )
    .optional();

/** A whole number from `min` to `max`, refused with one message whichever way it is wrong. */
const wholeNumber = (min: number, max: number, what = 'a whole number') => {
  const error = `must be ${what} from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const limit = (fallback: number) => wholeNumber(1, 1_000_000).default(fallback);

/** Requests allowed per RATE_LIMIT_WINDOW_SECONDS; docs/security.md explains each default. */
const rateLimitEnv = {
  RATE_LIMIT_WINDOW_SECONDS: limit(60),
  RATE_LIMIT_API: limit(6_000),
  RATE_LIMIT_SLACK: limit(300),
  RATE_LIMIT_INVITATIONS: limit(30),
};

/** 32 bytes in base64: an AES-256 key. */
const tokenKey = z
  .string()
  .trim()
  .refine(
    (value) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32,
    'must be 32 bytes in base64 (e.g. openssl rand -base64 32)',
  );

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: wholeNumber(0, 65535, 'a port number').default(3000),
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:']),
  DATABASE_POOL_MAX: wholeNumber(1, 1000, 'a whole number of connections').default(20),
  REDIS_URL: optionalUrl(['redis:', 'rediss:']),
  REDIS_CLUSTER_NODES: z
    .string()
    .trim()
    .regex(
      /^[^\s,:]+:\d{1,5}(\s*,\s*[^\s,:]+:\d{1,5})*$/,
      'must be a comma-separated list of host:port, like redis-1:6379,redis-2:6379',
    )
    .optional(),
  METRICS_TOKEN: z.string().trim().min(16, 'must be at least 16 characters').optional(),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must contain only letters, digits, "_" and "-"')
    .default('teamops'),
  SLACK_SIGNING_SECRET: z.string().trim().min(1).optional(),
  SLACK_BOT_TOKEN: z
    .string()
    .trim()
    .regex(/^xoxb-/, 'must be a bot token starting with xoxb-')
    .optional(),
  SLACK_APP_TOKEN: z
    .string()
    .trim()
    .regex(/^xapp-/, 'must be an app-level token starting with xapp-')
    .optional(),
  SLACK_API_URL: optionalUrl(['http:', 'https:']),
  SLACK_CLIENT_ID: z.string().trim().min(1).optional(),
  SLACK_CLIENT_SECRET: z.string().trim().min(1).optional(),
  SLACK_STATE_SECRET: z.string().trim().min(16, 'must be at least 16 characters').optional(),
  TOKEN_ENCRYPTION_KEY: tokenKey.optional(),
  TOKEN_ENCRYPTION_OLD_KEYS: z
    .string()
    .trim()
    .transform((value) => value.split(',').map((key) => key.trim()))
    .pipe(z.array(tokenKey))
    .optional(),
  SMTP_URL: optionalUrl(['smtp:', 'smtps:']),
  MAIL_FROM: z.string().trim().min(3).default('teamops <no-reply@teamops.local>'),
  PUBLIC_URL: optionalUrl(['http:', 'https:']),
  LOG_LEVEL: z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }).default('info'),
  DATA_DIR: z.string().trim().min(1).default('.data'),
  SMS_PROVIDER: z.enum(['sandbox', 'smsto']).default('sandbox'),
  SMSTO_API_URL: optionalUrl(['http:', 'https:']),
  SMSTO_API_KEY: z.string().trim().min(1).optional(),
  SMSTO_WEBHOOK_SECRET: z
    .string()
    .trim()
    .regex(
      /^[A-Za-z0-9_-]{24,128}$/,
      'must be 24 to 128 letters, digits, "_" or "-" (it is part of the callback URL; e.g. openssl rand -hex 24)',
    )
    .optional(),
  SMS_SANDBOX_DELAY_MS: z.coerce.number().int().min(0).max(3_600_000).default(2_000),
  SERVER_SECRET: z
    .string()
    .trim()
    .min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)')
    .optional(),
  ...rateLimitEnv,
  SMS_DEFAULT_PRICE: z
    .string()
    .trim()
    .regex(/^\d+(\.\d{1,6})?$/, 'must be a decimal price with at most 6 decimals, like 0.05')
    .refine((price) => /[1-9]/.test(price), 'must be greater than 0')
    .default('0.05'),
});

export interface SlackConfig {
  signingSecret: string;
  /** Single-workspace mode: the one workspace's bot token. Undefined in multi-workspace mode. */
  botToken: string | undefined;
  /** Multi-workspace mode: workspaces install the app through OAuth (docs/slack.md). */
  oauth: SlackOAuthConfig | undefined;
  /** Socket Mode instead of HTTP when set. */
  appToken: string | undefined;
  apiUrl: string;
}

export interface SlackOAuthConfig {
  clientId: string;
  clientSecret: string;
  /** Signs the OAuth state, which is also kept server-side and works once. */
  stateSecret: string;
}

/** AES-256-GCM keys for Slack tokens at rest: `current` encrypts, `old` only decrypts (rotation). */
export interface TokenEncryptionConfig {
  current: string;
  old: string[];
}

export interface Config {
  port: number;
  /** Undefined: start the embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  /** The most connections the ORM's pool opens in this process (DATABASE_POOL_MAX). */
  databasePoolMax: number;
  /** Undefined: queues use BullMQ's PostgreSQL backend on the same database. */
  redisUrl: string | undefined;
  /** Seed nodes of a Redis Cluster the queues run on instead (REDIS_CLUSTER_NODES). */
  redisClusterNodes: Array<{ host: string; port: number }> | undefined;
  queuePrefix: string;
  /** When set, GET /metrics asks for `Authorization: Bearer <metricsToken>`. */
  metricsToken: string | undefined;
  /** Undefined: the queue dashboard at /admin/queues is not mounted. */
  adminPassword: string | undefined;
  /** Undefined: the product runs without Slack. */
  slack: SlackConfig | undefined;
  /** Undefined: emails are written to the log instead of being sent. */
  smtpUrl: string | undefined;
  mailFrom: string;
  publicUrl: string;
  logLevel: (typeof logLevels)[number];
  dataDir: string;
  /** Undefined: generated once and kept under dataDir (platform/server-secret.ts). */
  serverSecret: string | undefined;
  rateLimits: RateLimitConfig;
  sms: SmsConfig;
  /** Undefined without TOKEN_ENCRYPTION_KEY; required in multi-workspace mode. */
  tokenEncryption: TokenEncryptionConfig | undefined;
}

/** Requests allowed per window, per API key, per Slack user and per address on the invitation pages. */
export interface RateLimitConfig {
  windowSeconds: number;
  api: number;
  slack: number;
  invitations: number;
}

export interface SmsConfig {
  /** `sandbox` sends nothing and reports delivery after sandboxDelayMs. */
  provider: 'sandbox' | 'smsto';
  sandboxDelayMs: number;
  smsto: { apiUrl: string; apiKey: string } | undefined;
  /**
   * SMS.to's delivery reports pushed to `url` (PUBLIC_URL + SMSTO_WEBHOOK_PATH/secret), which the
   * smsto provider passes as `callback_url`. Undefined: no webhook route, status polling only.
   */
  smstoWebhook: { secret: string; url: string } | undefined;
  /** Price per SMS part, as a decimal, where a team's price list has no match and no default. */
  defaultPrice: string;
}

/** Where SMS.to's delivery reports arrive: POST {SMSTO_WEBHOOK_PATH}/{SMSTO_WEBHOOK_SECRET}. */
export const SMSTO_WEBHOOK_PATH = '/webhooks/smsto';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const slackKeys = ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN'] as const;
const slackOptionalKeys = ['SLACK_APP_TOKEN', 'SLACK_API_URL'] as const;
const oauthKeys = ['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET'] as const;

/** Parses the environment; throws a ConfigError whose message is one line naming the setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set": docker-compose and shells often export blanks.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`${name} ${issue.message === 'Invalid input' ? 'is malformed' : issue.message}`);
  }
  const e = parsed.data;

  const slack = slackSettings(e);
  if (e.TOKEN_ENCRYPTION_OLD_KEYS && !e.TOKEN_ENCRYPTION_KEY) {
    throw new ConfigError('TOKEN_ENCRYPTION_KEY must be set because TOKEN_ENCRYPTION_OLD_KEYS is set');
  }

  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    throw new ConfigError(
      'REDIS_URL and REDIS_CLUSTER_NODES are both set; set REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    );
  }

  if (e.SMS_PROVIDER === 'smsto' && !e.SMSTO_API_KEY) {
    throw new ConfigError('SMSTO_API_KEY must be set because SMS_PROVIDER is smsto');
  }

  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES?.split(',').map((node) => {
      const [host, port] = node.trim().split(':') as [string, string];
      return { host, port: Number(port) };
    }),
    queuePrefix: e.QUEUE_PREFIX,
    metricsToken: e.METRICS_TOKEN,
    adminPassword: e.ADMIN_PASSWORD,
    slack,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    publicUrl,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    serverSecret: e.SERVER_SECRET,
    rateLimits: {
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
      api: e.RATE_LIMIT_API,
      slack: e.RATE_LIMIT_SLACK,
      invitations: e.RATE_LIMIT_INVITATIONS,
    },
    sms: {
      provider: e.SMS_PROVIDER,
      sandboxDelayMs: e.SMS_SANDBOX_DELAY_MS,
      smsto: e.SMSTO_API_KEY
        ? { apiUrl: e.SMSTO_API_URL ?? 'https://api.sms.to', apiKey: e.SMSTO_API_KEY }
        : undefined,
      smstoWebhook: e.SMSTO_WEBHOOK_SECRET
        ? {
            secret: e.SMSTO_WEBHOOK_SECRET,
            url: `${publicUrl}${SMSTO_WEBHOOK_PATH}/${e.SMSTO_WEBHOOK_SECRET}`,
          }
        : undefined,
      defaultPrice: e.SMS_DEFAULT_PRICE,
    },
    tokenEncryption: e.TOKEN_ENCRYPTION_KEY
      ? { current: e.TOKEN_ENCRYPTION_KEY, old: e.TOKEN_ENCRYPTION_OLD_KEYS ?? [] }
      : undefined,
  };
}

/**
 * Slack settings go together: none (no Slack), SLACK_SIGNING_SECRET with SLACK_BOT_TOKEN (one
 * workspace), or SLACK_SIGNING_SECRET with the three OAuth settings and TOKEN_ENCRYPTION_KEY
 * (any number of workspaces, installed through /slack/install).
 */
function slackSettings(e: z.infer<typeof envSchema>): SlackConfig | undefined {
  const setOAuth = oauthKeys.filter((k) => e[k] !== undefined);
  if (setOAuth.length > 0 && e.SLACK_BOT_TOKEN !== undefined) {
    throw new ConfigError(
      `SLACK_BOT_TOKEN must not be set with ${setOAuth.join(', ')}: a bot token serves one workspace, OAuth installs serve many (choose one mode)`,
    );
  }
  const required = setOAuth.length > 0 ? (['SLACK_SIGNING_SECRET', ...oauthKeys] as const) : slackKeys;
  const setSlack = [...required, ...slackOptionalKeys].filter((k) => e[k] !== undefined);
  const missing = required.filter((k) => e[k] === undefined);
  if (setSlack.length > 0 && missing.length > 0) {
    throw new ConfigError(
      `${missing.join(' and ')} must be set because ${setSlack.join(', ')} ${setSlack.length === 1 ? 'is' : 'are'} set (Slack settings go together)`,
    );
  }
  if (!e.SLACK_SIGNING_SECRET) return undefined;
  const oauth =
    e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET && e.SLACK_STATE_SECRET
      ? {
          clientId: e.SLACK_CLIENT_ID,
          clientSecret: e.SLACK_CLIENT_SECRET,
          stateSecret: e.SLACK_STATE_SECRET,
        }
      : undefined;
  if (oauth && !e.TOKEN_ENCRYPTION_KEY) {
    throw new ConfigError(
      "TOKEN_ENCRYPTION_KEY must be set because SLACK_CLIENT_ID is set (installed workspaces' tokens are stored encrypted)",
    );
  }
  return {
    signingSecret: e.SLACK_SIGNING_SECRET,
    botToken: e.SLACK_BOT_TOKEN,
    oauth,
    appToken: e.SLACK_APP_TOKEN,
    apiUrl: e.SLACK_API_URL ?? 'https://slack.com/api/',
  };
}

/** For entry points: the configuration, or one line on stderr naming the bad setting and exit 1. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`teamops: configuration error: ${error.message}`);
    process.exit(1);
  }
}
