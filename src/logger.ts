import { type Logger, pino } from 'pino';
import { redactionOptions } from './log-redaction.ts';

export type { Logger };

/** Structured JSON logs on stdout; one logger per process, children per component. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'teamops', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...redactionOptions,
  });
}
