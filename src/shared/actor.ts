import type { Channel } from '../ledger/transfer.entity.ts';

export type { Channel };

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
