import type { Router } from 'express';
import type { AppDeps } from '../../app.ts';
import type { RoleChangeView } from '../../approvals/approval.service.ts';
import type { InvitationView } from '../../invitations/invitation.service.ts';
import { ValidationError } from '../../shared/errors.ts';
import { actorOf, bodyOf, optional, parseMemberRef, text } from './request.ts';

/** Invitations, role-change requests and the audit trail, for the owner and admins. */
export function register(router: Router, { services }: AppDeps): void {
  router.get('/invitations', async (req, res) => {
    const status = optional(req.query.status, 'status') ?? 'pending';
    const invitations = await services.invitations.list(actorOf(req), {
      status: status as 'pending' | 'accepted' | 'revoked' | 'expired' | 'all',
    });
    res.json({ items: invitations.map(invitationJson) });
  });

  router.post('/invitations', async (req, res) => {
    const body = bodyOf(req);
    const invitation = await services.invitations.invite(actorOf(req), {
      email: typeof body.email === 'string' ? body.email : null,
      role: typeof body.role === 'string' ? body.role : null,
    });
    res.status(201).json(invitationJson(invitation));
  });

  router.delete('/invitations/:id', async (req, res) => {
    const id = text(req.params.id, 'id');
    const invitation = await services.invitations.revoke(
      actorOf(req),
      /^\d+$/.test(id) ? { id: Number(id) } : { email: id },
    );
    res.json(invitationJson(invitation));
  });

  router.post('/invitations/:id/resend', async (req, res) => {
    const id = text(req.params.id, 'id');
    const invitation = await services.invitations.resend(
      actorOf(req),
      /^\d+$/.test(id) ? { id: Number(id) } : { email: id },
    );
    res.json(invitationJson(invitation));
  });

  router.post('/role-requests', async (req, res) => {
    const body = bodyOf(req);
    if (typeof body.member !== 'string' && typeof body.member !== 'number') {
      throw new ValidationError('member', 'member is required: a member id or email');
    }
    const request = await services.approvals.request(actorOf(req), {
      member: parseMemberRef(String(body.member)),
      role: typeof body.role === 'string' ? body.role : '',
    });
    res.status(201).json(roleRequestJson(request));
  });

  for (const decision of ['approve', 'deny'] as const) {
    router.post(`/role-requests/:id/${decision}`, async (req, res) => {
      const id = Number(text(req.params.id, 'id'));
      if (!Number.isSafeInteger(id) || id <= 0) throw new ValidationError('id', 'id must be a request id');
      const { request, changed } = await services.approvals[decision](actorOf(req), id);
      res.json({ ...roleRequestJson(request), changed });
    });
  }

  router.get('/audit', async (req, res) => {
    const events = await services.audit.list(actorOf(req), {
      limit: Number(optional(req.query.limit, 'limit') ?? 100) || 100,
    });
    res.json({
      items: events.map((e) => ({
        id: e.id,
        action: e.action,
        actor: { kind: e.actorKind, member_id: e.actorMemberId },
        via: e.via,
        subject_member_id: e.subjectMemberId,
        details: e.details,
        created_at: e.createdAt.toISOString(),
      })),
    });
  });
}

function invitationJson(i: InvitationView) {
  return {
    id: i.id,
    email: i.email,
    role: i.role,
    status: i.status,
    delivery_status: i.deliveryStatus,
    delivery_error: i.deliveryError,
    delivery_attempts: i.deliveryAttempts,
    delivery_max_attempts: i.deliveryMaxAttempts,
    invited_by: i.invitedByName,
    member_id: i.memberId,
    expires_at: i.expiresAt.toISOString(),
    created_at: i.createdAt.toISOString(),
  };
}

function roleRequestJson(r: RoleChangeView) {
  return {
    id: r.id,
    member: { id: r.memberId, name: r.memberName },
    from_role: r.fromRole,
    to_role: r.toRole,
    status: r.status,
    requested_by: { id: r.requestedById, name: r.requestedByName },
    decided_by: r.decidedById === null ? null : { id: r.decidedById, name: r.decidedByName },
    decided_at: r.decidedAt?.toISOString() ?? null,
    created_at: r.createdAt.toISOString(),
  };
}
