import type { JobName } from '../jobs/jobs.ts';

/** Hand queued messages to the provider. Payload: { messageIds: string[] }. */
export const MESSAGE_DISPATCH_JOB = 'message.dispatch' satisfies JobName;
/** Ask the provider how far sent messages got. Payload: { messageIds: string[], attempt: number }. */
export const MESSAGE_CHECK_JOB = 'message.check_status' satisfies JobName;
