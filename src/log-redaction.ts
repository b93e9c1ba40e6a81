import type { LoggerOptions } from 'pino';

/**
 * What the logs never show, at any level: email addresses, API keys and invitation tokens.
 * Fields with these names are censored wherever they sit (two levels deep, as pino's redaction
 * allows); text (messages, error messages and stacks, Bolt's lines) is scrubbed by pattern.
 */
const SECRET_FIELDS = [
  'email',
  'inviterEmail',
  'to',
  'token',
  'apiKey',
  'key',
  'password',
  'authorization',
  'cookie',
  'x-slack-signature',
];

const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  ...SECRET_FIELDS.map((field) => `*.*.${field}`),
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
];

const PATTERNS: Array<[RegExp, string]> = [
  [/[^\s@<>"'`,;:()[\]{}]+@[^\s@<>"'`,;:()[\]{}]+\.[A-Za-z]{2,}/g, '[email]'],
  [/\btok_[A-Za-z0-9_-]{8,}/g, 'tok_[redacted]'],
  [/(\/invitations\/)[A-Za-z0-9_%-]{16,}/g, '$1[token]'],
  [/\bxox[abpe]-[A-Za-z0-9-]+/g, 'xox-[redacted]'],
];

/** The text with every email address, API key and invitation link token replaced. */
export function scrubText(text: string): string {
  let scrubbed = text;
  for (const [pattern, replacement] of PATTERNS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

/** Strings anywhere in a logged object (three levels deep) with the patterns above scrubbed. */
function scrubValues(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth >= 3 || value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => scrubValues(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubValues(item, depth + 1)]));
}

/** An error already serialized for the log, with its message and stack scrubbed. */
export function scrubError(serialized: unknown): unknown {
  if (serialized === null || typeof serialized !== 'object') return serialized;
  const error = serialized as { message?: unknown; stack?: unknown };
  return {
    ...error,
    ...(typeof error.message === 'string' && { message: scrubText(error.message) }),
    ...(typeof error.stack === 'string' && { stack: scrubText(error.stack) }),
  };
}

/** pino options that keep secrets and people's addresses out of every log line. */
export const redactionOptions: Pick<LoggerOptions, 'redact' | 'hooks' | 'formatters'> = {
  formatters: { log: (object) => scrubValues(object, 0) as Record<string, unknown> },
  redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  hooks: {
    logMethod(args, method) {
      const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg));
      method.apply(this, scrubbed as Parameters<typeof method>);
    },
  },
};
