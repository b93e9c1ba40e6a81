import { pipeline } from 'node:stream/promises';
import type { Response, Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app.ts';
import { MESSAGE_STATUSES } from '../../messaging/message.entity.ts';
import type { Statement } from '../../statements/statement.service.ts';
import {
  STATEMENT_HEADERS,
  type StatementKind,
  statementFilename,
} from '../../statements/statement.service.ts';
import { type AnyEndpoint, endpoint, registerEndpoints } from './endpoint.ts';
import { parseMemberRef } from './request.ts';
import { optionalText } from './schemas.ts';

/**
 * GET /transfers.csv and /messages.csv: the lists' rows as CSV statements, every matching row in
 * one response (no pages), streamed from a database cursor as fast as the client reads.
 */

const range = {
  from: optionalText('from', 'From this date (YYYY-MM-DD, inclusive) or time (ISO 8601)'),
  to: optionalText('to', 'Up to this date (YYYY-MM-DD, inclusive) or time (ISO 8601)'),
};

function csvResponse(kind: StatementKind) {
  return {
    '200': {
      description: `UTF-8 CSV (RFC 4180), oldest first, with a header row: ${STATEMENT_HEADERS[kind].join(', ')}`,
      mediaType: 'text/csv',
      schema: z.string(),
    },
  };
}

export const endpoints: AnyEndpoint[] = [
  endpoint({
    method: 'get',
    path: '/transfers.csv',
    operationId: 'exportTransfers',
    summary: 'Ledger entries as a CSV statement (a user gets its own)',
    tag: 'money',
    query: z.object({
      member: optionalText('member', 'Only this member’s transfers (id or email)'),
      ...range,
    }),
    responses: csvResponse('transfers'),
    errors: ['403', '404', '422'],
    async handle({ query, actor, services, res }) {
      const filters = {
        member: query.member ? parseMemberRef(query.member) : null,
        from: query.from,
        to: query.to,
      };
      const statement = await services.statements.open(actor, 'transfers', filters);
      await sendCsv(res, statement, statementFilename('transfers', filters));
    },
  }),
  endpoint({
    method: 'get',
    path: '/messages.csv',
    operationId: 'exportMessages',
    summary: 'The message log as a CSV statement (a user gets its own)',
    tag: 'messaging',
    query: z.object({
      member: optionalText('member', 'Only this member’s messages (id or email)'),
      status: optionalText('status', 'queued, sent, delivered or failed').meta({
        enum: [...MESSAGE_STATUSES],
      }),
      recipient: optionalText('recipient', 'Only messages to this number'),
      ...range,
      contains: optionalText('contains', 'Only messages whose text contains this'),
    }),
    responses: csvResponse('messages'),
    errors: ['403', '404', '422'],
    async handle({ query, actor, services, res }) {
      const filters = {
        member: query.member ? parseMemberRef(query.member) : null,
        status: query.status,
        recipient: query.recipient,
        from: query.from,
        to: query.to,
        contains: query.contains,
      };
      const statement = await services.statements.open(actor, 'messages', filters);
      await sendCsv(res, statement, statementFilename('messages', filters));
    },
  }),
];

/**
 * Streams the statement. Once the first bytes are out the status cannot change: a failure then
 * cuts the response short (apiErrorHandler), so the client sees an incomplete body, never a CSV
 * that looks whole. A client that goes away ends the stream, which closes the database cursor.
 */
async function sendCsv(res: Response, statement: Statement, filename: string): Promise<void> {
  // Gone while the statement waited for its turn or its first rows: a response whose socket is
  // closed would take the rows and never drain, holding the cursor for good.
  if (res.destroyed) {
    statement.csv.destroy();
    return;
  }
  res.status(200);
  res.set({
    'Content-Type': 'text/csv; charset=utf-8; header=present',
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-store',
  });
  try {
    await pipeline(statement.csv, res);
  } catch (error) {
    // The client went away: no one to answer.
    if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    throw error;
  }
}

export function register(router: Router, deps: AppDeps): void {
  registerEndpoints(router, deps, endpoints);
}
