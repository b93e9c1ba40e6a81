import { ValidationError } from './errors.ts';

/**
 * The one text rule for every string a service stores or queries with. PostgreSQL cannot hold a
 * NUL, and text with a lone UTF-16 surrogate is not Unicode at all: both are refused, naming the
 * field, instead of failing deep in the driver. Names (of people, teams, senders) are shown to
 * others, so they also refuse what can make them lie about themselves on screen: control
 * characters (terminal escapes like ESC[31m) and format characters (bidi overrides such as
 * U+202E, zero-width spaces and joiners, the BOM). They are refused rather than silently
 * removed, so nobody ends up with a name other than the one they typed.
 */

// Noncharacters: U+FFFE and U+FFFF of every plane, and U+FDD0..U+FDEF.
const NONCHARACTER =
  /[\uFDD0-\uFDEF\uFFFE\uFFFF]|[\uD83F\uD87F\uD8BF\uD8FF\uD93F\uD97F\uD9BF\uD9FF\uDA3F\uDA7F\uDABF\uDAFF\uDB3F\uDB7F\uDBBF\uDBFF][\uDFFE\uDFFF]/u;
const CONTROL = /\p{Cc}/u;
const FORMAT = /\p{Cf}/u;

/** Why the text is refused, or null when it may be stored. */
export function textProblem(value: string, kind: 'text' | 'name' = 'text'): string | null {
  if (value.includes('\u0000')) return 'must not contain a NUL character';
  if (!value.isWellFormed()) return 'must be valid Unicode (it contains a lone surrogate)';
  if (NONCHARACTER.test(value)) return 'must not contain Unicode noncharacters';
  if (kind === 'name') {
    if (CONTROL.test(value)) return 'must not contain control characters';
    if (FORMAT.test(value))
      return 'must not contain invisible formatting characters (bidi controls, zero-width characters)';
  }
  return null;
}

/** The text, or a ValidationError naming `field`. */
export function requireValidText(value: string, field: string): string {
  const problem = textProblem(value);
  if (problem) throw new ValidationError(field, `${field} ${problem}`);
  return value;
}

/** A name shown to others: valid text without control or invisible formatting characters. */
export function requireValidName(value: string, field: string): string {
  const problem = textProblem(value, 'name');
  if (problem) throw new ValidationError(field, `${field} ${problem}`);
  return value;
}

/**
 * The first string anywhere in `input` (keys included) that breaks the text rule, with its
 * path, e.g. `body.items[2].text`. For transports to refuse a whole request before a service
 * sees it: every stored or queried string is checked again where the service reads it.
 */
export function findInvalidText(
  input: unknown,
  path: string,
  depth = 0,
): { field: string; problem: string } | null {
  if (typeof input === 'string') {
    const problem = textProblem(input);
    return problem ? { field: path, problem } : null;
  }
  if (depth > 20 || input === null || typeof input !== 'object') return null;
  if (Array.isArray(input)) {
    for (const [index, item] of input.entries()) {
      const found = findInvalidText(item, `${path}[${index}]`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [key, value] of Object.entries(input)) {
    const keyProblem = textProblem(key);
    if (keyProblem) return { field: path, problem: `has a field name that ${keyProblem}` };
    const found = findInvalidText(value, path ? `${path}.${key}` : key, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Throws a ValidationError for the first string in `input` that breaks the text rule. */
export function requireValidInput(input: unknown, path: string): void {
  const found = findInvalidText(input, path);
  if (found) throw new ValidationError(found.field, `${found.field} ${found.problem}`);
}
