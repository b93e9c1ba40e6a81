import { type DestinationStream, type Logger, pino } from 'pino';
import { currentRequest } from './platform/request-context.ts';

export type { Logger };

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
