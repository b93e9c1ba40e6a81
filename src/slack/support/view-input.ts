import type { ViewStateValue } from '@slack/bolt';
import { isDomainError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { type MemberRef, parseMemberRef, UsageError } from '../parse/references.ts';
import { refusalText } from '../presenters/replies.ts';

export type ViewValues = Record<string, Record<string, ViewStateValue>>;

/** Modal inputs use the same block id and action id (presenters/blocks.ts `input`). */
function state(values: ViewValues, id: string): ViewStateValue | undefined {
  return values[id]?.[id];
}

export function textValue(values: ViewValues, id: string): string | undefined {
  const text = state(values, id)?.value?.trim();
  return text ? text : undefined;
}

export function selectedValue(values: ViewValues, id: string): string | undefined {
  return state(values, id)?.selected_option?.value ?? undefined;
}

export function selectedUser(values: ViewValues, id: string): string | undefined {
  return state(values, id)?.selected_user ?? undefined;
}

export function selectedDate(values: ViewValues, id: string): string | undefined {
  return state(values, id)?.selected_date ?? undefined;
}

export function isChecked(values: ViewValues, id: string, value: string): boolean {
  return (state(values, id)?.selected_options ?? []).some((option) => option.value === value);
}

export function metadata<T extends object>(privateMetadata: string | undefined): Partial<T> {
  try {
    const parsed: unknown = JSON.parse(privateMetadata || '{}');
    return parsed && typeof parsed === 'object' ? (parsed as Partial<T>) : {};
  } catch {
    return {};
  }
}

export type FieldErrors = Record<string, string>;

/**
 * Where a refusal is shown in a modal: on the input it is about when the service names one,
 * an unknown member on the member input, anything else on `fallback`.
 */
export function errorsOnFields(
  error: unknown,
  blocks: { fields: Record<string, string>; notFound?: string; fallback: string },
): FieldErrors {
  if (error instanceof ValidationError && blocks.fields[error.field]) {
    return { [blocks.fields[error.field]!]: refusalText(error) };
  }
  if (error instanceof NotFoundError && blocks.notFound) return { [blocks.notFound]: refusalText(error) };
  return { [blocks.fallback]: isDomainError(error) ? refusalText(error) : refusalText(undefined) };
}

/**
 * The member a modal is about: fixed when it was opened for one member (metadata), otherwise
 * typed into the `member` input as an email or id. An unreadable entry is an error on that input.
 */
export function memberFromModal(values: ViewValues, memberId: number | undefined): MemberRef {
  if (typeof memberId === 'number' && memberId > 0) return { id: memberId };
  const typed = textValue(values, 'member');
  if (!typed) throw new ValidationError('member', 'Say which member: an email or a member id');
  try {
    return parseMemberRef(typed);
  } catch (error) {
    if (error instanceof UsageError) throw new ValidationError('member', error.message);
    throw error;
  }
}
