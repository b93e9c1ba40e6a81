import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Team } from '../teams/team.entity.ts';

/**
 * The team's latest statistics chart uploaded to Slack (a team-wide one: a digest's, or a
 * manager's `/team stats`), which the App Home shows by its Slack file id.
 */
export const TeamChart = defineEntity({
  name: 'TeamChart',
  tableName: 'team_charts',
  properties: {
    team: () => p.oneToOne(Team).primary().owner(),
    slackFileId: p.string().length(40),
    title: p.string().length(200),
    fromDay: p.date(),
    toDay: p.date(),
    uploadedAt: p.datetime(),
  },
});
export type ITeamChart = InferEntity<typeof TeamChart>;
