import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Services } from '../../app.ts';
import type { KeyHolder } from '../../members/api-key-cache.ts';
import { UnauthenticatedError } from '../../shared/errors.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** The member whose API key authenticated this request. */
    member?: KeyHolder;
  }
}

/** Reads the API key of a request: `Authorization: Bearer <key>`. */
export function bearerKey(req: Request): string | null {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/** Authenticates with the member's API key; the member is then the actor of every service call. */
export function requireApiKey(services: Services): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const key = bearerKey(req);
      if (!key) throw new UnauthenticatedError('Send your API key as "Authorization: Bearer <key>"');
      req.member = await services.members.authenticateApiKey(key);
      next();
    } catch (error) {
      next(error);
    }
  };
}
