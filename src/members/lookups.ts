import type { EntityManager } from '@mikro-orm/postgresql';
import { queryAll, queryOne } from '../platform/sql.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import { requireValidText } from '../shared/text.ts';
import { type IMember, Member } from './member.entity.ts';
import { type MemberRow, type MemberView, memberViewFromRow } from './views.ts';

/** Finding a member of a team by id, email, Slack user or key id. Who may look is decided in access.ts. */

export type MemberRef = { id: number } | { email: string } | { slackUserId: string } | { keyId: string };

export function describeRef(ref: MemberRef): string {
  if ('id' in ref) return `#${ref.id}`;
  if ('email' in ref) return ref.email;
  if ('keyId' in ref) return ref.keyId;
  return `<@${ref.slackUserId}>`;
}

/**
 * Finds a member of the team by id, email or Slack user. Closed members are found by id only:
 * their email and Slack user may belong to someone new by now.
 */
export async function findMember(em: EntityManager, teamId: number, ref: MemberRef): Promise<IMember> {
  requireValidRef(ref);
  let member: IMember | null;
  if ('id' in ref) {
    member = await em.findOne(Member, { id: ref.id, team: teamId }, { populate: ['team'] });
  } else if ('email' in ref) {
    member = await em.findOne(
      Member,
      { team: teamId, email: { $ilike: ref.email.replace(/[\\%_]/g, '\\$&') }, status: { $ne: 'closed' } },
      { populate: ['team'] },
    );
  } else if ('keyId' in ref) {
    member = await em.findOne(
      Member,
      { team: teamId, keyId: ref.keyId.toLowerCase() },
      { populate: ['team'] },
    );
  } else {
    member = await em.findOne(
      Member,
      { team: teamId, slackUserId: ref.slackUserId, status: { $ne: 'closed' } },
      { populate: ['team'] },
    );
  }
  if (!member) throw new NotFoundError(`There is no member ${describeRef(ref)} in this team`);
  return member;
}

/**
 * A member of the team as a view, by id, email or Slack user, in one plain query: for hot
 * paths (moving money) that only need to name the member, not change it.
 */
export async function findMemberView(em: EntityManager, teamId: number, ref: MemberRef): Promise<MemberView> {
  const lookup = memberLookup(ref);
  const row = await queryOne<MemberRow>(
    em,
    `select ${MEMBER_COLUMNS} from members m where m.team_id = ? and ${lookup.where}`,
    [teamId, lookup.value],
  );
  if (!row) throw new NotFoundError(`There is no member ${describeRef(ref)} in this team`);
  return memberViewFromRow(row);
}

/** The columns of a MemberRow, from a `members m`. */
export const MEMBER_COLUMNS = [
  'm.id, m.team_id, m.name, m.email, m.role, m.status, m.balance, m.credit_limit, m.api_key_prefix, m.slack_user_id',
  'm.username, m.key_id, m.shares_master_balance, m.created_at, m.closed_at',
].join(', ');

/** The condition on `m` that finds a member by reference; closed members are found by id only. */
export function memberLookup(ref: MemberRef): { where: string; value: string | number } {
  requireValidRef(ref);
  if ('id' in ref) return { where: 'm.id = ?', value: ref.id };
  if ('email' in ref)
    return { where: "lower(m.email) = lower(?) and m.status <> 'closed'", value: ref.email };
  if ('keyId' in ref) return { where: 'm.key_id = lower(?)', value: ref.keyId };
  return { where: "m.slack_user_id = ? and m.status <> 'closed'", value: ref.slackUserId };
}

/** A reference that PostgreSQL can compare: an id in the range of its integer, or valid text. */
function requireValidRef(ref: MemberRef): void {
  if ('id' in ref) {
    if (!Number.isSafeInteger(ref.id) || ref.id < 1 || ref.id > 2_147_483_647)
      throw new ValidationError('member', 'member must be a member id (a positive whole number) or an email');
  } else if ('email' in ref) requireValidText(ref.email, 'member');
  else if ('keyId' in ref) requireValidText(ref.keyId, 'member');
  else requireValidText(ref.slackUserId, 'member');
}

/** The active owner and admins of a team, the owner first: who decides approvals and is asked to. */
export async function teamDeciders(em: EntityManager, teamId: number): Promise<MemberView[]> {
  const rows = await queryAll<MemberRow>(
    em,
    `select ${MEMBER_COLUMNS} from members m
      where m.team_id = ? and m.status = 'active' and m.role in ('owner', 'admin')
      order by m.role = 'owner' desc, m.id`,
    [teamId],
  );
  return rows.map(memberViewFromRow);
}
