/**
 * The bot scopes teamops asks for when a workspace installs it: the same list as
 * `oauth_config.scopes.bot` in manifest.yml (test/slack/manifest.test.ts keeps them equal),
 * where each is explained.
 */
export const BOT_SCOPES = [
  'commands',
  'chat:write',
  'chat:write.public',
  'users:read',
  'users:read.email',
  'im:write',
  'files:write',
] as const;
