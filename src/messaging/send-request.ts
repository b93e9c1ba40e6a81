import { ValidationError } from '../shared/errors.ts';
import { requireValidText } from '../shared/text.ts';
import { toE164 } from './phone.ts';
import { LIMITS, type Segmentation, segment } from './segmentation.ts';

export const MAX_RECIPIENTS = 1000;
/** Longer texts are refused rather than silently split into a costly stream of parts. */
export const MAX_PARTS = 10;
export const MAX_IDEMPOTENCY_KEY = 200;

export interface SendInput {
  /** One E.164 number or a list of them. */
  to: unknown;
  message: unknown;
  senderId?: unknown;
  /** The client's Idempotency-Key: sending the same request again answers with the first result. */
  idempotencyKey?: string | null;
}

export interface SendRequest {
  recipients: string[];
  text: string;
  senderId: string | null;
  segmentation: Segmentation;
  idempotencyKey: string | null;
}

/** Checks everything about a send that does not need the database, naming the field at fault. */
export function parseSendInput(input: SendInput): SendRequest {
  const list = Array.isArray(input.to) ? input.to : [input.to];
  if (input.to === undefined || input.to === null || list.length === 0)
    throw new ValidationError('to', 'to is required: one E.164 number or a list of them');
  if (list.length > MAX_RECIPIENTS)
    throw new ValidationError('to', `to has ${list.length} numbers; at most ${MAX_RECIPIENTS} per request`);
  const recipients = list.map((n, i) => toE164(n, Array.isArray(input.to) ? `to[${i}]` : 'to'));

  if (typeof input.message !== 'string' || input.message.trim() === '')
    throw new ValidationError('message', 'message is required and must not be empty');
  const text = requireValidText(input.message, 'message');
  const segmentation = segment(text);
  if (segmentation.parts > MAX_PARTS) {
    const { multi } = LIMITS[segmentation.encoding];
    throw new ValidationError(
      'message',
      `message is too long: ${segmentation.parts} parts, at most ${MAX_PARTS} (${MAX_PARTS * multi} ${
        segmentation.encoding === 'gsm7' ? 'GSM-7 characters' : 'UCS-2 characters'
      })`,
    );
  }

  return {
    recipients,
    text,
    senderId: parseSenderId(input.senderId),
    segmentation,
    idempotencyKey: parseIdempotencyKey(input.idempotencyKey),
  };
}

/** An alphanumeric sender of up to 11 characters, or a phone number of up to 15 digits. */
function parseSenderId(input: unknown): string | null {
  if (input === undefined || input === null || input === '') return null;
  if (typeof input !== 'string') throw new ValidationError('sender_id', 'sender_id must be text');
  const value = input.trim();
  if (/^\+?\d{1,15}$/.test(value)) return value;
  if (/^[A-Za-z0-9 ._&-]{1,11}$/.test(value) && /[A-Za-z]/.test(value)) return value;
  throw new ValidationError(
    'sender_id',
    'sender_id must be up to 11 letters, digits or spaces, or a phone number of up to 15 digits',
  );
}

function parseIdempotencyKey(input: string | null | undefined): string | null {
  if (input === undefined || input === null) return null;
  const key = input.trim();
  if (key === '' || key.length > MAX_IDEMPOTENCY_KEY || !/^[\x21-\x7e]+$/.test(key))
    throw new ValidationError(
      'Idempotency-Key',
      `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} visible ASCII characters`,
    );
  return key;
}
