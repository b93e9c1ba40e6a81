import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.ts';
import type { JobPayload } from '../jobs/jobs.ts';
import { lockTeamAndMembers } from '../ledger/lock-order.ts';
import { callerTeam, loadCaller, requireManager } from '../members/access.ts';
import { hashSecret, issueApiKey } from '../members/api-keys.ts';
import { Member } from '../members/member.entity.ts';
import { flushUnique } from '../members/member.service.ts';
import { freeUsername } from '../members/usernames.ts';
import { type MemberView, toMemberView } from '../members/views.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import type { QueueJob } from '../platform/queue.ts';
import { transact } from '../platform/transactions.ts';
import { type Actor, type Channel, systemParty } from '../shared/actor.ts';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { optionalEmail, requireId, requireName } from '../shared/validation.ts';
import { loadTeam } from '../teams/team.service.ts';
import {
  type DeliveryStatus,
  type IInvitation,
  Invitation,
  type InvitationStatus,
} from './invitation.entity.ts';
import { deliverInvitation, type InvitationDeliveryDeps } from './invitation-email.ts';
import { InvitationTokens, processLocalSecret } from './invitation-token.ts';

/** The roles an invitation can give: ownership changes hands only by an approved role change. */
export const INVITABLE_ROLES = ['admin', 'user'] as const;
export type InvitableRole = (typeof INVITABLE_ROLES)[number];

/** How long an invitation link stays valid. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface InvitationView {
  id: number;
  teamId: number;
  teamName: string;
  email: string | null;
  slackUserId: string | null;
  role: 'admin' | 'user';
  /** `expired` is shown as soon as the link is past its expiry, even before anything marks it. */
  status: InvitationStatus;
  deliveryStatus: DeliveryStatus;
  /** The last failed attempt's reason: while retrying, and once `failed`; null once `sent`. */
  deliveryError: string | null;
  /** Delivery attempts made so far (0 before the first). */
  deliveryAttempts: number;
  /** How many attempts delivery gets in all; null until the first attempt is recorded. */
  deliveryMaxAttempts: number | null;
  /** An attempt failed and another will follow: still `queued`, with `deliveryError` saying why. */
  deliveryRetrying: boolean;
  expiresAt: Date;
  invitedByName: string | null;
  memberId: number;
  createdAt: Date;
}

export type InvitationRef = { id: number } | { email: string };

/** How one delivery attempt went: through, or refused (`permanent`: no retry can help). */
/**
 * How a delivery went. `nonce`: the link it carried; when the invitation has been re-sent since,
 * the outcome is not recorded — it would otherwise mark the re-send as sent (or failed) before
 * the re-send's own job has run.
 */
export type DeliveryOutcome = ({ sent: true } | { error: string; permanent?: boolean }) & { nonce?: string };

/** Which attempt this was, as the queue counts: attempts made before it, and attempts in all. */
export interface DeliveryAttempt {
  attemptsMade: number;
  maxAttempts: number;
}

/** What the delivery job needs: the invitation, and the link's token when it can still be derived. */
export interface DeliveryDetails extends InvitationView {
  inviterEmail: string | null;
  /** The job was queued for an earlier nonce: a re-send superseded it. */
  superseded: boolean;
  /** Null when the server secret changed since the invitation was made (re-send it). */
  token: string | null;
}

export class InvitationService {
  readonly #orm: Orm;
  readonly #now: () => Date;
  readonly #tokens: InvitationTokens;
  constructor(
    orm: Orm,
    now: () => Date = () => new Date(),
    tokens: InvitationTokens = new InvitationTokens(processLocalSecret),
  ) {
    this.#orm = orm;
    this.#now = now;
    this.#tokens = tokens;
  }

  /**
   * Invites an email (or a Slack user) to join as a member. A sub-account in status `invited`
   * is reserved at once; accepting the link activates it and shows its API key.
   */
  async invite(
    actor: Actor,
    input: {
      email?: string | null;
      slackUserId?: string | null;
      role?: string | null;
      name?: string | null;
      teamId?: number;
    },
  ): Promise<InvitationView> {
    const email = optionalEmail(input.email);
    const slackUserId = input.slackUserId?.trim() || null;
    if (!email && !slackUserId) throw new ValidationError('email', 'email is required');
    if (slackUserId && !/^[UW][A-Z0-9]{2,30}$/.test(slackUserId)) {
      throw new ValidationError('slack user', 'slack user must be a Slack user mention like @alice');
    }
    const role = requireInvitedRole(input.role);
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'invite members');
      const team = await loadTeam(tx, callerTeam(caller, input.teamId));
      const name = input.name ? requireName(input.name) : (email?.split('@')[0] ?? 'Invited member');
      const member = tx.create(Member, {
        team,
        name,
        email,
        role,
        status: 'invited',
        slackUserId,
        username: await freeUsername(tx, name, email),
      });
      await flushUnique(
        tx,
        `${email ?? `<@${slackUserId}>`} is already a member of this team or has a pending invitation`,
      );
      const { nonce, hash } = this.#tokens.issue();
      const invitation = tx.create(Invitation, {
        team,
        email,
        slackUserId,
        role,
        tokenHash: hash,
        tokenNonce: nonce,
        status: 'pending',
        expiresAt: new Date(this.#now().getTime() + INVITATION_TTL_MS),
        invitedBy: caller.member ? await tx.findOneOrFail(Member, caller.member.id) : null,
        member,
      });
      await flushUnique(tx, `${email} already has a pending invitation`);
      await enqueueSend(tx, invitation);
      await recordAudit(tx, {
        teamId: team.id,
        actor: caller.party,
        action: 'invitation.created',
        subjectMemberId: member.id,
        details: { invitationId: invitation.id, email, slackUserId, role },
      });
      return this.#view(invitation);
    });
  }

  /** Pending invitations by default, newest first; `before` (an invitation id) continues below an earlier page. */
  async list(
    actor: Actor,
    input: {
      status?: InvitationStatus | 'all';
      teamId?: number;
      before?: number | null;
      limit?: number;
    } = {},
  ): Promise<InvitationView[]> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    requireManager(caller, 'see invitations');
    const teamId = callerTeam(caller, input.teamId);
    const status = input.status ?? 'pending';
    const invitations = await em.find(
      Invitation,
      {
        team: teamId,
        ...(status === 'all' || status === 'expired' ? {} : { status }),
        ...(input.before ? { id: { $lt: input.before } } : {}),
      },
      { orderBy: { id: 'desc' }, populate: ['team', 'invitedBy'], limit: input.limit ?? 200 },
    );
    return invitations
      .map((invitation) => this.#view(invitation))
      .filter((view) => status === 'all' || view.status === status);
  }

  async revoke(actor: Actor, ref: InvitationRef): Promise<InvitationView> {
    return transact(this.#orm.em.fork(), async (tx) => {
      const { caller, teamId, invitation } = await this.#lockPendingByRef(
        tx,
        actor,
        ref,
        'revoke invitations',
      );
      await this.#end(tx, invitation, 'revoked');
      await recordAudit(tx, {
        teamId,
        actor: caller.party,
        action: 'invitation.revoked',
        subjectMemberId: invitation.member.id,
        details: { invitationId: invitation.id, email: invitation.email },
      });
      return this.#view(invitation);
    });
  }

  /**
   * Sends a pending invitation again with a new link (the earlier link stops working) and a
   * fresh expiry; delivery starts over.
   */
  async resend(actor: Actor, ref: InvitationRef): Promise<InvitationView> {
    return transact(this.#orm.em.fork(), async (tx) => {
      const { caller, teamId, invitation } = await this.#lockPendingByRef(
        tx,
        actor,
        ref,
        're-send invitations',
      );
      const { nonce, hash } = this.#tokens.issue();
      invitation.tokenNonce = nonce;
      invitation.tokenHash = hash;
      invitation.expiresAt = new Date(this.#now().getTime() + INVITATION_TTL_MS);
      invitation.deliveryStatus = 'queued';
      invitation.deliveryError = null;
      invitation.deliveryAttempts = 0;
      invitation.deliveryMaxAttempts = null;
      await tx.flush();
      await enqueueSend(tx, invitation);
      await recordAudit(tx, {
        teamId,
        actor: caller.party,
        action: 'invitation.resent',
        subjectMemberId: invitation.member.id,
        details: { invitationId: invitation.id, email: invitation.email },
      });
      return this.#view(invitation);
    });
  }

  /** What the accept page shows about a link, without changing anything. */
  async inspect(token: string): Promise<InvitationView> {
    const invitation = await this.#orm.em
      .fork()
      .findOne(Invitation, { tokenHash: hashSecret(token) }, { populate: ['team', 'invitedBy'] });
    if (!invitation) throw new NotFoundError('This invitation link is not valid');
    return this.#view(invitation);
  }

  /** Accepts with a display name: the reserved sub-account becomes active; its API key is returned once. */
  /** `via`: where the person clicked (the accept page is the API's; the DM's buttons are Slack's). */
  async accept(
    token: string,
    input: { name: string; via?: Channel },
  ): Promise<{ member: MemberView; apiKey: string; invitation: InvitationView }> {
    const name = requireName(input.name);
    const outcome = await transact(this.#orm.em.fork(), async (tx) => {
      const invitation = await this.#lockPending(tx, token);
      if ('ended' in invitation) return invitation;
      const member = await tx.findOneOrFail(Member, invitation.member.id);
      const key = issueApiKey();
      member.name = name;
      member.status = 'active';
      member.apiKeyHash = key.hash;
      member.apiKeyPrefix = key.visiblePrefix;
      invitation.status = 'accepted';
      invitation.decidedAt = this.#now();
      await tx.flush();
      await recordAudit(tx, {
        teamId: invitation.team.id,
        actor: { kind: 'member', memberId: member.id, via: input.via ?? 'api' },
        action: 'invitation.accepted',
        subjectMemberId: member.id,
        details: { invitationId: invitation.id, name },
      });
      return { member: toMemberView(member), apiKey: key.key, invitation: this.#view(invitation) };
    });
    if ('ended' in outcome) throw outcome.ended;
    return outcome;
  }

  async decline(token: string, via: Channel = 'api'): Promise<InvitationView> {
    const outcome = await transact(this.#orm.em.fork(), async (tx) => {
      const invitation = await this.#lockPending(tx, token);
      if ('ended' in invitation) return invitation;
      await this.#end(tx, invitation, 'revoked');
      await recordAudit(tx, {
        teamId: invitation.team.id,
        actor: systemParty(via),
        action: 'invitation.declined',
        subjectMemberId: invitation.member.id,
        details: { invitationId: invitation.id },
      });
      return { view: this.#view(invitation) };
    });
    if ('ended' in outcome) throw outcome.ended;
    return outcome.view;
  }

  /**
   * Records how a delivery attempt went; the worker calls it after each attempt, possibly more
   * than once for the same one. Sent: `sent`, the error of earlier attempts cleared. Refused:
   * `failed` with the reason when the refusal is permanent or this was the last attempt;
   * otherwise it stays `queued` with the reason, so the admins see why it is not there yet.
   * A `sent` invitation stays sent. Returns the delivery status the invitation now has.
   */
  async recordDelivery(
    invitationId: number,
    outcome: DeliveryOutcome,
    attempt?: DeliveryAttempt,
  ): Promise<DeliveryStatus> {
    const counts = attempt
      ? { deliveryAttempts: attempt.attemptsMade + 1, deliveryMaxAttempts: attempt.maxAttempts }
      : {};
    const em = this.#orm.em.fork();
    const sameLink = outcome.nonce === undefined ? {} : { tokenNonce: outcome.nonce };
    if ('sent' in outcome) {
      await em.nativeUpdate(
        Invitation,
        { id: invitationId, ...sameLink },
        { deliveryStatus: 'sent', deliveryError: null, ...counts },
      );
      return 'sent';
    }
    const lastAttempt = attempt !== undefined && attempt.attemptsMade + 1 >= attempt.maxAttempts;
    const status: DeliveryStatus = outcome.permanent || lastAttempt ? 'failed' : 'queued';
    const updated = await em.nativeUpdate(
      Invitation,
      { id: invitationId, deliveryStatus: { $ne: 'sent' }, ...sameLink },
      { deliveryStatus: status, deliveryError: outcome.error.slice(0, 500) || 'unknown error', ...counts },
    );
    return updated > 0 ? status : 'sent';
  }

  /**
   * For the delivery job queued with `nonce`: what to put in the email or DM, including the
   * link's token, derived here and nowhere stored.
   */
  async deliveryDetails(invitationId: number, nonce: string): Promise<DeliveryDetails | null> {
    const invitation = await this.#orm.em
      .fork()
      .findOne(Invitation, invitationId, { populate: ['team', 'invitedBy'] });
    if (!invitation) return null;
    const token = this.#tokens.token(invitation.tokenNonce);
    return {
      ...this.#view(invitation),
      inviterEmail: invitation.invitedBy?.email ?? null,
      superseded: invitation.tokenNonce !== nonce,
      token: hashSecret(token) === invitation.tokenHash ? token : null,
    };
  }

  /**
   * Locks a pending, unexpired invitation. A used, revoked or expired one yields the error to
   * show instead; an expired one is marked so (and its reserved sub-account closed) on the way.
   */
  async #lockPending(tx: EntityManager, token: string): Promise<IInvitation | { ended: Error }> {
    const invitation = await this.#lock(tx, { tokenHash: hashSecret(token) });
    if (!invitation) return { ended: new NotFoundError('This invitation link is not valid') };
    if (invitation.status === 'pending' && invitation.expiresAt <= this.#now()) {
      await this.#end(tx, invitation, 'expired');
      await recordAudit(tx, {
        teamId: invitation.team.id,
        actor: systemParty('api'),
        action: 'invitation.expired',
        subjectMemberId: invitation.member.id,
        details: { invitationId: invitation.id, expiresAt: invitation.expiresAt.toISOString() },
      });
    }
    if (invitation.status !== 'pending') {
      const ended = {
        accepted: 'has been used already',
        revoked: 'has been revoked',
        expired: 'has expired',
      };
      return { ended: new ConflictError(`This invitation ${ended[invitation.status]}`) };
    }
    return invitation;
  }

  /**
   * Finds an invitation and locks its team and reserved member in the ledger's lock order
   * (docs/ledger.md); every change of an invitation's status holds that member's lock, so the
   * invitation is read again, as it is now, once the lock is held.
   */
  /**
   * A pending invitation of the caller's team, by id or email, locked; for a manager only.
   * Missing: NotFoundError; no longer pending: ConflictError.
   */
  async #lockPendingByRef(tx: EntityManager, actor: Actor, ref: InvitationRef, doing: string) {
    const caller = await loadCaller(tx, actor);
    requireManager(caller, doing);
    const teamId = callerTeam(caller);
    const where =
      'id' in ref
        ? { id: requireId(ref.id, 'invitation id'), team: teamId }
        : { email: optionalEmail(ref.email) ?? '', team: teamId, status: 'pending' as const };
    const invitation = await this.#lock(tx, where);
    if (!invitation)
      throw new NotFoundError(`There is no invitation ${'id' in ref ? `#${ref.id}` : `for ${ref.email}`}`);
    if (invitation.status !== 'pending')
      throw new ConflictError(`Invitation #${invitation.id} is already ${invitation.status}`);
    return { caller, teamId, invitation };
  }

  async #lock(tx: EntityManager, where: FilterQuery<IInvitation>): Promise<IInvitation | null> {
    const found = await tx.findOne(Invitation, where);
    if (!found) return null;
    await lockTeamAndMembers(tx, found.team.id, [found.member.id]);
    return tx.findOne(Invitation, found.id, { populate: ['team', 'invitedBy'], refresh: true });
  }

  async #end(tx: EntityManager, invitation: IInvitation, status: 'revoked' | 'expired'): Promise<void> {
    invitation.status = status;
    invitation.decidedAt = this.#now();
    await tx.flush();
    await tx.execute(
      "update members set status = 'closed', closed_at = now(), updated_at = now() where id = ? and status = 'invited'",
      [invitation.member.id],
    );
  }

  #view(invitation: IInvitation): InvitationView {
    const expired = invitation.status === 'pending' && invitation.expiresAt <= this.#now();
    return {
      id: invitation.id,
      teamId: invitation.team.id,
      teamName: invitation.team.name,
      email: invitation.email ?? null,
      slackUserId: invitation.slackUserId ?? null,
      role: invitation.role,
      status: expired ? 'expired' : invitation.status,
      deliveryStatus: invitation.deliveryStatus,
      deliveryError: invitation.deliveryError ?? null,
      deliveryAttempts: invitation.deliveryAttempts,
      deliveryMaxAttempts: invitation.deliveryMaxAttempts ?? null,
      deliveryRetrying:
        !expired &&
        invitation.status === 'pending' &&
        invitation.deliveryStatus === 'queued' &&
        Boolean(invitation.deliveryError),
      expiresAt: invitation.expiresAt,
      invitedByName: invitation.invitedBy?.name ?? null,
      memberId: invitation.member.id,
      createdAt: invitation.createdAt,
    };
  }
  /**
   * The `invitation.send` job: emails the link and records how the attempt went
   * (invitation-email.ts); safe to run twice.
   */
  deliver(
    payload: JobPayload<'invitation.send'>,
    job: Pick<QueueJob, 'attemptsMade' | 'maxAttempts'>,
    outlet: Omit<InvitationDeliveryDeps, 'services'>,
  ): Promise<'sent' | 'skipped'> {
    return deliverInvitation({ ...outlet, services: { invitations: this } }, payload, job);
  }
}

/**
 * Queues the email or the DM for the invitation's current nonce; the job carries no token. The
 * channel is chosen by the invitation itself: an email address gets the link, a Slack mention a
 * DM with buttons.
 */
async function enqueueSend(tx: EntityManager, invitation: IInvitation): Promise<void> {
  await enqueueJob(
    tx,
    invitation.email ? 'invitation.send' : 'invitation.slack_dm',
    { invitationId: invitation.id, nonce: invitation.tokenNonce },
    { dedupKey: `invitation-${invitation.id}-${invitation.tokenNonce}` },
  );
}

function requireInvitedRole(value: string | null | undefined): InvitableRole {
  const wanted = (value ?? 'user').trim().toLowerCase();
  const role = INVITABLE_ROLES.find((r) => r === wanted);
  if (!role) {
    throw new ValidationError('role', 'role must be admin or user (ownership changes hands with /team role)');
  }
  return role;
}
