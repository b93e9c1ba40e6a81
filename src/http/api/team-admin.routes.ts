import type { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app.ts';
import type { RoleChangeView } from '../../approvals/approval.service.ts';
import { INVITATION_STATUSES } from '../../invitations/invitation.entity.ts';
import type { InvitationView } from '../../invitations/invitation.service.ts';
import { ROLES } from '../../members/member.entity.ts';
import { type AnyEndpoint, endpoint, registerEndpoints } from './endpoint.ts';
import { keysetPage } from './pagination.ts';
import { parseMemberRef } from './request.ts';
import {
  AuditEvent,
  cursorQuery,
  Invitation,
  limitQuery,
  numericId,
  pageOf,
  RoleRequest,
  text,
} from './schemas.ts';

/** Invitations, role-change requests and the audit trail, for the owner and admins. */
function decision(kind: 'approve' | 'deny', operationId: string, summary: string) {
  return endpoint({
    method: 'post',
    path: `/role-requests/{id}/${kind}`,
    operationId,
    summary,
    tag: 'roles',
    params: z.object({ id: numericId('A role-change request id', 'a request id') }),
    responses: {
      '200': {
        description: 'The request; `changed` is false when it had already been decided',
        schema: RoleRequest.extend({ changed: z.boolean() }),
      },
    },
    errors: ['403', '404', '409', '422'],
    async handle({ params, actor, services, res }) {
      const { request, changed } = await services.approvals[kind](actor, Number(params.id));
      res.json({ ...roleRequestJson(request), changed });
    },
  });
}

const INVITATION_FILTERS = [...INVITATION_STATUSES, 'all'] as const;

export const endpoints: AnyEndpoint[] = [
  endpoint({
    method: 'get',
    path: '/invitations',
    operationId: 'listInvitations',
    summary: 'Invitations, newest first',
    tag: 'invitations',
    query: z.object({
      status: z
        .enum(INVITATION_FILTERS, { error: `status must be one of ${INVITATION_FILTERS.join(', ')}` })
        .optional()
        .meta({ description: 'Which invitations (default pending)' }),
      cursor: cursorQuery,
      limit: limitQuery(200, 200),
    }),
    responses: { '200': { description: 'One page of invitations', schema: pageOf(Invitation) } },
    errors: ['403', '422'],
    async handle({ query, actor, services, res }) {
      const list = (before: string | null, limit: number) =>
        services.invitations.list(actor, {
          status: query.status ?? 'pending',
          before: before === null ? null : Number(before),
          limit,
        });
      const page = await keysetPage(list, query.cursor ?? null, query.limit ?? 200, (i) => i.id);
      res.json({ items: page.items.map(invitationJson), next_cursor: page.nextCursor });
    },
  }),
  endpoint({
    method: 'post',
    path: '/invitations',
    operationId: 'inviteMember',
    summary: 'Invite an email to join as a member',
    tag: 'invitations',
    body: z.object({
      email: z.string({ error: 'email must be text' }).nullish(),
      role: z
        .string({ error: 'role must be text' })
        .nullish()
        .meta({ enum: ['admin', 'user'] }),
    }),
    responses: { '201': { description: 'The invitation', schema: Invitation } },
    errors: ['403', '409', '422'],
    async handle({ body, actor, services, res }) {
      const invitation = await services.invitations.invite(actor, {
        email: body.email ?? null,
        role: body.role ?? null,
      });
      res.status(201).json(invitationJson(invitation));
    },
  }),
  endpoint({
    method: 'delete',
    path: '/invitations/{id}',
    operationId: 'revokeInvitation',
    summary: 'Revoke a pending invitation',
    tag: 'invitations',
    params: z.object({ id: text('id', 'An invitation id, or the invited email') }),
    responses: { '200': { description: 'The revoked invitation', schema: Invitation } },
    errors: ['403', '404', '409', '422'],
    async handle({ params, actor, services, res }) {
      const invitation = await services.invitations.revoke(actor, invitationRef(params.id));
      res.json(invitationJson(invitation));
    },
  }),
  endpoint({
    method: 'post',
    path: '/invitations/{id}/resend',
    operationId: 'resendInvitation',
    summary: 'Send a pending invitation again, with a new link (the old one stops working)',
    tag: 'invitations',
    params: z.object({ id: text('id', 'An invitation id, or the invited email') }),
    responses: {
      '200': { description: 'The invitation, queued again with a fresh expiry', schema: Invitation },
    },
    errors: ['403', '404', '409', '422'],
    async handle({ params, actor, services, res }) {
      const invitation = await services.invitations.resend(actor, invitationRef(params.id));
      res.json(invitationJson(invitation));
    },
  }),
  endpoint({
    method: 'post',
    path: '/role-requests',
    operationId: 'requestRoleChange',
    summary: 'Ask for a member’s role to change (approved by an owner or admin)',
    tag: 'roles',
    body: z.object({
      member: z
        .union([z.string(), z.number().int()], { error: 'member is required: a member id or email' })
        .meta({ description: 'A member id or email' }),
      role: z
        .string({ error: 'role must be text' })
        .optional()
        .meta({ enum: [...ROLES] }),
    }),
    responses: { '201': { description: 'The pending request', schema: RoleRequest } },
    errors: ['403', '404', '409', '422'],
    async handle({ body, actor, services, res }) {
      const request = await services.approvals.request(actor, {
        member: parseMemberRef(String(body.member)),
        role: body.role ?? '',
      });
      res.status(201).json(roleRequestJson(request));
    },
  }),
  decision('approve', 'approveRoleChange', 'Approve a role change; a second decision changes nothing'),
  decision('deny', 'denyRoleChange', 'Deny a role change; a second decision changes nothing'),
  endpoint({
    method: 'get',
    path: '/audit',
    operationId: 'listAudit',
    summary: 'The audit trail, newest first',
    tag: 'team',
    query: z.object({ cursor: cursorQuery, limit: limitQuery(500, 100) }),
    responses: { '200': { description: 'One page of audit events', schema: pageOf(AuditEvent) } },
    errors: ['403', '422'],
    async handle({ query, actor, services, res }) {
      const list = (before: string | null, limit: number) => services.audit.list(actor, { before, limit });
      const page = await keysetPage(list, query.cursor ?? null, query.limit ?? 100, (e) => e.id);
      res.json({
        items: page.items.map((e) => ({
          id: e.id,
          action: e.action,
          actor: { kind: e.actorKind, member_id: e.actorMemberId },
          via: e.via,
          subject_member_id: e.subjectMemberId,
          details: e.details,
          created_at: e.createdAt.toISOString(),
        })),
        next_cursor: page.nextCursor,
      });
    },
  }),
];

export function register(router: Router, deps: AppDeps): void {
  registerEndpoints(router, deps, endpoints);
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

/** An invitation named in a path: its id, or the invited email. */
function invitationRef(id: string): { id: number } | { email: string } {
  return /^\d+$/.test(id) ? { id: Number(id) } : { email: id };
}
