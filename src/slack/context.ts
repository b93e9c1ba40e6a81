import type { WebClient } from '@slack/web-api';
import type { AppDeps } from '../app.ts';
import type { MemberView, TeamView } from '../members/views.ts';
import type { Limiter } from '../platform/limiter.ts';
import { type Actor, memberActor } from '../shared/actor.ts';
import { UnauthenticatedError } from '../shared/errors.ts';

/** What the Slack transport needs from the composition root. */
export type SlackDeps = Pick<AppDeps, 'config' | 'logger' | 'services'>;

/** Put on every Bolt context by a global middleware, so listeners are plain functions of their arguments. */
export interface TeamopsContext {
  teamops: SlackDeps;
  /** Runs a command's work after its ack (see platform/limiter.ts). */
  afterAck: Limiter;
}

/** The member behind a Slack user, as the services know them. */
export interface SlackCaller {
  member: MemberView;
  actor: Actor;
  slackTeamId: string;
  slackUserId: string;
}

export interface SlackProfile {
  name: string | undefined;
  email: string | undefined;
}

/** The person's name and email from their Slack profile; empty when Slack will not say (scope, deleted user). */
export async function slackProfile(
  client: WebClient,
  slackUserId: string,
  deps: SlackDeps,
): Promise<SlackProfile> {
  try {
    const { user } = await client.users.info({ user: slackUserId });
    const name = user?.profile?.real_name || user?.real_name || user?.profile?.display_name || user?.name;
    return { name: name || undefined, email: user?.profile?.email || undefined };
  } catch (error) {
    deps.logger.warn({ err: error, slackUserId }, 'users.info failed; continuing without the Slack profile');
    return { name: undefined, email: undefined };
  }
}

/**
 * Who is calling. A linked Slack user is found directly; otherwise their profile email may match
 * a member's, which links them (the service decides). Anyone else gets the service's refusal.
 */
export async function identifyCaller(
  deps: SlackDeps,
  client: WebClient,
  slackTeamId: string,
  slackUserId: string,
): Promise<SlackCaller> {
  const { members } = deps.services;
  let member: MemberView;
  try {
    member = await members.identifySlackUser({ slackTeamId, slackUserId });
  } catch (error) {
    if (!(error instanceof UnauthenticatedError)) throw error;
    const { email } = await slackProfile(client, slackUserId, deps);
    if (!email) throw error;
    member = await members.identifySlackUser({ slackTeamId, slackUserId, email });
  }
  return { member, actor: memberActor(member.id, 'slack'), slackTeamId, slackUserId };
}

/** The caller's team as the pages show it (the services' `callerTeam` is the team id a call is about). */
export async function callerTeamView(deps: SlackDeps, caller: SlackCaller): Promise<TeamView> {
  return deps.services.teams.get(caller.actor);
}
