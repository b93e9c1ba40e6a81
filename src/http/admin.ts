import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Express, RequestHandler } from 'express';
import { QUEUES } from '../jobs/jobs.ts';
import { secretMatcher } from './secret.ts';
import type { HttpDeps } from './server.ts';

/**
 * The queue dashboard (bull-board) at /admin/queues, behind HTTP Basic with ADMIN_PASSWORD (any
 * user name). It reads both queue backends: bull-board's BullMQ adapter speaks BullMQ 6's
 * PostgreSQL backend as well as Redis. Without ADMIN_PASSWORD the path says how to turn it on.
 */
export const ADMIN_QUEUES_PATH = '/admin/queues';

export function mountQueueDashboard(app: Express, deps: HttpDeps): void {
  const password = deps.config.adminPassword;
  if (!password) {
    app.use(ADMIN_QUEUES_PATH, (_req, res) => {
      res
        .status(404)
        .type('text')
        .send('The queue dashboard is off: set ADMIN_PASSWORD to turn it on (see docs/operations.md).\n');
    });
    return;
  }
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(ADMIN_QUEUES_PATH);
  createBullBoard({
    queues: QUEUES.map(
      (queue) =>
        new BullMQAdapter(deps.queues.bullQueue(queue) as ConstructorParameters<typeof BullMQAdapter>[0]),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: `teamops queues (${deps.queues.backend === 'redis' ? 'Redis' : 'PostgreSQL'})`,
      },
    },
  });
  app.use(ADMIN_QUEUES_PATH, basicAuth(password), serverAdapter.getRouter());
}

function basicAuth(password: string): RequestHandler {
  const matches = secretMatcher(password);
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const given = decoded.slice(decoded.indexOf(':') + 1);
    if (match && decoded.includes(':') && matches(given)) return next();
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="teamops queues", charset="UTF-8"')
      .type('text')
      .send('The queue dashboard needs the admin password (ADMIN_PASSWORD).\n');
  };
}
