/** The vocabulary of the authorization matrices (test/authorization/): who calls, and what should happen. */

export const ROLES = ['owner', 'admin', 'user', 'outsider'] as const;
export type CallerRole = (typeof ROLES)[number];

/** `own team`: an outsider's call that names no team acts on its own team and leaves team A alone. */
export type Outcome = 'allowed' | 'forbidden' | 'not_found' | 'own team';

/** The owner and admins may; a user is forbidden; an outsider gets `outsider`. */
export function managersOnly(outsider: Outcome): Record<CallerRole, Outcome> {
  return { owner: 'allowed', admin: 'allowed', user: 'forbidden', outsider };
}

/** Every member of the team may; an outsider gets `outsider`. */
export function everyMember(outsider: Outcome): Record<CallerRole, Outcome> {
  return { owner: 'allowed', admin: 'allowed', user: 'allowed', outsider };
}
