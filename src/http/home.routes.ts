import type { Express } from 'express';
import { escapeHtml } from '../mail/html.ts';
import type { HttpDeps } from './server.ts';

interface Endpoint {
  path: string;
  what: string;
}

/** What this server answers, for a person who opens its URL (or a script asking for JSON). */
function endpoints(deps: HttpDeps): Endpoint[] {
  return [
    { path: '/api/v1', what: 'the REST API (Authorization: Bearer <API key>)' },
    { path: '/docs', what: 'API reference, to read and try in the browser' },
    { path: '/api/v1/openapi.json', what: 'the API reference as OpenAPI 3.1' },
    { path: '/api/v2/subaccounts', what: 'Textmagic-compatible sub-accounts API' },
    { path: '/v1/team', what: 'SMS.to-compatible team API' },
    { path: '/accounts/{api_key}/subaccounts', what: 'Vonage-compatible Subaccounts API' },
    ...(deps.config.slack && !deps.config.slack.appToken
      ? [{ path: '/slack/events', what: 'Slack request URL (commands, interactivity, events)' }]
      : []),
    { path: '/healthz', what: 'liveness' },
    { path: '/readyz', what: 'readiness (database and queues)' },
    {
      path: '/metrics',
      what: `Prometheus metrics${deps.config.metricsToken ? ' (Authorization: Bearer METRICS_TOKEN)' : ''}`,
    },
    ...(deps.config.adminPassword
      ? [{ path: '/admin/queues', what: 'queue dashboard (HTTP Basic, ADMIN_PASSWORD)' }]
      : []),
  ];
}

const NEXT_STEP =
  'npm run cli -- team:create --name Acme --owner-name "Your Name" prints the owner\'s API key; with Slack, /team setup Acme EUR';

/** GET / — a small page naming the endpoints, instead of a 404 at the URL `npm start` prints. */
export function mountHome(app: Express, deps: HttpDeps): void {
  app.get('/', (_req, res) => {
    const list = endpoints(deps);
    res.format({
      json: () => res.json({ service: 'teamops', endpoints: list, nextStep: NEXT_STEP }),
      html: () =>
        res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>teamops</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; line-height: 1.5">
<h1>teamops is running</h1>
<p>Team and sub-account management for SMS messaging, from Slack and over HTTP.</p>
<ul>
${list.map((e) => `<li><a href="${e.path}"><code>${e.path}</code></a> — ${escapeHtml(e.what)}</li>`).join('\n')}
</ul>
<p>Next: <code>${escapeHtml(NEXT_STEP)}</code></p>
</body></html>`),
      default: () => res.json({ service: 'teamops', endpoints: list, nextStep: NEXT_STEP }),
    });
  });
}
