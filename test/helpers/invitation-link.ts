import type { Services } from '../../src/app.ts';

/**
 * The token of an invitation's current link, as the delivery job derives it (server secret and
 * the row's nonce); nothing stores it, so this is how a test plays the invited person.
 */
export async function invitationLinkToken(
  services: { invitations: Pick<Services['invitations'], 'deliveryDetails'> },
  invitationId: number,
): Promise<string> {
  const details = await services.invitations.deliveryDetails(invitationId, '');
  if (!details?.token) throw new Error(`invitation ${invitationId} has no derivable link`);
  return details.token;
}
