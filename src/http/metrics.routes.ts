import type { Express } from 'express';
import { scrape } from '../platform/metrics.ts';
import { secretMatcher } from './secret.ts';

/** GET /metrics in Prometheus text format; with METRICS_TOKEN set, only for `Bearer <token>`. */
export function mountMetrics(app: Express, token: string | undefined): void {
  const matches = token ? secretMatcher(token) : undefined;
  app.get('/metrics', async (req, res, next) => {
    if (matches) {
      const given = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
      if (!matches(given)) {
        res
          .status(401)
          .set('WWW-Authenticate', 'Bearer')
          .type('text')
          .send('Send METRICS_TOKEN as "Authorization: Bearer <token>".\n');
        return;
      }
    }
    try {
      const { contentType, body } = await scrape();
      res.set('Content-Type', contentType).send(body);
    } catch (error) {
      next(error);
    }
  });
}
