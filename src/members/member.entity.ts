import { randomBytes } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Team } from '../teams/team.entity.ts';

export const ROLES = ['owner', 'admin', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** The owner and admins manage members and move money; a user uses only its own sub-account. */
export function managesMembers(role: Role): boolean {
  return role === 'owner' || role === 'admin';
}
export const MEMBER_STATUSES = ['active', 'inactive', 'invited', 'closed'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

/** A sub-account: its own API key, balance and message log. */
export const Member = defineEntity({
  name: 'Member',
  tableName: 'members',
  properties: {
    id: p.integer().primary().autoincrement(),
    team: () => p.manyToOne(Team),
    name: p.string().length(100),
    email: p.string().length(254).nullable(),
    role: p.enum(ROLES),
    status: p.enum(MEMBER_STATUSES),
    balance: p.bigint().default(0),
    /** How far below zero the balance may go: credit lent by the primary account (Vonage credit transfers); 0 by default. */
    creditLimit: p.bigint().default(0),
    /** SHA-256 of the API key; the key itself is shown once and never stored. */
    apiKeyHash: p.string().length(64).nullable().unique(),
    /** The first characters of the key, for recognising it in lists ("tok_ab12…"). */
    apiKeyPrefix: p.string().length(16).nullable(),
    slackUserId: p.string().length(32).nullable(),
    /** The account's login name for Textmagic clients: unique, derived from the name or email (see usernames.ts). */
    username: p.string().length(60),
    /**
     * The account's public id for Vonage clients (their `api_key`): 8 lowercase hex characters,
     * unique, not a secret — the API key is the secret.
     */
    keyId: p
      .string()
      .length(8)
      .unique()
      .onCreate(() => randomBytes(4).toString('hex')),
    /** Sends are paid from the master balance (Vonage's use_primary_account_balance) instead of its own. */
    sharesMasterBalance: p.boolean().default(false),
    /**
     * Whether a monthly spending limit exists for it, kept by a trigger on spending_limits: on the
     * member row, a charge's guarded UPDATE re-checks it on the newest version after waiting for
     * the row, which a look at spending_limits in the same statement would not (it keeps the
     * statement's snapshot).
     */
    spendingLimited: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    closedAt: p.datetime().nullable(),
  },
  checks: [
    { name: 'members_balance_within_credit_limit', expression: 'balance >= -credit_limit' },
    { name: 'members_credit_limit_not_negative', expression: 'credit_limit >= 0' },
  ],
  indexes: [
    {
      name: 'members_one_owner_per_team',
      expression:
        "create unique index members_one_owner_per_team on members (team_id) where role = 'owner' and status <> 'closed'",
    },
    {
      name: 'members_email_per_team',
      expression:
        "create unique index members_email_per_team on members (team_id, lower(email)) where status <> 'closed'",
    },
    {
      name: 'members_username',
      expression: 'create unique index members_username on members (lower(username))',
    },
    {
      name: 'members_slack_user_per_team',
      expression:
        "create unique index members_slack_user_per_team on members (team_id, slack_user_id) where status <> 'closed'",
    },
  ],
  // Count every change of what the API's edge reads with a key (key-holder-changes.entity.ts), in
  // the changing transaction, so every process sees it exactly when it commits. Balance updates
  // change none of these columns, so a charge bumps nothing.
  triggers: [
    {
      name: 'members_key_holder_changed',
      timing: 'after',
      events: ['update'],
      expression: `create function teamops_key_holder_changed() returns trigger language plpgsql as $$
          begin
            insert into key_holder_changes (id, version) values (1, 1)
              on conflict (id) do update set version = key_holder_changes.version + 1;
            return null;
          end
        $$;
        create trigger members_key_holder_changed
          after update of api_key_hash, team_id, role, status, username, email, key_id on members
          for each row
          when (old.api_key_hash is distinct from new.api_key_hash or old.team_id is distinct from new.team_id
                or old.role is distinct from new.role or old.status is distinct from new.status
                or old.username is distinct from new.username or old.email is distinct from new.email
                or old.key_id is distinct from new.key_id)
          execute function teamops_key_holder_changed()`,
    },
    {
      name: 'members_key_holder_deleted',
      timing: 'after',
      events: ['delete'],
      expression:
        'create trigger members_key_holder_deleted after delete on members for each row execute function teamops_key_holder_changed()',
    },
  ],
});
export type IMember = InferEntity<typeof Member>;
