import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Services } from '../../app.ts';
import type { JobPayload } from '../../jobs/jobs.ts';
import { claimJobReceipt, hasJobReceipt } from '../../jobs/receipts.ts';
import type { Orm } from '../../platform/database.ts';
import { memberActor } from '../../shared/actor.ts';
import { isDomainError } from '../../shared/errors.ts';
import { statementFilename } from '../../statements/statement.service.ts';
import {
  exportRefusedText,
  nothingToExportText,
  statementComment,
  statementScope,
} from '../presenters/statements.ts';
import type { SlackPoster } from './slack-poster.ts';

export interface StatementDmDeps {
  orm: Orm;
  services: Pick<Services, 'statements'>;
  slack: SlackPoster;
}

/**
 * The `statement.export` job: the statement made with the requester's rights, written to a
 * temporary file (Slack needs the length before the bytes), then uploaded to the requester's DM.
 * An empty statement, or one the requester may no longer see, is a message instead of a file.
 * A receipt keyed by the job id keeps a redelivered job from sending the file again.
 */
export async function sendStatementDm(
  deps: StatementDmDeps,
  payload: JobPayload<'statement.export'>,
  jobId: string,
): Promise<string> {
  const em = deps.orm.em.fork();
  const key = `statement.export:${jobId}`;
  if (await hasJobReceipt(em, key)) return 'already sent';
  const filters = { member: payload.member, from: payload.from, to: payload.to };
  const scope = statementScope(payload.kind, filters);
  const dm = { channel: payload.slackUserId };
  const outcome = await (async () => {
    let statement: Awaited<ReturnType<Services['statements']['open']>>;
    try {
      statement = await deps.services.statements.open(
        memberActor(payload.memberId, 'slack'),
        payload.kind,
        filters,
      );
    } catch (error) {
      if (!isDomainError(error)) throw error;
      return deps.slack.post(payload.teamId, { ...dm, text: exportRefusedText(scope, error.message) });
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'teamops-statement-'));
    try {
      const filename = statementFilename(payload.kind, filters);
      const file = path.join(dir, filename);
      await pipeline(statement.csv, createWriteStream(file));
      const rows = statement.rowCount();
      // Awaited here, not returned: the file must outlive the upload.
      if (rows === 0)
        return await deps.slack.post(payload.teamId, { ...dm, text: nothingToExportText(scope) });
      return await deps.slack.upload(payload.teamId, {
        filename,
        title: filename,
        content: { path: file },
        to: { user: payload.slackUserId },
        initialComment: statementComment(scope, rows),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  const notSent =
    'posted' in outcome ? !outcome.posted && outcome.reason : !outcome.uploaded && outcome.reason;
  // The app is not (or no longer) installed: the job ends, its result says why.
  if (notSent) return `not sent: ${notSent}`;
  await claimJobReceipt(em, key);
  return 'sent';
}
