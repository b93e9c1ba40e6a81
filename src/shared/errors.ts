/**
 * Every refusal a service can give is one of these. Transport adapters map `code` to an HTTP
 * status or a Slack message; the message is written for the person who asked, never a stack.
 */
export type DomainErrorCode =
  | 'validation'
  | 'not_found'
  | 'forbidden'
  | 'unauthenticated'
  | 'insufficient_funds'
  | 'spending_limit'
  | 'conflict'
  | 'rate_limited';

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
}

/** Input that is malformed or out of range; `field` names the input at fault. */
export class ValidationError extends DomainError {
  readonly code = 'validation';
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'not_found';
}

/** The caller is known but may not do this. */
export class ForbiddenError extends DomainError {
  readonly code = 'forbidden';
}

/** The caller could not be identified (unknown or refused API key, unlinked Slack user). */
export class UnauthenticatedError extends DomainError {
  readonly code = 'unauthenticated';
}

export class InsufficientFundsError extends DomainError {
  readonly code = 'insufficient_funds';
}

/**
 * A send would take the member's spend this month over its monthly spending limit; nothing was
 * charged. Carries the figures so every transport can name them.
 */
export class SpendingLimitError extends DomainError {
  readonly code = 'spending_limit';
  readonly monthlyLimit: bigint;
  readonly remaining: bigint;
  constructor(message: string, figures: { monthlyLimit: bigint; remaining: bigint }) {
    super(message);
    this.monthlyLimit = figures.monthlyLimit;
    this.remaining = figures.remaining;
  }
}

/** The request contradicts the current state (already exists, wrong status, reused idempotency key). */
export class ConflictError extends DomainError {
  readonly code = 'conflict';
}

/** Too many requests from one API key, Slack user or address; `retryAfterSeconds` says when to come back. */
export class RateLimitedError extends DomainError {
  readonly code = 'rate_limited';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
