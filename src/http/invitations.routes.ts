import express, { type Express, type Response } from 'express';
import type { Services } from '../app.ts';
import type { InvitationView } from '../invitations/invitation.service.ts';
import type { Logger } from '../logger.ts';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { limitPerAddress } from './request-guard.ts';
import {
  acceptedPage,
  acceptPage,
  declinedPage,
  endedPage,
  errorPage,
  slowDownPage,
} from './views/invitation-pages.ts';

/**
 * GET/POST /invitations/:token: the page an invited person opens from the email. GET never
 * changes anything; POST accepts (with a display name) or declines. A used, revoked or expired
 * link gets a page saying so, and nothing happens.
 */
export function mountInvitationPages(
  app: Express,
  deps: { services: Pick<Services, 'invitations'>; logger: Logger },
) {
  const invitations = deps.services.invitations;
  const log = deps.logger.child({ component: 'invitation-pages' });
  const router = express.Router();
  router.use(securityHeaders);
  // Per address: generous for a person, slow for anyone guessing links.
  router.use(limitPerAddress((res, retryAfter) => send(res, 429, slowDownPage(retryAfter))));

  router.get('/:token', async (req, res) => {
    try {
      const invitation = await inspect(req.params.token);
      if (!invitation) return send(res, 404, endedPage(null));
      if (invitation.status !== 'pending') return send(res, 410, endedPage(invitation));
      send(res, 200, acceptPage(invitation));
    } catch (error) {
      failed(res, error);
    }
  });

  router.post('/:token', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const token = req.params.token;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const action = body.action === 'decline' ? 'decline' : 'accept';
    try {
      if (action === 'decline') {
        const declined = await invitations.decline(token);
        return send(res, 200, declinedPage(declined.teamName));
      }
      const name = typeof body.name === 'string' ? body.name : '';
      const outcome = await invitations.accept(token, { name });
      send(
        res,
        200,
        acceptedPage({
          teamName: outcome.invitation.teamName,
          memberName: outcome.member.name,
          apiKey: outcome.apiKey,
        }),
      );
    } catch (error) {
      if (
        !(
          error instanceof ConflictError ||
          error instanceof NotFoundError ||
          error instanceof ValidationError
        )
      ) {
        return failed(res, error);
      }
      const invitation = await inspect(token).catch(() => null);
      // A bad name on an invitation still open: the form again, with the error.
      if (error instanceof ValidationError && invitation?.status === 'pending') {
        return send(
          res,
          422,
          acceptPage(invitation, { name: String(body.name ?? ''), error: error.message }),
        );
      }
      return send(res, invitation ? 410 : 404, endedPage(invitation));
    }
  });

  app.use('/invitations', router);

  async function inspect(token: string): Promise<InvitationView | null> {
    try {
      return await invitations.inspect(token);
    } catch (error) {
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  function failed(res: Response, error: unknown) {
    log.error({ err: error }, 'invitation page failed');
    send(res, 500, errorPage());
  }
}

function send(res: Response, status: number, body: string) {
  res.status(status).type('html').send(body);
}

/**
 * The URL is the secret: keep it out of Referer headers and caches, and the page out of frames;
 * the pages need no script at all.
 */
const securityHeaders: express.RequestHandler = (_req, res, next) => {
  res.set({
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  });
  next();
};
