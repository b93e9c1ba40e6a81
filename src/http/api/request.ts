import type { Request } from 'express';
import type { MemberRef } from '../../members/lookups.ts';
import { type Actor, memberActor } from '../../shared/actor.ts';
import { ValidationError } from '../../shared/errors.ts';

/** The authenticated member (see auth.ts) as the actor of a service call. */
export function actorOf(req: Request): Actor {
  return memberActor(req.member!.id, 'api');
}

/** A member in a path or query: its id, or its email. */
export function parseMemberRef(value: string): MemberRef {
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return { id: Number(trimmed) };
  if (trimmed.includes('@')) return { email: trimmed };
  throw new ValidationError('member', 'member must be a member id or an email address');
}

export function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, `${field} must be given once, as text`);
  return value;
}

export function optional(value: unknown, field: string): string | undefined {
  return value === undefined || value === '' ? undefined : text(value, field);
}

/** The JSON body as an object (an absent or non-object body reads as empty). */
export function bodyOf(req: Request): Record<string, unknown> {
  const body = req.body as unknown;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
