/**
 * The actor vocabulary, used by every feature: who asks (an `Actor`, given to a service call) and
 * who acted (an `ActingParty`, written on transfers and audit events).
 */

export const ACTOR_KINDS = ['member', 'operator', 'system'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];
/** Through what a request arrived; a worker acts on its own. */
export const CHANNELS = ['slack', 'api', 'cli', 'worker'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Who asks a service to do something. Services load the member behind a `member` actor and
 * decide there what it may do; transports only say who is calling and through what.
 */
export type Actor =
  | { kind: 'member'; memberId: number; via: Channel }
  | { kind: 'operator'; via: 'cli' }
  | { kind: 'system'; via: 'worker' };

export const operator: Actor = { kind: 'operator', via: 'cli' };
export const system: Actor = { kind: 'system', via: 'worker' };
export function memberActor(memberId: number, via: Channel): Actor {
  return { kind: 'member', memberId, via };
}

/** Who acted, resolved: which member (if any) and through what channel. */
export interface ActingParty {
  kind: ActorKind;
  memberId: number | null;
  via: Channel;
}

/** The product itself acting, for a cause that arrived through `via` (an expiry noticed on the accept page, a worker's recharge). */
export function systemParty(via: Channel): ActingParty {
  return { kind: 'system', memberId: null, via };
}
