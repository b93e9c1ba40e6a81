import { type DestinationStream, type Logger, pino } from 'pino';
import { redactionOptions, scrubError } from './log-redaction.ts';
import { currentRequest } from './platform/request-context.ts';

export type { Logger };

/** An error in a log line: its type, message and code, with secrets scrubbed from the text. */
const logError = (value: unknown): unknown => scrubError(serializeError(value));

/** Structured JSON logs on stdout; one logger per process, children per component. */
export function createLogger(
  level: string,
  bindings: Record<string, unknown> = {},
  /** Where lines go instead of stdout (tests read them). */
  destination?: DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'teamops', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...redactionOptions,
    serializers: { err: logError, error: logError },
    // Lines written while serving a request or running its jobs carry the request's id.
    mixin: () => {
      const request = currentRequest();
      if (!request) return {};
      return request.jobId
        ? { reqId: request.requestId, jobId: request.jobId }
        : { reqId: request.requestId };
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * An error as its type, message and code. Library errors carry their own objects as properties
 * (a pg error its whole client, kilobytes each): none of those are logged. A stack is kept only
 * for errors without a code — bugs, whose stack is what one needs; an error with a code (a
 * refused connection, a database shutting down) is an event, and its message says it all.
 */
export function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const code = (value as { code?: unknown }).code;
  const cause = value.cause instanceof Error ? serializeError(value.cause) : undefined;
  return {
    type: value.name,
    message: value.message,
    ...(code !== undefined && { code: String(code) }),
    ...(code === undefined && value.stack && { stack: value.stack }),
    ...(cause !== undefined && { cause }),
  };
}
