import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../platform/database.ts';
import { type PreparedStatement, runPrepared } from '../platform/prepared.ts';
import { queryOne } from '../platform/sql.ts';
import type { ActingParty, Actor } from '../shared/actor.ts';
import { ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../shared/errors.ts';
import { describeRef, findMemberView, MEMBER_COLUMNS, type MemberRef, memberLookup } from './lookups.ts';
import { type IMember, type MemberStatus, managesMembers, type Role } from './member.entity.ts';
import {
  type MemberRow,
  type MemberView,
  memberViewFromRow,
  TEAM_COLUMNS,
  type TeamRow,
  type TeamView,
  teamViewFromRow,
} from './views.ts';

/**
 * Authentication and authorization of a service call: who the caller is, and what it may do.
 * Finding the members a call is about is lookups.ts.
 */

/** The facts about a calling member that authorization needs. */
export interface CallerMember {
  id: number;
  teamId: number;
  name: string;
  role: Role;
  status: MemberStatus;
}

/**
 * The caller of a service, resolved once per call: an active member of one team, the operator
 * (CLI, any team) or the system (workers, any team).
 */
export type Caller =
  | { kind: 'member'; member: CallerMember; teamId: number; party: ActingParty }
  | { kind: 'operator' | 'system'; member: null; teamId: null; party: ActingParty };

function inactiveCallerMessage(status: MemberStatus, teamName: string): string {
  if (status === 'invited') {
    return `Your invitation to ${teamName} is waiting: accept it from the invitation email or Slack message first`;
  }
  if (status === 'closed') return `Your sub-account in ${teamName} has been closed`;
  return `Your sub-account is ${status}; ask an admin of ${teamName} to enable it`;
}

interface CallerRow {
  id: number;
  team_id: number;
  name: string;
  role: Role;
  status: MemberStatus;
  team_name: string;
}

const CALLER_COLUMNS = 'c.id, c.team_id, c.name, c.role, c.status, t.name as team_name';

/** One indexed lookup: every service call starts here, so it stays a single round trip. */
export async function loadCaller(em: EntityManager, actor: Actor): Promise<Caller> {
  if (actor.kind !== 'member') return nonMemberCaller(actor);
  const row = await queryOne<CallerRow>(
    em,
    `select ${CALLER_COLUMNS} from members c join teams t on t.id = c.team_id where c.id = ?`,
    [actor.memberId],
  );
  return memberCaller(row, actor);
}

/**
 * The caller and a member of the caller's team it names, in one round trip: for hot paths
 * (moving money) that only need to name the member, not change it. Refusals come in the same
 * order as with loadCaller then findMemberView, so an unauthorized caller learns nothing.
 */
export async function loadCallerAndMember(
  orm: Orm,
  actor: Actor,
  ref: MemberRef,
): Promise<{ caller: Caller; findMember(): MemberView }> {
  if (actor.kind !== 'member') {
    const caller = nonMemberCaller(actor);
    const member = await findMemberView(orm.em.fork(), callerTeam(caller), ref);
    return { caller, findMember: () => member };
  }
  const lookup = memberLookup(ref);
  // Outside any transaction, on the hot path of moving money: prepared, one per kind of reference.
  const [row] = await runPrepared<CallerRow & Partial<Record<`m_${keyof MemberRow}`, unknown>>>(
    orm,
    callerAndMemberStatement(lookup.where),
    [lookup.value, actor.memberId],
  );
  const caller = memberCaller(row, actor);
  return {
    caller,
    findMember() {
      if (row?.m_id === null || row?.m_id === undefined) {
        throw new NotFoundError(`There is no member ${describeRef(ref)} in this team`);
      }
      return memberViewFromRow(columnsPrefixed<MemberRow>(row, 'm_'));
    },
  };
}

const CALLER_AND_TEAM: PreparedStatement = {
  name: 'members.caller-and-team',
  text: `select ${CALLER_COLUMNS}, ${TEAM_COLUMNS.split(', ')
    .map((column) => `${column} as t_${column.slice(2)}`)
    .join(', ')}
     from members c join teams t on t.id = c.team_id where c.id = $1`,
};

/**
 * A member caller and its team, in one round trip: the team page, the App Home and every Slack
 * reply that shows the team read it this way. The caller is checked as loadCaller checks it.
 */
export async function loadCallerAndTeam(
  orm: Orm,
  actor: Extract<Actor, { kind: 'member' }>,
): Promise<{ caller: Caller; team: TeamView }> {
  const [row] = await runPrepared<CallerRow & Record<`t_${keyof TeamRow}`, unknown>>(orm, CALLER_AND_TEAM, [
    actor.memberId,
  ]);
  const caller = memberCaller(row, actor);
  return { caller, team: teamViewFromRow(columnsPrefixed<TeamRow>(row!, 't_')) };
}

/** The columns of a second row read beside the caller's, selected as `<prefix><column>`. */
function columnsPrefixed<R>(row: object, prefix: string): R {
  return Object.fromEntries(
    Object.entries(row).flatMap(([key, value]) =>
      key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [],
    ),
  ) as R;
}

const callerAndMemberStatements = new Map<string, PreparedStatement>();

function callerAndMemberStatement(memberWhere: string): PreparedStatement {
  let statement = callerAndMemberStatements.get(memberWhere);
  if (!statement) {
    statement = {
      name: `members.caller-and-member.${callerAndMemberStatements.size}`,
      text: `select ${CALLER_COLUMNS}, ${MEMBER_COLUMNS.split(', ')
        .map((column) => `${column} as m_${column.slice(2)}`)
        .join(', ')}
         from members c join teams t on t.id = c.team_id
         left join members m on m.team_id = c.team_id and ${memberWhere.replace('?', '$1')}
        where c.id = $2`,
    };
    callerAndMemberStatements.set(memberWhere, statement);
  }
  return statement;
}

function nonMemberCaller(actor: Exclude<Actor, { kind: 'member' }>): Caller {
  return {
    kind: actor.kind,
    member: null,
    teamId: null,
    party: { kind: actor.kind, memberId: null, via: actor.via },
  };
}

function memberCaller(row: CallerRow | undefined, actor: Extract<Actor, { kind: 'member' }>): Caller {
  if (!row) throw new UnauthenticatedError('You are not a member of any team');
  if (row.status !== 'active') throw new ForbiddenError(inactiveCallerMessage(row.status, row.team_name));
  return {
    kind: 'member',
    member: { id: row.id, teamId: row.team_id, name: row.name, role: row.role, status: row.status },
    teamId: row.team_id,
    party: { kind: 'member', memberId: row.id, via: actor.via },
  };
}

export function isManager(caller: Caller): boolean {
  return caller.kind !== 'member' || managesMembers(caller.member.role);
}

/** Owner and admins manage members and move money; operator and system act for any team. */
export function requireManager(caller: Caller, what: string): void {
  if (!isManager(caller)) throw new ForbiddenError(`Only the owner and admins can ${what}`);
}

/** The team a call is about: the caller's own, or for the operator the one it names. */
export function callerTeam(caller: Caller, teamId?: number): number {
  if (caller.kind === 'member') {
    if (teamId !== undefined && teamId !== caller.teamId) throw new ForbiddenError('That team is not yours');
    return caller.teamId;
  }
  if (teamId === undefined) throw new ValidationError('team', 'team is required');
  return teamId;
}

/** A user sees and uses only its own sub-account; managers see every member of their team. */
export function requireSelfOrManager(caller: Caller, member: IMember, what: string): void {
  if (caller.kind === 'member' && caller.member.id === member.id) return;
  requireManager(caller, what);
}
