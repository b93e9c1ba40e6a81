import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.ts';
import { lockTeamAndMembers } from '../ledger/lock-order.ts';
import { recountMonthSpend } from '../ledger/spending-limits.ts';
import { callerTeam, loadCaller, loadCallerAndTeam, requireManager } from '../members/access.ts';
import { issueApiKey } from '../members/api-keys.ts';
import { Member } from '../members/member.entity.ts';
import { freeUsername } from '../members/usernames.ts';
import { type MemberView, type TeamView, toMemberView, toTeamView } from '../members/views.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { queryAll } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import type { Actor, Channel } from '../shared/actor.ts';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { parseAmount } from '../shared/money.ts';
import { optionalEmail, requireCurrency, requireName, requireTimezone } from '../shared/validation.ts';
import { Team } from './team.entity.ts';

export const DEFAULT_CURRENCY = 'EUR';

export interface SetupInput {
  slackTeamId?: string | null;
  name: string;
  currency?: string | null;
  owner: { name: string; email?: string | null; slackUserId?: string | null };
  via: Channel;
}

export class TeamService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** Creates a team and its owner; in Slack, the first caller in a workspace without a team. */
  async setup(input: SetupInput): Promise<{ team: TeamView; owner: MemberView; apiKey: string }> {
    const name = requireName(input.name, 'team name');
    const currency = input.currency ? requireCurrency(input.currency) : DEFAULT_CURRENCY;
    const ownerName = requireName(input.owner.name, 'owner name');
    const ownerEmail = optionalEmail(input.owner.email, 'owner email');
    const em = this.#orm.em.fork();
    return em.transactional(async (tx) => {
      if (input.slackTeamId) {
        // Two people running setup at once: the second waits here, then sees the first team.
        await tx.execute('select pg_advisory_xact_lock(hashtext(?))', [`setup:${input.slackTeamId}`]);
        const existing = await tx.findOne(Team, { slackTeamId: input.slackTeamId });
        if (existing) {
          throw new ConflictError(
            `This workspace already has a team, "${existing.name}"; ask its owner or an admin to add you`,
          );
        }
      }
      const team = tx.create(Team, { name, currency, slackTeamId: input.slackTeamId ?? null });
      const key = issueApiKey();
      const owner = tx.create(Member, {
        team,
        name: ownerName,
        email: ownerEmail,
        role: 'owner',
        status: 'active',
        username: await freeUsername(tx, ownerName, ownerEmail),
        apiKeyHash: key.hash,
        apiKeyPrefix: key.visiblePrefix,
        slackUserId: input.owner.slackUserId ?? null,
      });
      await tx.flush();
      await recordAudit(tx, {
        teamId: team.id,
        actor:
          input.via === 'cli'
            ? { kind: 'operator', memberId: null, via: 'cli' }
            : { kind: 'member', memberId: owner.id, via: input.via },
        action: 'team.setup',
        subjectMemberId: owner.id,
        details: { name, currency, owner: ownerName },
      });
      return { team: toTeamView(team), owner: toMemberView(owner), apiKey: key.key };
    });
  }

  async getBySlackTeam(slackTeamId: string): Promise<TeamView | null> {
    const team = await this.#orm.em.fork().findOne(Team, { slackTeamId });
    return team ? toTeamView(team) : null;
  }

  /** The caller's team (the operator and workers name one). */
  async get(actor: Actor, teamId?: number): Promise<TeamView> {
    if (actor.kind === 'member') {
      const { caller, team } = await loadCallerAndTeam(this.#orm, actor);
      callerTeam(caller, teamId);
      return team;
    }
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    return toTeamView(await loadTeam(em, callerTeam(caller, teamId)));
  }

  /** Where low-balance alerts go, and the balance below which a member without a rule is alerted. */
  async setAlerts(
    actor: Actor,
    input: { channel: string; level?: string | number | null },
  ): Promise<TeamView> {
    const channel = requireSlackChannel(input.channel);
    const level =
      input.level === undefined || input.level === null || input.level === ''
        ? undefined
        : parseAmount(input.level, 'level', { allowZero: true });
    const em = this.#orm.em.fork();
    return em.transactional(async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'set where alerts go');
      const team = await loadTeam(tx, callerTeam(caller));
      const before = { channel: team.alertsChannel, level: team.lowBalanceLevel };
      team.alertsChannel = channel;
      if (level !== undefined) team.lowBalanceLevel = level;
      await tx.flush();
      await recordAudit(tx, {
        teamId: team.id,
        actor: caller.party,
        action: 'team.alerts',
        details: { before, after: { channel, level: team.lowBalanceLevel } },
      });
      return toTeamView(team);
    });
  }

  /**
   * The team's timezone: its days (statistics), months (spending limits) and the default of its
   * digest. The current month's spend of members with a limit is recounted in the new zone.
   */
  async setTimezone(actor: Actor, input: { timezone: unknown }): Promise<TeamView> {
    const timezone = requireTimezone(input.timezone);
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'set the team timezone');
      const teamId = callerTeam(caller);
      // The team row, then the members with a limit, then their spend rows (docs/ledger.md).
      await lockTeamAndMembers(tx, teamId, []);
      const limited = await queryAll<{ member_id: number }>(
        tx,
        'select member_id from spending_limits where team_id = ? order by member_id',
        [teamId],
      );
      const memberIds = limited.map((row) => row.member_id);
      await lockTeamAndMembers(tx, null, memberIds);
      const team = await loadTeam(tx, teamId);
      const before = team.timezone;
      team.timezone = timezone;
      await tx.flush();
      await recountMonthSpend(tx, memberIds);
      // A digest without a zone of its own follows the team's.
      if (team.digestFrequency && !team.digestTimezone && before !== timezone)
        await enqueueJob(tx, 'digest.schedule', { teamId });
      await recordAudit(tx, {
        teamId,
        actor: caller.party,
        action: 'team.timezone',
        details: { before, after: timezone },
      });
      return toTeamView(team);
    });
  }
}

export async function loadTeam(em: EntityManager, teamId: number) {
  const team = await em.findOne(Team, teamId);
  if (!team) throw new NotFoundError(`Team ${teamId} does not exist`);
  return team;
}

/** The team's time zone, whose calendar days date filters and statements mean. */
export async function teamTimezone(em: EntityManager, teamId: number): Promise<string> {
  return (await loadTeam(em, teamId)).timezone;
}

/** Slack channel ids (C…, G…); transports turn a `<#C123|name>` mention into the id. */
export function requireSlackChannel(value: unknown, field = 'channel'): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!/^[CG][A-Z0-9]{2,30}$/.test(text))
    throw new ValidationError(field, `${field} must be a Slack channel like #alerts`);
  return text;
}
