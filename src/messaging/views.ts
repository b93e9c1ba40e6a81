import type { Micros } from '../shared/money.ts';
import type { MessageStatus } from './message.entity.ts';
import type { Encoding } from './segmentation.ts';

/** One accepted message, as the sender sees it right after sending. */
export interface SentMessage {
  id: string;
  to: string;
  parts: number;
  cost: Micros;
  status: MessageStatus;
}

export interface SendResult {
  messages: SentMessage[];
  /** The member's balance once this request was charged. */
  balance: Micros;
  currency: string;
  encoding: Encoding;
  /** True when the idempotency key had been used for this same request: nothing new was charged. */
  replayed: boolean;
}

/** A row of the message log. */
export interface MessageView {
  id: string;
  memberId: number;
  memberName: string;
  to: string;
  message: string;
  senderId: string | null;
  encoding: Encoding;
  parts: number;
  unitPrice: Micros;
  cost: Micros;
  status: MessageStatus;
  error: string | null;
  refunded: boolean;
  createdAt: Date;
  sentAt: Date | null;
  finishedAt: Date | null;
}

export interface MessagePage {
  items: MessageView[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
  currency: string;
}

export interface MessageRow {
  id: string;
  member_id: number;
  member_name: string;
  recipient: string;
  body: string;
  sender_id: string | null;
  encoding: Encoding;
  parts: number;
  unit_price: string;
  cost: string;
  status: MessageStatus;
  error: string | null;
  refunded_at: string | Date | null;
  created_at: string | Date;
  sent_at: string | Date | null;
  finished_at: string | Date | null;
}

export function toMessageView(row: MessageRow): MessageView {
  return {
    id: String(row.id),
    memberId: row.member_id,
    memberName: row.member_name,
    to: row.recipient,
    message: row.body,
    senderId: row.sender_id,
    encoding: row.encoding,
    parts: row.parts,
    unitPrice: BigInt(row.unit_price),
    cost: BigInt(row.cost),
    status: row.status,
    error: row.error,
    refunded: row.refunded_at !== null,
    createdAt: new Date(row.created_at),
    sentAt: row.sent_at === null ? null : new Date(row.sent_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
  };
}
