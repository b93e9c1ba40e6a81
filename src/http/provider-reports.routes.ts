import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { AppDeps } from '../app.ts';
import { SMSTO_WEBHOOK_PATH } from '../config.ts';
import { parseSmstoCallback, SMSTO_PROVIDER_NAME } from '../messaging/providers/smsto.ts';
import { ValidationError } from '../shared/errors.ts';
import { describeError } from './errors.ts';
import { rejectInvalidText } from './request-guard.ts';

/** SMS.to gives up on a callback after 3–4 seconds; these bodies are a few fields. */
const BODY_LIMIT = '16kb';

/**
 * POST /webhooks/smsto/:secret — the delivery reports SMS.to pushes to the `callback_url` the
 * smsto provider sends with each message (form-encoded; JSON is accepted too). SMS.to signs
 * nothing, so the secret in the path (SMSTO_WEBHOOK_SECRET) is the authentication; without it
 * configured nothing is mounted. A wrong secret is a 404 before the body is even read. The
 * report itself goes to MessagingService.recordProviderReport, which holds every rule (final
 * statuses only once, the refund exactly once); this adapter only parses and renders JSON:
 * 200 `{received, changed}`, 400 naming the malformed field, 404 for an unknown message id.
 */
export function mountProviderReports(app: Express, { config, services, logger }: AppDeps): void {
  const webhook = config.sms.smstoWebhook;
  if (!webhook) return;
  const log = logger.child({ component: 'smsto-webhook' });
  const router = express.Router();

  router.post(
    '/:secret',
    requireSecret(webhook.secret),
    express.urlencoded({ extended: false, limit: BODY_LIMIT }),
    express.json({ limit: BODY_LIMIT }),
    rejectInvalidText,
    async (req, res) => {
      const { providerMessageId, report } = parseSmstoCallback(req.body);
      const changed = await services.messaging.recordProviderReport({
        provider: SMSTO_PROVIDER_NAME,
        providerMessageId,
        ...report,
      });
      res.json({ received: true, changed });
    },
  );
  router.use((_req, res) => {
    notFound(res);
  });
  router.use(renderError(log));
  app.use(SMSTO_WEBHOOK_PATH, router);
  // Never the secret itself: logs travel further than the configuration.
  log.info({ url: `${config.publicUrl}${SMSTO_WEBHOOK_PATH}/…` }, 'SMS.to delivery reports accepted');
}

/** Compares digests in constant time, so the answer's timing says nothing about the secret. */
function requireSecret(secret: string): RequestHandler {
  const expected = digest(secret);
  return (req, res, next) => {
    const given = req.params.secret;
    if (typeof given === 'string' && timingSafeEqual(digest(given), expected)) return next();
    notFound(res);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function notFound(res: express.Response): void {
  res.status(404).json({ error: { code: 'not_found', message: 'Not found' } });
}

function renderError(log: AppDeps['logger']): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    if (error instanceof ValidationError) {
      res.status(400).json({ error: { code: 'bad_request', message: error.message, field: error.field } });
      return;
    }
    const { status, body } = describeError(error);
    const parser = error as { status?: number; expose?: boolean; message?: string };
    if (status === 500 && parser?.expose && parser.status && parser.status >= 400 && parser.status < 500) {
      // Another body-parser refusal (unsupported charset or encoding…).
      res.status(parser.status).json({ error: { code: 'bad_request', message: parser.message } });
      return;
    }
    // The path holds the secret: log the error, never the URL.
    if (status >= 500) log.error({ err: error }, 'recording an SMS.to delivery report failed');
    res.status(status).json(body);
  };
}
